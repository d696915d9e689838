/**
 * `deno task rollback <environment>`: puts traffic back on the slots and versions that
 * were live before the last deploy, as the run record in `deployment-info` says — the
 * same logic the deploy uses on failure. A run that never finished (its runner died
 * mid-canary) is undone; else the last successful deploy is rolled back. Refuses,
 * changing nothing, when there is no record or the cluster contradicts it. It does not
 * undo migrations (they are expand/contract). The slots traffic left are then scaled to
 * 0 replicas (`scale-down`): their pods, crash-looping or failing, stop; the Deployments
 * stay for the next deploy.
 *
 * `--option takeover=<run-id>` takes over the deploy lock from that run when its runner
 * is gone (the lock would otherwise hold until it expires).
 *
 * `--run <run-id>` (`--option run=<run-id>`) rolls back that run, and refuses, changing
 * nothing, when the record's last run is another (a later deploy: roll that back first).
 * @module
 */
import { pipeline, stage, type StageContext } from "../mod.ts";
import type { KubernetesCapability, LeaseHandle } from "../lib/kubernetes/capability.ts";
import { planRollback } from "../lib/kubernetes/strategies/mod.ts";
import { LOCK_NAME, unlockStage } from "./stages/finish.ts";
import {
  anchorCheckpoint,
  applyRollback,
  CHECKPOINT_USES,
  type RolledBack,
} from "./stages/record.ts";
import { settleLeftSlots } from "./stages/scale_down.ts";
import { deployContext } from "./stages/context.ts";
import { PRODUCTION_PHRASE } from "./deploy.ts";

const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

export default pipeline("rollback", ({ env, options }) => {
  const c = deployContext(
    env,
    { version: "0.0.0", tag: "v0.0.0", major: 0, minor: 0, patch: 0 },
    options,
  );
  const takeover = options.takeover;
  const lock = stage("lock").uses("kubernetes")
    .describe(
      `take the ${LOCK_NAME} Lease${takeover ? ` (taking it over from run ${takeover})` : ""}`,
    )
    .run(async (ctx): Promise<LeaseHandle | null> => {
      if (ctx.dryRun) return null;
      const k = kube(ctx);
      const lease = await k.get(LEASE, c.namespace, LOCK_NAME);
      const spec = (lease?.spec ?? {}) as { holderIdentity?: string; renewTime?: string };
      const holder = spec.holderIdentity ?? "";
      if (takeover && holder.endsWith(`/${takeover}`)) {
        await k.delete(LEASE, c.namespace, LOCK_NAME);
        ctx.notice(`took the deploy lock over from ${holder} (its runner is gone)`);
      }
      try {
        return await k.acquireLease(c.namespace, LOCK_NAME, {
          holder: `${ctx.user}/${ctx.runId}`,
          durationSeconds: 15 * 60,
        });
      } catch (error) {
        const run = holder.split("/").pop();
        throw new Error(
          `${(error as Error).message}: a deploy is running, or its runner died; ` +
            `if run ${run} is gone, take its lock over: deno task rollback ${env.name} --option takeover=${run}`,
        );
      }
    });
  const plan = stage("plan").needs(lock).uses("kubernetes")
    .describe("read the run record and check it against the cluster")
    .run(async (ctx) => {
      const p = await planRollback(kube(ctx), { target: c.target });
      if (!p.ok) throw new Error(p.reason);
      if (options.run !== undefined && p.run?.runId !== options.run) {
        throw new Error(
          `Cannot roll back run ${options.run} in ${env.name}: the deployment record's last run is ` +
            `${p.run ? `${p.run.runId} (version ${p.run.version}, ${p.run.state})` : "none"}` +
            ` — a rollback returns to what was live before the last run only. Nothing changed`,
        );
      }
      if (p.steps.length === 0) {
        throw new Error(
          `Cannot roll back ${env.name}: run ${p.run?.runId} (version ${p.run?.version}) was the first deploy of ${
            p.skipped.map((s) => s.service).join(", ")
          }: there is nothing before it to return to. Nothing changed`,
        );
      }
      for (const s of p.steps) {
        ctx.notice(
          `${s.service}: will return to ${s.to.slot} (version ${s.to.version}), leaving ${s.leave.slot} (version ${s.leave.version})`,
        );
      }
      return {
        runId: p.run!.runId,
        state: p.run!.state,
        source: p.source,
        steps: p.steps.map((s) => ({ service: s.service, to: s.to, leave: s.leave })),
      };
    });
  const confirm = stage("confirm").needs(plan)
    .when(env.deployment.require_confirmation, `${env.name} needs no typed confirmation`)
    .approval({
      phrase: PRODUCTION_PHRASE,
      message:
        `Rolling ${env.name} (${c.namespace}) back to the versions live before the last deploy.`,
    });
  const rollback = stage("rollback").needs(plan, confirm).uses("kubernetes", ...CHECKPOINT_USES)
    .describe("each Service's selector and HTTPRoute weights back to the recorded slot")
    .run(async (ctx): Promise<RolledBack> => {
      const planned = ctx.output(plan);
      // The same logic again, now that the lock is held and the rollback confirmed.
      const p = await planRollback(kube(ctx), { target: c.target });
      if (!p.ok) throw new Error(p.reason);
      if (p.run?.runId !== planned.runId || p.run.state !== planned.state) {
        throw new Error(
          `Cannot roll back ${env.name}: the record changed since the plan (run ${planned.runId} → ${p.run?.runId}). Nothing changed: run it again`,
        );
      }
      const rolled = await applyRollback(ctx, { target: c.target, plan: p });
      // The rollback run's place in the cluster's history (its record changed).
      await anchorCheckpoint(ctx, c.target);
      return rolled;
    });
  const scaleDown = stage("scale-down").needs(rollback).uses("kubernetes")
    .describe("scale the slots traffic left to 0 replicas (their pods stop)")
    .run(async (ctx) => {
      const { services } = ctx.output(rollback);
      if (ctx.dryRun) {
        for (const s of services.filter((s) => s.left.slot !== s.returnedTo.slot)) {
          ctx.notice(`would scale ${s.service}-${s.left.slot} to 0 replicas`);
        }
        return { scaledDown: [], slots: [] };
      }
      // The same logic as the deploy's own rollback: a slot restored as a standby is kept.
      const slots = await settleLeftSlots(ctx, { target: c.target, services });
      const scaledDown = slots
        .filter((s) => s.outcome === "scaled-down" || s.outcome === "already-down")
        .map((s) => ({ deployment: s.deployment, replicasBefore: s.replicasBefore }));
      return { scaledDown, slots };
    });
  const unlock = unlockStage(lock, [rollback, scaleDown]);
  return [lock, plan, confirm, rollback, scaleDown, unlock];
}, { requiresVersion: false });
