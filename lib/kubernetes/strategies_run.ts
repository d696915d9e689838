/**
 * A deploy's run record: `beginRun` before anything is deployed or moves (what is live,
 * where the new version goes, what that slot held), `finishRun` when the run is live.
 * Re-exported by `strategies.ts`.
 * @module
 */
import type { Environment } from "../config/mod.ts";
import type { KindRef, KubernetesCapability } from "./capability.ts";
import { type DeploymentInfo, isSlot, otherSlot } from "./manifests.ts";
import { DELETE_AFTER_ANNOTATION } from "./strategies_traffic.ts";
import {
  readRunRecord,
  type RunRecord,
  type RunService,
  type SlotVersion,
  unfinishedRun,
  writeRunRecord,
} from "./strategies_record.ts";

const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

/**
 * What {@linkcode beginRun} needs.
 *
 * @example
 * ```ts
 * import type { BeginRun } from "./strategies_run.ts";
 * const run: BeginRun = { runId: "r1", version: "1.1.0", by: "ann", services: ["web"] };
 * ```
 */
export interface BeginRun {
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
 * @param env The environment.
 * @param run The run.
 * @returns The record written (`in-progress`).
 * @throws {Error} When another run never finished (see {@linkcode unfinishedRun}).
 *
 * @example
 * ```ts ignore
 * import { beginRun } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const r = await beginRun(k, env, { runId: "r1", version: "1.2.0", by: "ann", services: ["web"] });
 * console.log(r.services.web?.previous); // { slot: "blue", version: "1.1.0" }
 * ```
 */
export async function beginRun(
  k: KubernetesCapability,
  env: Environment,
  run: BeginRun,
): Promise<RunRecord> {
  const namespace = env.environment.namespace;
  const unfinished = unfinishedRun(await readRunRecord(k, env), run.runId);
  if (unfinished) throw new Error(`Cannot start run ${run.runId}: ${unfinished}`);
  const inPlace = run.inPlace ?? env.deployment.strategy === "rolling";
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
    startedAt: new Date().toISOString(),
    state: "in-progress",
    services,
  };
  if (!run.dryRun) await writeRunRecord(k, env, { run: record });
  return record;
}

/**
 * Marks a run as succeeded: it becomes the `release`, and the flat keys say what is live.
 *
 * @param k The capability.
 * @param env The environment.
 * @param runId The run.
 * @param info The live version and slots, for the flat keys.
 * @returns The record now.
 * @throws {Error} When the record's `run` is not this run (someone else wrote it).
 *
 * @example
 * ```ts ignore
 * import { finishRun } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * await finishRun(k, env, "r1", { version: "1.2.0", runId: "r1", slots: { web: "green" } });
 * ```
 */
export async function finishRun(
  k: KubernetesCapability,
  env: Environment,
  runId: string,
  info: DeploymentInfo,
): Promise<RunRecord> {
  const { run } = await readRunRecord(k, env);
  if (run?.runId !== runId) {
    throw new Error(
      `Cannot record run ${runId} as live: the deployment record's run is ${
        run ? `${run.runId} (${run.state})` : "missing"
      }: the record changed during the run`,
    );
  }
  const done: RunRecord = { ...run, state: "succeeded", finishedAt: new Date().toISOString() };
  await writeRunRecord(k, env, { info, run: done, release: done });
  return done;
}
