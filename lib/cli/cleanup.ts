/**
 * `deno task cleanup <environment>`: what the runbook's 24-hour clean-up CronJob did, on
 * demand (or from a scheduler): every slot a deploy left behind whose rollback window has
 * passed (the `delete-after` annotation) and that no Service selects is scaled to zero, under
 * the deploy lock so that it never races a deploy. A slot still inside its window, or live, is
 * kept and said so. It is a pipeline of its own (this file's default export), so it has a run
 * folder, a journal and a report like every deploy.
 * @module
 */
import { fileURLToPath } from "node:url";
import { pipeline, stage, type StageContext } from "../dsl/mod.ts";
import type { KubeObject, KubernetesCapability, LeaseHandle } from "../kubernetes/capability.ts";
import { cleanupExpiredSlots, DELETE_AFTER_ANNOTATION } from "../kubernetes/strategies/cleanup.ts";
import { kubeTarget } from "../targets/kube_target.ts";
import { TOOL_NAME } from "../product/mod.ts";
import type { CliIo, Command } from "./command.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" } as const;

/**
 * The Lease the clean-up holds while it runs: the deploy lock's name (`--option lock=<name>`
 * for a pipeline that locks under another).
 *
 * @example
 * ```ts
 * import { CLEANUP_LOCK } from "./cleanup.ts";
 * console.assert(CLEANUP_LOCK.length > 0);
 * ```
 */
export const CLEANUP_LOCK: string = TOOL_NAME;

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

/** What the clean-up stage found and did. */
export interface CleanupResult {
  /** Deployments scaled to zero (their window had passed, no Service selects them). */
  readonly scaledDown: string[];
  /** Deployments kept, each with its `delete-after` time. */
  readonly kept: { deployment: string; deleteAfter: string }[];
}

async function scheduled(k: KubernetesCapability, namespace: string, app: string) {
  const deployments: KubeObject[] = await k.list(DEPLOYMENT, namespace, {
    labelSelector: `app=${app}`,
  });
  return deployments.flatMap((d) => {
    const after = d.metadata.annotations?.[DELETE_AFTER_ANNOTATION];
    return after ? [{ deployment: d.metadata.name, deleteAfter: after }] : [];
  });
}

/**
 * The clean-up pipeline: lock → scale down the expired idle slots → unlock (always).
 *
 * @example
 * ```ts
 * import cleanup from "./cleanup.ts";
 * console.assert(cleanup.name === "cleanup" && cleanup.options.requiresVersion === false);
 * ```
 */
const cleanupPipeline = pipeline("cleanup", ({ env, options }) => {
  const target = kubeTarget(env);
  const { namespace } = target;
  const lockName = options.lock ?? CLEANUP_LOCK;
  const lock = stage("lock").uses("kubernetes")
    .describe(`take the ${lockName} Lease (a running deploy keeps the clean-up out)`)
    .run(async (ctx): Promise<LeaseHandle | null> => {
      if (ctx.dryRun) return null;
      try {
        return await kube(ctx).acquireLease(namespace, lockName, {
          holder: `${ctx.user}/${ctx.runId}`,
          durationSeconds: 10 * 60,
        });
      } catch (error) {
        throw new Error(
          `${
            (error as Error).message
          }: a deploy is running in ${namespace}; run the clean-up after it`,
        );
      }
    });
  const cleanup = stage("cleanup").needs(lock).uses("kubernetes")
    .describe("scale to zero every idle slot whose rollback window has passed")
    .run(async (ctx): Promise<CleanupResult> => {
      const k = kube(ctx);
      const now = new Date(ctx.now());
      const before = await scheduled(k, namespace, target.app);
      const expired = before.filter((s) => new Date(s.deleteAfter) <= now);
      if (ctx.dryRun) {
        for (const s of expired) ctx.notice(`would scale ${s.deployment} down if it is idle`);
        return { scaledDown: [], kept: before };
      }
      const scaledDown = await cleanupExpiredSlots(k, { target, now });
      const kept = before.filter((s) => !scaledDown.includes(s.deployment));
      for (const d of scaledDown) ctx.notice(`${d}: rollback window over, scaled to 0 replicas`);
      for (const s of kept) {
        ctx.notice(
          new Date(s.deleteAfter) <= now
            ? `${s.deployment}: kept, it is live again (a Service selects it)`
            : `${s.deployment}: kept for rollback until ${s.deleteAfter}`,
        );
      }
      if (before.length === 0) ctx.notice(`no slot of ${namespace} is scheduled for clean-up`);
      return { scaledDown, kept };
    });
  const unlock = stage("unlock").finally().needs(lock, cleanup).uses("kubernetes")
    .run(async (ctx) => {
      const lease = ctx.output(lock);
      if (lease) await kube(ctx).releaseLease(lease);
    });
  return [lock, cleanup, unlock];
}, { requiresVersion: false });

export default cleanupPipeline;

/**
 * The usage of `deno task cleanup`.
 *
 * @example
 * ```ts
 * import { CLEANUP_USAGE } from "./cleanup.ts";
 * console.assert(CLEANUP_USAGE.startsWith("usage: deno task cleanup <environment>"));
 * ```
 */
export const CLEANUP_USAGE: string = `usage: deno task cleanup <environment> [flags of run]

Scales to zero the slots a deploy left idle once their rollback window (the environment's
deployment.rollback_window, 24h in production) has passed, under the deploy lock. Slots still
in their window, or live again, are kept. Takes the flags of "deno task run" (--sandbox,
--dry-run, --runs-dir, --json, ...) and writes a report like every run.`;

/**
 * The `cleanup` command: runs this file's pipeline through `run`.
 *
 * @example
 * ```ts
 * import { CLEANUP_COMMAND } from "./cleanup.ts";
 * console.assert(CLEANUP_COMMAND.name === "cleanup");
 * ```
 */
export const CLEANUP_COMMAND: Command = {
  name: "cleanup",
  summary: "scales down the idle slots whose rollback window has passed",
  usage: CLEANUP_USAGE,
  stopsOnSignal: true,
  async run(args: string[], io: CliIo): Promise<number> {
    // Imported here: a stage's Worker loads this file for its pipeline, not the runner.
    const { PIPELINE_COMMANDS } = await import("./pipeline.ts");
    const run = PIPELINE_COMMANDS.find((c) => c.name === "run")!;
    return await run.run([fileURLToPath(import.meta.url), ...args], io);
  },
};
