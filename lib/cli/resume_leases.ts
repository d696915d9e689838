/**
 * A resumed run's locks: every lease a finished stage handed on (its output is a lease
 * handle: the deploy lock) is taken again before anything runs, as the same holder, taking
 * over the dead runner's hold (it held it for the same run id); the main thread's heartbeat
 * keeps it from then on. When another holder has it by now, the resume stops before any
 * change.
 * @module
 */
import type { LeaseHandle } from "../kubernetes/capability.ts";
import type { JournalledStage } from "../runner/engine_types.ts";
import type { CapabilityMethods } from "../capabilities/open.ts";

/** The lease duration a re-taken lock is held for (the deploy lock's default). */
const LOCK_SECONDS = 30;

function isLease(value: unknown): value is LeaseHandle {
  const v = value as Partial<LeaseHandle> | null;
  return typeof v?.namespace === "string" && typeof v.name === "string" &&
    typeof v.holder === "string" && typeof v.expiresAt === "string";
}

/**
 * Takes again the leases the journal's finished stages hold.
 *
 * @param capabilities The run's capabilities (`kubernetes` takes the leases).
 * @param stages How the stages ended, from the journal.
 * @param view Where to say what was taken.
 * @throws {Error} When a lease is held by someone else now (nothing has run).
 *
 * @example
 * ```ts ignore
 * await retakeLeases(connection.capabilities, stages, view);
 * ```
 */
export async function retakeLeases(
  capabilities: Readonly<Record<string, CapabilityMethods>>,
  stages: ReadonlyMap<string, JournalledStage>,
  view: { line(text: string): void },
): Promise<void> {
  for (const [id, s] of stages) {
    if (s.status !== "succeeded" || !isLease(s.output)) continue;
    const lease = s.output;
    const runId = lease.holder.slice(lease.holder.lastIndexOf("/") + 1);
    const acquire = capabilities.kubernetes?.acquireLease as unknown as (
      namespace: string,
      name: string,
      o: { holder: string; durationSeconds: number; takeOverRun: string },
    ) => Promise<LeaseHandle>;
    if (!acquire) {
      throw new Error(`Cannot resume: stage "${id}" holds a lease, and there is no cluster`);
    }
    await acquire(lease.namespace, lease.name, {
      holder: lease.holder,
      durationSeconds: LOCK_SECONDS,
      takeOverRun: runId,
    });
    view.line(`resume: took the lock ${lease.namespace}/${lease.name} again (stage ${id})`);
  }
}
