/**
 * The deploy lock: a Lease per namespace, taken first and released last, whatever happened.
 * The lease is short ({@linkcode LOCK_SECONDS}, or `--option lock-seconds=<n>`) and the
 * runner's main thread renews it while the run lives (`lib/kubernetes/heartbeat.ts`): a
 * killed runner's lock is free one lease duration after its last renewal, and a run that
 * cannot renew it stops changing the cluster and takes its failure path.
 * @module
 */
import { type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability, LeaseHandle } from "../../lib/kubernetes/capability.ts";
import type { DeployContext } from "./context.ts";

/** The Lease that makes a deploy exclusive in its namespace. */
export const LOCK_NAME = "tracktion-deploy";

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

/** The deploy lock's lease duration (seconds) unless `--option lock-seconds` says otherwise. */
export const LOCK_SECONDS = 30;

/**
 * The lease duration `--option lock-seconds=<n>` asks for: a whole number of seconds, 3 or
 * more (it is renewed every fifth of it). On a scaled clock the default lasts at least 20
 * real seconds (a busy machine must not lose it); a duration given is used as given.
 *
 * @param options The run's options.
 * @returns The duration in seconds.
 * @throws {RangeError} When the option is not such a number.
 *
 * @example
 * ```ts
 * import { lockSeconds } from "./lock.ts";
 * console.assert(lockSeconds({}) === 30 && lockSeconds({ "lock-seconds": "60" }) === 60);
 * ```
 */
export function lockSeconds(options: Readonly<Record<string, string>>): number {
  const text = options["lock-seconds"];
  if (text === undefined) return LOCK_SECONDS;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 3) {
    throw new RangeError(
      `Cannot use --option lock-seconds=${text}: it is the deploy lock's lease duration, ` +
        `a whole number of seconds >= 3 (default ${LOCK_SECONDS}; renewed every fifth of it)`,
    );
  }
  return n;
}

/**
 * Takes the namespace's deploy lock; a second deploy is refused while it is held. The same
 * run, resumed, takes over its own lock (its runner died holding it).
 */
export function lockStage(c: DeployContext, durationSeconds: number, exact = false) {
  return stage("lock").uses("kubernetes")
    .describe(
      `take the ${LOCK_NAME} Lease (${durationSeconds} s, renewed every ${
        durationSeconds / 5
      } s while this runner lives)`,
    )
    .run(async (ctx): Promise<LeaseHandle | null> => {
      if (ctx.dryRun) return null;
      const lease = await kube(ctx).acquireLease(c.namespace, LOCK_NAME, {
        holder: `${ctx.user}/${ctx.runId}`,
        durationSeconds,
        takeOverRun: ctx.runId,
        exact,
      });
      ctx.log(`holding ${c.namespace}/${LOCK_NAME} (renewed while this runner lives)`);
      return lease;
    });
}

/** Releases the lock at the very end, whatever happened. */
export function unlockStage(lock: Stage<LeaseHandle | null>, after: readonly Stage<unknown>[]) {
  return stage("unlock").finally().needs(lock, ...after).uses("kubernetes")
    .run(async (ctx) => {
      const lease = ctx.output(lock);
      if (lease) await kube(ctx).releaseLease(lease);
    });
}
