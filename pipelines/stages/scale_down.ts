/**
 * What becomes of the slots traffic left after a rollback — the deploy's own (breach,
 * failed rollout, interrupt) and `deno task rollback`. Traffic has already moved back
 * when this runs; each slot it left is then, in this order of precedence:
 *
 * - `standby`: it runs another version again (the rollback restored what it held before
 *   the run, kept for a later rollback) — the failed version's pods are already gone;
 * - `kept`: left running on purpose (the environment says `rollback_on_failure: false`:
 *   its pods stay for debugging), marked for clean-up after the rollback window;
 * - `scaled-down` / `already-down`: its Deployment scaled to 0 replicas, so no
 *   crash-looping or breaching pod keeps running; the Deployment stays, and the next deploy
 *   of the slot applies it with its replicas again. Before that its pods' last log lines and
 *   the Events about them, its ReplicaSets and Deployment are read (`evidence`, bounded so
 *   that the report keeps it; `evidence.ts`);
 * - `missing`: there is no Deployment;
 * - `failed`: it could not be scaled down — the traffic rollback stands, the slot still
 *   runs, and the warning says how to stop it.
 * @module
 */
import type { StageContext } from "../../mod.ts";
import type { KubeObject, KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import type { KubeTarget } from "../../lib/kubernetes/target.ts";
import { scaleDownSlot } from "../../lib/kubernetes/rollout.ts";
import { scheduleCleanup, type SlotVersion } from "../../lib/kubernetes/strategies/mod.ts";
import { EVIDENCE_LIMITS, fitEvidence, type SlotEvidence, slotEvidence } from "./evidence.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" } as const;

/**
 * What was done with one slot traffic left (see the module's doc for each `outcome`).
 *
 * @example
 * ```ts
 * import type { LeftSlot } from "./scale_down.ts";
 * const s: LeftSlot = {
 *   service: "web",
 *   deployment: "web-green",
 *   version: "1.1.0",
 *   outcome: "scaled-down",
 *   replicasBefore: 3,
 *   replicas: 0,
 *   stillRunning: false,
 *   note: "web-green (version 1.1.0) scaled from 3 to 0 replicas",
 * };
 * ```
 */
export interface LeftSlot {
  /** The service. */
  service: string;
  /** The slot's Deployment, `<service>-<slot>`. */
  deployment: string;
  /** The version traffic left (the run's). */
  version: string;
  /** What was done. */
  outcome: "scaled-down" | "already-down" | "standby" | "kept" | "missing" | "failed";
  /** Its replicas before (null: no Deployment, or they could not be read). */
  replicasBefore: number | null;
  /** Its replicas now, as far as known (null: unknown). */
  replicas: number | null;
  /** Whether pods of the version traffic left may still run. */
  stillRunning: boolean;
  /** The line shown and logged. */
  note: string;
  /** Until when a kept slot is kept (its `delete-after` time), when it is. */
  keptUntil?: string | undefined;
  /**
   * What its pods showed before they were stopped (last log lines, Events; see
   * `evidence.ts`): read for a slot that is scaled down, bounded for the report.
   */
  evidence?: SlotEvidence | undefined;
}

/**
 * Options of {@linkcode settleLeftSlots}.
 *
 * @example
 * ```ts
 * import type { SettleOptions } from "./scale_down.ts";
 * import type { KubeTarget } from "../../lib/kubernetes/target.ts";
 * const o: SettleOptions = {
 *   target: {} as KubeTarget,
 *   services: [],
 *   keep: "rollback_on_failure is false",
 * };
 * ```
 */
export interface SettleOptions {
  /** The deploy target. */
  target: KubeTarget;
  /** Per service: where traffic returned to and what it left (a rollback's output). */
  services: readonly { service: string; returnedTo: SlotVersion; left: SlotVersion }[];
  /** Keep the left slots running, and why (e.g. `rollback_on_failure is false`). */
  keep?: string | undefined;
}

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

function replicasOf(d: KubeObject): number {
  const n = Number((d as { spec?: { replicas?: unknown } }).spec?.replicas ?? 1);
  return Number.isFinite(n) ? n : 1;
}

/**
 * After a rollback moved traffic back: scales each slot it left to 0 replicas (or keeps
 * it, with `keep`), one service at a time, never throwing — a slot that cannot be scaled
 * down is reported (`failed`, `stillRunning`) with a warning, and the rollback of traffic
 * stands. A rolling update's slot (the same slot traffic returned to) is not touched.
 *
 * @param ctx The stage (it must declare `uses("kubernetes")`).
 * @param options The target, the rollback's services, and whether to keep the slots.
 * @returns One entry per slot traffic left.
 *
 * @example
 * ```ts ignore
 * const rolled = await applyRollback(ctx, { target: c.target, plan });
 * const slots = await settleLeftSlots(ctx, { target: c.target, services: rolled.services });
 * ```
 */
export async function settleLeftSlots(
  ctx: StageContext,
  options: SettleOptions,
): Promise<LeftSlot[]> {
  const done: LeftSlot[] = [];
  const left = options.services.filter((s) => s.left.slot !== s.returnedTo.slot);
  let events: Promise<KubeObject[]> | undefined;
  const evidence: EvidenceShare = {
    podBytes: options.keep !== undefined ? 0 : Math.floor(
      // each pod a share, and each slot one more (its Deployment's and ReplicaSets' Events)
      EVIDENCE_LIMITS.budgetBytes / Math.max(1, left.length + await podsOf(ctx, options, left)),
    ),
    // The namespace's Events, listed once for every slot (and not at all when none goes).
    events: () =>
      events ??= kube(ctx).list(
        { apiVersion: "v1", kind: "Event" },
        options.target.namespace,
      ),
  };
  for (const s of options.services) {
    if (s.left.slot === s.returnedTo.slot) continue; // a rolling update: the same slot
    const deployment = `${s.service}-${s.left.slot}`;
    const base = { service: s.service, deployment, version: s.left.version };
    let entry: LeftSlot;
    try {
      entry = await settleOne(ctx, options, s.service, s.left, evidence);
    } catch (error) {
      entry = {
        ...base,
        outcome: "failed",
        replicasBefore: null,
        replicas: null,
        stillRunning: true,
        note: `${deployment} (version ${s.left.version}) was not scaled down and still runs: ${
          (error as Error).message
        }. Traffic is back; stop it with kubectl scale deployment/${deployment} -n ${options.target.namespace} --replicas=0`,
      };
    }
    if (entry.outcome === "failed") ctx.warn(entry.note);
    else ctx.notice(entry.note);
    done.push(entry);
  }
  // The shares were a first cut: all of it must fit the report (the runner keeps a stage's
  // output whole only up to its limit).
  fitEvidence(done.flatMap((s) => s.evidence ? [s.evidence] : []));
  return done;
}

/** A pod's share of the evidence budget, and the namespace's Events (listed once). */
interface EvidenceShare {
  podBytes: number;
  events: () => Promise<KubeObject[]>;
}

/**
 * The replicas of the slots traffic left, all together (each at least 1, for its
 * Deployment's Events): the evidence budget is shared between their pods.
 */
async function podsOf(
  ctx: StageContext,
  options: SettleOptions,
  left: SettleOptions["services"],
): Promise<number> {
  let pods = 0;
  for (const s of left) {
    const d = await kube(ctx).get(
      DEPLOYMENT,
      options.target.namespace,
      `${s.service}-${s.left.slot}`,
    )
      .catch(() => null);
    pods += d ? Math.max(1, replicasOf(d)) : 1;
  }
  return pods;
}

async function settleOne(
  ctx: StageContext,
  options: SettleOptions,
  service: string,
  left: SlotVersion,
  share: EvidenceShare,
): Promise<LeftSlot> {
  const k = kube(ctx);
  const { namespace } = options.target;
  const deployment = `${service}-${left.slot}`;
  const base = { service, deployment, version: left.version };
  const d = await k.get(DEPLOYMENT, namespace, deployment);
  if (!d) {
    return {
      ...base,
      outcome: "missing",
      replicasBefore: null,
      replicas: null,
      stillRunning: false,
      note: `${deployment}: no Deployment, nothing to scale down`,
    };
  }
  const replicas = replicasOf(d);
  const running = d.metadata.labels?.version;
  if (running !== left.version) {
    return {
      ...base,
      outcome: "standby",
      replicasBefore: replicas,
      replicas,
      stillRunning: false,
      note: `${deployment} runs ${
        running ?? "another version"
      } again, as before the run (${replicas} replica(s), the standby for a later rollback): no pod of ${left.version} is left`,
    };
  }
  if (options.keep !== undefined) return await keep(ctx, options, base, replicas);
  // Before its pods go: what they logged last, and what the cluster said about them.
  const evidence = replicas > 0
    ? await slotEvidence(ctx, { namespace, deployment: d, ...share })
    : undefined;
  const r = await scaleDownSlot(k, { namespace, service, slot: left.slot, version: left.version });
  if (r.refused) {
    return {
      ...base,
      outcome: "failed",
      replicasBefore: r.replicasBefore,
      replicas: r.replicasBefore,
      stillRunning: (r.replicasBefore ?? 0) > 0,
      note: `${deployment} (version ${left.version}) left as it is: ${r.refused}`,
      ...(evidence ? { evidence } : {}),
    };
  }
  const before = r.replicasBefore ?? 0;
  return {
    ...base,
    outcome: before > 0 ? "scaled-down" : "already-down",
    replicasBefore: before,
    replicas: 0,
    stillRunning: false,
    note: before > 0
      ? `${deployment} (version ${left.version}) scaled from ${before} to 0 replicas`
      : `${deployment} (version ${left.version}) was already at 0 replicas`,
    ...(evidence ? { evidence } : {}),
  };
}

async function keep(
  ctx: StageContext,
  options: SettleOptions,
  base: { service: string; deployment: string; version: string },
  replicas: number,
): Promise<LeftSlot> {
  const slot = base.deployment.slice(base.service.length + 1) as SlotVersion["slot"];
  const marked = await scheduleCleanup(kube(ctx), {
    target: options.target,
    service: base.service,
    slot,
    now: new Date(ctx.now()),
  });
  const until = marked?.deleteAfter;
  return {
    ...base,
    outcome: "kept",
    replicasBefore: replicas,
    replicas,
    stillRunning: replicas > 0,
    note:
      `${base.deployment} (version ${base.version}, ${replicas} replica(s)) kept for debugging: ${options.keep}${
        until
          ? `; kept until ${until}, then scaled down by deno task cleanup (or reused by the next deploy)`
          : ""
      }`,
    ...(until ? { keptUntil: until } : {}),
  };
}
