/**
 * A deploy's run record: `beginRun` before anything is deployed or moves (what is live,
 * where the new version goes, what that slot held), `finishRun` when the run is live.
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import { type DeploymentInfo } from "../manifests.ts";
import { isSlot, otherSlot } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { DELETE_AFTER_ANNOTATION } from "./cleanup.ts";
import {
  readRunRecord,
  type RunRecord,
  type RunService,
  type SlotVersion,
  unfinishedRun,
  writeRunRecord,
} from "./record.ts";
import { DEPLOYMENT, obj, SERVICE } from "./_common.ts";
import { ambientClock } from "../../async/ambient.ts";

/**
 * What {@linkcode beginRun} needs.
 *
 * @example
 * ```ts
 * import type { BeginRun } from "./run.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const run: BeginRun = { target, runId: "r1", version: "1.1.0", by: "ann", services: ["web"] };
 * ```
 */
export interface BeginRun {
  /** The deploy target. */
  target: KubeTarget;
  /** The run's id. */
  runId: string;
  /** The version it deploys. */
  version: string;
  /** Who runs it. */
  by: string;
  /** The services it deploys. */
  services: readonly string[];
  /** A rolling update (the new version goes to the live slot). Default: the strategy says. */
  inPlace?: boolean | undefined;
  /** Compute the record, write nothing. */
  dryRun?: boolean | undefined;
}

/**
 * Records, before any traffic moves, what is live (each Service's selected slot and the
 * version its Deployment runs), where the new version goes, and what that slot held.
 *
 * @param k The capability.
 * @param run The target and the run.
 * @returns The record written (`in-progress`).
 * @throws {Error} When another run never finished (see {@linkcode unfinishedRun}).
 *
 * @example
 * ```ts ignore
 * import { beginRun } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const r = await beginRun(k, { target, runId: "r1", version: "1.2.0", by: "ann", services: ["web"] });
 * console.log(r.services.web?.previous); // { slot: "blue", version: "1.1.0" }
 * ```
 */
export async function beginRun(k: KubernetesCapability, run: BeginRun): Promise<RunRecord> {
  const { target } = run;
  const namespace = target.namespace;
  const unfinished = unfinishedRun(await readRunRecord(k, run), run.runId);
  if (unfinished) throw new Error(`Cannot start run ${run.runId}: ${unfinished}`);
  const inPlace = run.inPlace ?? target.strategy === "rolling";
  const version = run.version.replace(/^v/, "");
  const services: Record<string, RunService> = {};
  for (const service of run.services) {
    const svc = await k.get(SERVICE, namespace, service);
    const live = obj(obj(svc?.spec).selector).slot;
    let previous: SlotVersion | null = null;
    if (isSlot(live)) {
      const d = await k.get(DEPLOYMENT, namespace, `${service}-${live}`);
      previous = { slot: live, version: d?.metadata.labels?.version ?? "unknown" };
    }
    const slot = previous ? (inPlace ? previous.slot : otherSlot(previous.slot)) : "blue";
    let standby: RunService["standby"] = null;
    if (slot !== previous?.slot) {
      const d = await k.get(DEPLOYMENT, namespace, `${service}-${slot}`);
      const label = d?.metadata.labels?.version;
      if (d && label) {
        const after = d.metadata.annotations?.[DELETE_AFTER_ANNOTATION];
        standby = {
          version: label,
          replicas: Number(obj(d.spec).replicas ?? 0),
          ...(after ? { deleteAfter: after } : {}),
        };
      }
    }
    services[service] = { previous, next: { slot, version }, standby };
  }
  const record: RunRecord = {
    runId: run.runId,
    version,
    by: run.by,
    startedAt: new Date(ambientClock().now()).toISOString(),
    state: "in-progress",
    services,
  };
  if (!run.dryRun) await writeRunRecord(k, { target, run: record });
  return record;
}

/**
 * Marks a run as succeeded: it becomes the `release`, and the flat keys say what is live.
 *
 * @param k The capability.
 * @param options The target, the run, and the live version and slots (for the flat keys).
 * @returns The record now.
 * @throws {Error} When the record's `run` is not this run (someone else wrote it).
 *
 * @example
 * ```ts ignore
 * import { finishRun } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * await finishRun(k, {
 *   target,
 *   runId: "r1",
 *   info: { version: "1.2.0", runId: "r1", slots: { web: "green" } },
 * });
 * ```
 */
export async function finishRun(
  k: KubernetesCapability,
  options: { target: KubeTarget; runId: string; info: DeploymentInfo },
): Promise<RunRecord> {
  const { target, runId, info } = options;
  const { run } = await readRunRecord(k, options);
  if (run?.runId !== runId) {
    throw new Error(
      `Cannot record run ${runId} as live: the deployment record's run is ${
        run ? `${run.runId} (${run.state})` : "missing"
      }: the record changed during the run`,
    );
  }
  const done: RunRecord = {
    ...run,
    state: "succeeded",
    finishedAt: new Date(ambientClock().now()).toISOString(),
  };
  await writeRunRecord(k, { target, info, run: done, release: done });
  return done;
}
