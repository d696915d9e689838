/**
 * The deploy lock: a Lease per namespace, taken first and released last, whatever happened.
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

/** Takes the namespace's deploy lock; a second deploy is refused while it is held. */
export function lockStage(c: DeployContext, durationSeconds: number) {
  return stage("lock").uses("kubernetes")
    .describe(
      `take the ${LOCK_NAME} Lease (expires after ${
        Math.round(durationSeconds / 60)
      } min if the runner dies)`,
    )
    .run(async (ctx): Promise<LeaseHandle | null> => {
      if (ctx.dryRun) return null;
      const lease = await kube(ctx).acquireLease(c.namespace, LOCK_NAME, {
        holder: `${ctx.user}/${ctx.runId}`,
        durationSeconds,
      });
      ctx.log(`holding ${c.namespace}/${LOCK_NAME} until ${lease.expiresAt}`);
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
