/**
 * `deno task rollback <environment>`: puts traffic back on the slots that were live
 * before the last deploy, on demand — the same traffic rollback the deploy performs
 * on failure. It does not undo migrations (they are expand/contract).
 * @module
 */
import { pipeline, stage } from "../mod.ts";
import type { KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { liveSlot, recordDeployment, rollbackService } from "../lib/kubernetes/strategies.ts";
import { otherSlot, type Slot } from "../lib/kubernetes/manifests.ts";
import { lockStage, unlockStage } from "./stages/finish.ts";
import { deployContext } from "./stages/context.ts";
import { PRODUCTION_PHRASE } from "./deploy.ts";

export default pipeline("rollback", ({ env, options }) => {
  const c = deployContext(
    env,
    { version: "0.0.0", tag: "v0.0.0", major: 0, minor: 0, patch: 0 },
    options,
  );
  const lock = lockStage(c, 15 * 60);
  const confirm = stage("confirm").needs(lock)
    .when(env.deployment.require_confirmation, `${env.name} needs no typed confirmation`)
    .approval({
      phrase: PRODUCTION_PHRASE,
      message: `Rolling ${env.name} (${c.namespace}) back to the previous slots.`,
    });
  const rollback = stage("rollback").needs(confirm).uses("kubernetes")
    .describe(
      "each Service's selector and HTTPRoute weights back to the other slot, if it is still there",
    )
    .run(async (ctx) => {
      const k = ctx.use<KubernetesCapability>("kubernetes");
      const slots: Record<string, Slot> = {};
      const versions = new Set<string>();
      for (const service of c.services) {
        const live = await liveSlot(k, env, service);
        if (!live) throw new Error(`${service} has no live slot: nothing to roll back to`);
        const previous = otherSlot(live);
        const deployment = await k.get(
          { apiVersion: "apps/v1", kind: "Deployment" },
          c.namespace,
          `${service}-${previous}`,
        );
        const replicas = Number(
          (deployment?.spec as { replicas?: number } | undefined)?.replicas ?? 0,
        );
        if (!deployment || replicas === 0) {
          throw new Error(
            `${service}: the previous slot ${service}-${previous} is gone or scaled down: redeploy the previous version instead`,
          );
        }
        versions.add(deployment.metadata.labels?.version ?? "unknown");
        if (ctx.dryRun) {
          ctx.notice(`would move ${service} from ${live} back to ${previous}`);
          continue;
        }
        const r = await rollbackService(k, env, service, previous);
        slots[service] = r.slot;
        ctx.notice(`${service}: traffic back on ${r.slot}`);
      }
      if (!ctx.dryRun) {
        await recordDeployment(k, env, {
          version: [...versions].join(","),
          runId: ctx.runId,
          slots,
          deployedBy: ctx.user,
          status: "rolled-back",
        });
      }
      return slots;
    });
  const unlock = unlockStage(lock, [rollback]);
  return [lock, confirm, rollback, unlock];
}, { requiresVersion: false });
