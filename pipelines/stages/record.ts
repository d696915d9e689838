/**
 * The run record and the rollback: what a deploy records in the cluster before any
 * traffic moves (`record:start`), marks live at the end (`record`), and what every
 * rollback — the deploy's own on failure or interrupt, and `deno task rollback` —
 * returns to. One logic for all of them: `planRollback` and `executeRollback`.
 * @module
 */
import { type Check, type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import type { KubeTarget } from "../../lib/kubernetes/target.ts";
import {
  beginRun,
  executeRollback,
  finishRun,
  planRollback,
  readRunRecord,
  type RollbackPlanOk,
  type RunRecord,
  type SlotVersion,
  unfinishedRun,
} from "../../lib/kubernetes/strategies/mod.ts";
import { DEPLOYMENT_INFO_NAME, type Slot } from "../../lib/kubernetes/slots.ts";
import {
  type Checkpoint,
  CHECKPOINT_ANNOTATION,
  HISTORY_ANNOTATION,
  HISTORY_LIMIT,
  PREVIOUS_RUN_ANNOTATION,
} from "../../lib/audit/cluster_record.ts";
import type { DeployContext } from "./context.ts";
import type { Deployed } from "./rollout.ts";
import { type LeftSlot, settleLeftSlots } from "./scale_down.ts";

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

function slotText(s: SlotVersion | null): string {
  return s ? `${s.slot} (${s.version})` : "nothing";
}

const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;

/**
 * A link to a run, as the `run` capability's checkpoint gives the previous one.
 *
 * @example
 * ```ts
 * import type { RunLinkAnchor } from "./record.ts";
 * const first: RunLinkAnchor | null = null;
 * ```
 */
export interface RunLinkAnchor {
  /** The run's id. */
  runId: string;
  /** Its journal's final digest. */
  digest: string;
  /** How many events that digest covers. */
  events?: number;
}

/** What the built-in `run` capability answers (`lib/runner/run.ts`). */
interface RunCapability {
  checkpoint(): Promise<Checkpoint & { previous?: RunLinkAnchor | null }>;
}

/**
 * Writes the run's place in the environment's history where the runner alone cannot rewrite
 * it: the `deployment-info` ConfigMap's annotations `run-checkpoint` (this run's journal at
 * a line: `{ runId, events, digest }`), `previous-run` (the run it chained to, when known)
 * and `run-history` (the last {@linkcode HISTORY_LIMIT} checkpoints, newest last, a run's
 * older checkpoint replaced by its newer one). A JSON merge patch of the annotations only:
 * the record's server-side applies (its data) never take them away.
 *
 * @param k The capability.
 * @param o The target, the checkpoint, and the previous run (`undefined`: not known, left as
 *   it is).
 * @returns The annotations written.
 * @throws When there is no `deployment-info` to annotate (the record writes it first).
 *
 * @example
 * ```ts ignore
 * await anchorRun(kube(ctx), { target, checkpoint: { runId, events: 57, digest }, previous: null });
 * ```
 */
export async function anchorRun(
  k: KubernetesCapability,
  o: { target: KubeTarget; checkpoint: Checkpoint; previous?: RunLinkAnchor | null | undefined },
): Promise<Record<string, string>> {
  const cm = await k.get(CONFIG_MAP, o.target.namespace, DEPLOYMENT_INFO_NAME);
  if (!cm) {
    throw new Error(
      `ConfigMap ${o.target.namespace}/${DEPLOYMENT_INFO_NAME} does not exist: nothing to anchor the run in`,
    );
  }
  const annotations = (cm.metadata.annotations ?? {}) as Record<string, string>;
  let history: Checkpoint[] = [];
  try {
    const parsed = JSON.parse(annotations[HISTORY_ANNOTATION] ?? "[]");
    if (Array.isArray(parsed)) history = parsed;
  } catch {
    // An unreadable history is not kept (the audit says so of the one it read before).
  }
  const { runId, events, digest } = o.checkpoint;
  history = [...history.filter((c) => c?.runId !== runId), { runId, events, digest }]
    .slice(-HISTORY_LIMIT);
  const written: Record<string, string> = {
    [CHECKPOINT_ANNOTATION]: JSON.stringify({ runId, events, digest }),
    [HISTORY_ANNOTATION]: JSON.stringify(history),
    ...(o.previous !== undefined ? { [PREVIOUS_RUN_ANNOTATION]: JSON.stringify(o.previous) } : {}),
  };
  await k.patch(CONFIG_MAP, o.target.namespace, DEPLOYMENT_INFO_NAME, {
    metadata: { annotations: written },
  }, "merge");
  return written;
}

/**
 * What a stage that anchors the run's checkpoint declares besides its own resources: the
 * `run` capability (`lib/capabilities/run.ts`; the runner answers its `checkpoint()`).
 *
 * @example
 * ```ts
 * import { CHECKPOINT_USES } from "./record.ts";
 * console.assert(CHECKPOINT_USES.includes("run"));
 * ```
 */
export const CHECKPOINT_USES: readonly string[] = ["run"];

/**
 * Takes the run's checkpoint (the `run` capability) and anchors it in the cluster's record
 * ({@linkcode anchorRun}); a failure is a warning, never the deploy's failure (the run's own
 * record is whole without it; `report audit` then says the cluster does not know the run).
 *
 * @param ctx The stage (it must declare `uses("kubernetes", ...CHECKPOINT_USES)`).
 * @param target The deploy target.
 * @returns The checkpoint anchored, or undefined when it could not be.
 *
 * @example
 * ```ts ignore
 * await anchorCheckpoint(ctx, c.target);
 * ```
 */
export async function anchorCheckpoint(
  ctx: StageContext,
  target: KubeTarget,
): Promise<Checkpoint | undefined> {
  if (ctx.dryRun) return undefined;
  try {
    const cp = await ctx.use<RunCapability>("run").checkpoint();
    const checkpoint = { runId: cp.runId, events: cp.events, digest: cp.digest };
    await anchorRun(kube(ctx), {
      target,
      checkpoint,
      ...(cp.previous !== undefined ? { previous: cp.previous } : {}),
    });
    ctx.log(
      `deployment-info: run ${cp.runId} at event ${cp.events} (sha256:${cp.digest}) anchored`,
    );
    return checkpoint;
  } catch (err) {
    ctx.warn(`the run's checkpoint is not in deployment-info: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * A pre-flight check: no other run is unfinished (its runner died mid-canary, or its
 * rollback failed), so a deploy never starts on split traffic.
 *
 * @example
 * ```ts ignore
 * import { noUnfinishedRun } from "./record.ts";
 * stage("preflight:cluster").uses("kubernetes").check(noUnfinishedRun(c.target));
 * ```
 */
export function noUnfinishedRun(target: KubeTarget): Check {
  return {
    name: "no unfinished deploy",
    run: async (ctx) => {
      const record = await readRunRecord(kube(ctx), { target });
      const unfinished = unfinishedRun(record, ctx.runId);
      return {
        ok: unfinished === null,
        message: unfinished ??
          (record.run ? `last run ${record.run.runId}: ${record.run.state}` : "no run recorded"),
        evidence: record.run
          ? { runId: record.run.runId, state: record.run.state, version: record.run.version }
          : {},
      };
    },
  };
}

/**
 * `preflight:record`: with the other pre-flight stages, refuses to start while another
 * run is unfinished (see {@linkcode noUnfinishedRun}).
 *
 * @example
 * ```ts ignore
 * const preflight = [...preflightStages(c, lock), preflightRecordStage(c, lock)];
 * ```
 */
export function preflightRecordStage(c: DeployContext, lock: Stage<unknown>) {
  return stage("preflight:record").needs(lock).uses("kubernetes")
    .describe("no other deploy left unfinished (traffic split by a runner that died)")
    .check(noUnfinishedRun(c.target));
}

/**
 * `record:start`: records in `deployment-info`, before anything is deployed or moves,
 * each service's live slot and version and where the new version goes.
 *
 * @example
 * ```ts ignore
 * const start = recordStartStage(c, migrate);
 * const deploys = deployStages(c, start);
 * ```
 */
export function recordStartStage(c: DeployContext, after: Stage<unknown>) {
  return stage("record:start").needs(after).uses("kubernetes")
    .describe("record the live slot and version of each service: every rollback returns to it")
    .run(async (ctx): Promise<RunRecord> => {
      const r = await beginRun(kube(ctx), {
        target: c.target,
        runId: ctx.runId,
        version: c.version.version,
        by: ctx.user,
        services: c.services,
        dryRun: ctx.dryRun,
      });
      for (const [service, s] of Object.entries(r.services)) {
        ctx.log(
          `${service}: live ${slotText(s.previous)}; ${s.next.version} goes to ${s.next.slot}`,
        );
      }
      const live = [...new Set(Object.values(r.services).map((s) => slotText(s.previous)))];
      ctx.notice(
        `${ctx.dryRun ? "would record" : "recorded"} before traffic moves: live ${live.join(", ")}`,
      );
      return r;
    });
}

/**
 * `record`: the run is live — it becomes the release a later rollback returns from.
 *
 * @example
 * ```ts ignore
 * const record = recordStage(c, validate, deploys);
 * ```
 */
export function recordStage(
  c: DeployContext,
  after: Stage<unknown>,
  deploys: readonly Stage<Deployed>[],
) {
  return stage("record").needs(after, ...deploys).uses("kubernetes", ...CHECKPOINT_USES)
    .run(async (ctx) => {
      const deployed = deploys.map((s) => ctx.output(s));
      const slots = Object.fromEntries(deployed.map((d) => [d.service, d.slot])) as Record<
        string,
        Slot
      >;
      if (ctx.dryRun) return slots;
      await finishRun(kube(ctx), {
        target: c.target,
        runId: ctx.runId,
        info: { version: c.version.version, runId: ctx.runId, slots, deployedBy: ctx.user },
      });
      ctx.notice(`${c.version.tag} is live (deployment-info updated)`);
      // The run's place in the history, where the runner alone cannot rewrite it.
      await anchorCheckpoint(ctx, c.target);
      return slots;
    });
}

/**
 * What a rollback stage hands on (and the report shows).
 *
 * @example
 * ```ts
 * import type { RolledBack } from "./record.ts";
 * const none: RolledBack = { runId: null, services: [], messages: [] };
 * ```
 */
export interface RolledBack {
  /** The run rolled back, or null when there was nothing to do. */
  runId: string | null;
  /** Per service: the version traffic returned to, and the one it left. */
  services: { service: string; returnedTo: SlotVersion; left: SlotVersion }[];
  /** One line per change. */
  messages: string[];
}

/**
 * Carries out a plan in a stage: notices say what traffic returns to and what it leaves.
 *
 * @example
 * ```ts ignore
 * const plan = await planRollback(k, { target });
 * if (plan.ok) return await applyRollback(ctx, { target, plan });
 * ```
 */
export async function applyRollback(
  ctx: StageContext,
  options: { target: KubeTarget; plan: RollbackPlanOk },
): Promise<RolledBack> {
  const { target, plan } = options;
  for (const s of plan.skipped) ctx.notice(`${s.service}: nothing to return to (${s.reason})`);
  if (plan.note) ctx.notice(plan.note);
  if (ctx.dryRun || plan.steps.length === 0) {
    for (const s of plan.steps) {
      ctx.notice(
        `would return ${s.service} to ${slotText(s.to)}, leaving ${slotText(s.leave)}`,
      );
    }
    return { runId: plan.run?.runId ?? null, services: [], messages: [] };
  }
  const result = await executeRollback(kube(ctx), {
    target,
    plan,
    runId: ctx.runId,
    by: ctx.user,
  });
  for (const m of result.messages) ctx.notice(m);
  for (const w of result.warnings) ctx.warn(w);
  const to = [...new Set(result.services.map((s) => s.to.version))].join(", ");
  const left = [...new Set(result.services.map((s) => s.left.version))].join(", ");
  ctx.notice(`rolled back run ${plan.run!.runId}: back on version ${to}, leaving ${left}`);
  return {
    runId: plan.run!.runId,
    services: result.services.map((s) => ({
      service: s.service,
      returnedTo: s.to,
      left: s.left,
    })),
    messages: result.messages,
  };
}

/**
 * What the deploy's rollback hands on (and the report shows): the traffic rollback, then
 * what became of each slot traffic left — scaled to 0 replicas with the replicas it had,
 * back on its standby, kept for debugging, or still running because scaling it failed.
 *
 * @example
 * ```ts
 * import type { DeployRolledBack } from "./record.ts";
 * const none: DeployRolledBack = { runId: null, services: [], messages: [], slots: [] };
 * ```
 */
export interface DeployRolledBack extends RolledBack {
  /** One entry per slot traffic left (see `scale_down.ts`). */
  slots: LeftSlot[];
  /** Why the left slots were kept running, when they were. */
  kept?: string | undefined;
}

/** Why the deploy's rollback keeps the failed slots running, or undefined. */
function keepReason(c: DeployContext): string | undefined {
  return c.env.deployment.rollback_on_failure ? undefined : "rollback_on_failure is false";
}

/**
 * The deploy's rollback: when a stage after `record:start` failed, or the run was
 * interrupted, traffic goes back to what this run recorded as live before it (never to
 * "the other slot"); then each slot traffic left is scaled to 0 replicas, so no
 * crash-looping or breaching pod keeps running (a slot restored as a standby keeps its
 * replicas). With `deployment.rollback_on_failure: false` traffic still goes back (gates
 * fail closed), but the failed slot is kept running for debugging — its standby, if any,
 * is not restored over it — and marked for clean-up after the rollback window.
 * Migrations stay (expand/contract).
 *
 * @example
 * ```ts ignore
 * const rollback = rollbackStage(c, start, [...deploys, ...traffic, validate, record]);
 * ```
 */
export function rollbackStage(
  c: DeployContext,
  start: Stage<RunRecord>,
  watched: readonly Stage<unknown>[],
) {
  const keep = keepReason(c);
  // Not watching `start`: when it fails, nothing was deployed and nothing moved.
  return stage("rollback").asRollback(...watched).needs(start).uses(
    "kubernetes",
    ...CHECKPOINT_USES,
  )
    // Tried again: what failed the run may fail a first attempt too — a flaky API, or the
    // deploy lock not renewed for its deadline, which blocks every change until the
    // heartbeat renews it again (it keeps trying). Every step is idempotent (the plan is
    // the run record's). 5 + 10 + 20 + 30 s: past a lease's 30 s, when another holder
    // would have taken it.
    .retry({ attempts: 5, delay: "5s", backoff: "exponential", maxDelay: "30s" })
    .describe(
      "put traffic back on the slots and versions recorded as live before this run, then " +
        (keep ? `keep the failed slots running (${keep})` : "scale the slots it left to 0"),
    )
    .run(async (ctx): Promise<DeployRolledBack> => {
      const none = { runId: null, services: [], messages: [], slots: [] };
      const started = ctx.output(start) as RunRecord | undefined;
      if (!started) {
        // record:start did not finish: did its write land? The record says.
        const own = (await readRunRecord(kube(ctx), { target: c.target })).run?.runId === ctx.runId;
        if (!own || ctx.dryRun) {
          ctx.notice("nothing to roll back: this run moved no traffic");
          return none;
        }
      }
      if (ctx.dryRun) {
        for (const [service, s] of Object.entries(started!.services)) {
          ctx.notice(`would return ${service} to ${slotText(s.previous)}`);
        }
        return { ...none, runId: ctx.runId };
      }
      const planned = await planRollback(kube(ctx), { target: c.target, runId: ctx.runId });
      if (!planned.ok) throw new Error(planned.reason);
      // Kept for debugging: the failed version stays in its slot (no standby over it).
      const plan = keep
        ? { ...planned, steps: planned.steps.map((s) => ({ ...s, restore: null })) }
        : planned;
      const rolled = await applyRollback(ctx, { target: c.target, plan });
      const slots = await settleLeftSlots(ctx, {
        target: c.target,
        services: rolled.services,
        keep,
      });
      // A run that moved traffic and was rolled back is in the cluster's history too.
      await anchorCheckpoint(ctx, c.target);
      return { ...rolled, slots, ...(keep ? { kept: `kept for debugging: ${keep}` } : {}) };
    });
}
