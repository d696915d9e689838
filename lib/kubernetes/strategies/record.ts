/**
 * The run record: what a deploy found live (slot and version of each service) and where
 * it puts the new version, written to the `deployment-info` ConfigMap *before* any
 * traffic moves and marked finished at the end. Every rollback (in-run, on demand, after
 * an interrupt or a dead runner) reads it: the Service selector alone cannot tell, in the
 * middle of a canary, which slot was live before the run.
 *
 * Writing a run's record is in `run.ts`, the rollback in `rollback.ts` and `restore.ts`.
 *
 * The ConfigMap keeps its flat keys (`version`, `slot.<service>`, ...) and two JSON keys:
 * `run` (the latest run that moved or was about to move traffic) and `release` (the last
 * run that finished successfully, so a later failed run does not lose it).
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import {
  type DeploymentInfo,
  deploymentInfoConfigMap,
  deploymentInfoManifest,
} from "../manifests.ts";
import { DEPLOYMENT_INFO_NAME, isSlot, type Slot } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { CONFIG_MAP, obj } from "./_common.ts";

/**
 * The `deployment-info` key holding the latest {@linkcode RunRecord}.
 *
 * @example
 * ```ts
 * import { RUN_KEY } from "./record.ts";
 * console.assert(RUN_KEY === "run");
 * ```
 */
export const RUN_KEY = "run";
/**
 * The `deployment-info` key holding the last successful {@linkcode RunRecord}.
 *
 * @example
 * ```ts
 * import { RELEASE_KEY } from "./record.ts";
 * console.assert(RELEASE_KEY === "release");
 * ```
 */
export const RELEASE_KEY = "release";

/**
 * A slot and the version it runs.
 *
 * @example
 * ```ts
 * import type { SlotVersion } from "./record.ts";
 * const live: SlotVersion = { slot: "blue", version: "1.0.0" };
 * ```
 */
export interface SlotVersion {
  /** The slot. */
  slot: Slot;
  /** The bare version (its `version` label). */
  version: string;
}

/**
 * What a run found and changes for one service.
 *
 * @example
 * ```ts
 * import type { RunService } from "./record.ts";
 * const s: RunService = {
 *   previous: { slot: "blue", version: "1.0.0" },
 *   next: { slot: "green", version: "1.1.0" },
 *   standby: { version: "0.9.0", replicas: 2 },
 * };
 * ```
 */
export interface RunService {
  /** What served traffic before the run (the Service selector), or null on a first deploy. */
  previous: SlotVersion | null;
  /** Where the run puts the new version (the same slot as `previous` for a rolling update). */
  next: SlotVersion;
  /** What `next.slot` held before the run, when it is another slot: a failed run restores it. */
  standby: { version: string; replicas: number; deleteAfter?: string } | null;
}

/**
 * A run's state in the record.
 *
 * @example
 * ```ts
 * import type { RunState } from "./record.ts";
 * const state: RunState = "in-progress";
 * ```
 */
export type RunState = "in-progress" | "succeeded" | "rolled-back";

/**
 * One run in the record.
 *
 * @example
 * ```ts
 * import type { RunRecord } from "./record.ts";
 * const run: RunRecord = {
 *   runId: "r1",
 *   version: "1.1.0",
 *   by: "ann",
 *   startedAt: "2026-01-01T00:00:00.000Z",
 *   state: "in-progress",
 *   services: {},
 * };
 * ```
 */
export interface RunRecord {
  /** The run's id. */
  runId: string;
  /** The version it deploys. */
  version: string;
  /** Who started it. */
  by: string;
  /** When it was recorded (ISO time). */
  startedAt: string;
  /** `in-progress` until it succeeds or is rolled back (a failed rollback leaves it so). */
  state: RunState;
  /** When it finished (ISO time). */
  finishedAt?: string;
  /** Per service. */
  services: Record<string, RunService>;
}

/**
 * What {@linkcode readRunRecord} found.
 *
 * @example
 * ```ts
 * import type { DeploymentRecord } from "./record.ts";
 * const none: DeploymentRecord = { exists: false, data: {}, run: null, release: null, problems: [] };
 * ```
 */
export interface DeploymentRecord {
  /** Whether the ConfigMap exists. */
  exists: boolean;
  /** Its data (all keys). */
  data: Record<string, string>;
  /** The latest run, when recorded and readable. */
  run: RunRecord | null;
  /** The last successful run, when recorded and readable. */
  release: RunRecord | null;
  /** Keys that are present but unreadable. */
  problems: string[];
}

function slotVersion(v: unknown): SlotVersion | null | undefined {
  if (v === null) return null;
  const o = obj(v);
  return isSlot(o.slot) && typeof o.version === "string"
    ? { slot: o.slot, version: o.version }
    : undefined;
}

/** Parses a `run`/`release` value; undefined when it is not a run record. */
function parseRun(text: string | undefined): RunRecord | undefined {
  if (text === undefined) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = obj(JSON.parse(text));
  } catch {
    return undefined;
  }
  const states: unknown[] = ["in-progress", "succeeded", "rolled-back"];
  if (typeof raw.runId !== "string" || !states.includes(raw.state)) return undefined;
  const services: Record<string, RunService> = {};
  for (const [name, s] of Object.entries(obj(raw.services))) {
    const previous = slotVersion(obj(s).previous);
    const next = slotVersion(obj(s).next);
    if (previous === undefined || !next) return undefined;
    const standby = obj(obj(s).standby);
    services[name] = {
      previous,
      next,
      standby: typeof standby.version === "string"
        ? {
          version: standby.version,
          replicas: Number(standby.replicas ?? 0),
          ...(typeof standby.deleteAfter === "string" ? { deleteAfter: standby.deleteAfter } : {}),
        }
        : null,
    };
  }
  return { ...raw, services } as unknown as RunRecord;
}

/**
 * Reads the deployment record of a target: the `deployment-info` ConfigMap and its
 * `run` and `release` entries.
 *
 * @param k The capability.
 * @param options The target.
 * @returns What is recorded (`exists: false` when there is no ConfigMap).
 *
 * @example
 * ```ts ignore
 * import { readRunRecord } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const { run } = await readRunRecord(k, { target });
 * console.log(run?.state); // "in-progress", "succeeded", "rolled-back" or undefined
 * ```
 */
export async function readRunRecord(
  k: KubernetesCapability,
  options: { target: KubeTarget },
): Promise<DeploymentRecord> {
  const cm = await k.get(CONFIG_MAP, options.target.namespace, DEPLOYMENT_INFO_NAME);
  const data = obj(cm?.data) as Record<string, string>;
  const problems: string[] = [];
  const entry = (key: string) => {
    const parsed = parseRun(data[key]);
    if (parsed === undefined && data[key] !== undefined) {
      problems.push(`its "${key}" entry is not a run record`);
    }
    return parsed ?? null;
  };
  const run = entry(RUN_KEY);
  const release = entry(RELEASE_KEY);
  return { exists: cm !== null, data, run, release, problems };
}

/**
 * What {@linkcode writeRunRecord} changes.
 *
 * @example
 * ```ts
 * import type { RecordUpdate } from "./record.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const nothing: RecordUpdate = { target };
 * ```
 */
export interface RecordUpdate {
  /** The deploy target. */
  target: KubeTarget;
  /** The flat keys (live version and slots), rewritten when given. */
  info?: DeploymentInfo | undefined;
  /** The new `run` entry. */
  run?: RunRecord | undefined;
  /** The new `release` entry. */
  release?: RunRecord | undefined;
}

/**
 * Writes the deployment record (server-side apply of the whole data, so no key is lost:
 * the existing keys are kept, the given ones replaced).
 *
 * @param k The capability.
 * @param update The target, and what to change.
 * @returns The ConfigMap's data now.
 *
 * @example
 * ```ts ignore
 * import { readRunRecord, writeRunRecord } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const { run } = await readRunRecord(k, { target });
 * if (run) await writeRunRecord(k, { target, run: { ...run, state: "rolled-back" } });
 * ```
 */
export async function writeRunRecord(
  k: KubernetesCapability,
  update: RecordUpdate,
): Promise<Record<string, string>> {
  const { target } = update;
  const current = await readRunRecord(k, update);
  const data: Record<string, string> = { ...current.data };
  if (update.info) Object.assign(data, obj(deploymentInfoManifest(target, update.info).data));
  if (update.run) data[RUN_KEY] = JSON.stringify(update.run);
  if (update.release) data[RELEASE_KEY] = JSON.stringify(update.release);
  const manifest = deploymentInfoConfigMap(target, data);
  return obj((await k.apply(manifest)).data) as Record<string, string>;
}

/**
 * Options for {@linkcode recordDeployment}: the target, and what is live.
 *
 * @example
 * ```ts
 * import type { RecordDeploymentOptions } from "./record.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: RecordDeploymentOptions = { target, version: "1.2.4", runId: "r1", slots: { web: "green" } };
 * ```
 */
export interface RecordDeploymentOptions extends DeploymentInfo {
  /** The deploy target. */
  target: KubeTarget;
}

/**
 * Records the deployment in the `deployment-info` ConfigMap's flat keys (server-side
 * apply). Keys it does not write (e.g. the run record) are kept.
 *
 * @param k The capability.
 * @param options The target; version, run id, slots, time.
 * @returns The ConfigMap's data.
 *
 * @example
 * ```ts ignore
 * import { recordDeployment } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * await recordDeployment(k, { target, version: "1.2.4", runId: "r1", slots: { web: "green" } });
 * ```
 */
export async function recordDeployment(
  k: KubernetesCapability,
  options: RecordDeploymentOptions,
): Promise<Record<string, string>> {
  const { target, ...info } = options;
  return await writeRunRecord(k, { target, info });
}

/**
 * A message when the record holds a run that never finished (its runner died, or its
 * rollback failed): traffic may be split, and only a rollback may touch the environment.
 *
 * @param record What {@linkcode readRunRecord} read.
 * @param runId The run asking (its own record does not count).
 * @returns The message, or null when no other run is unfinished.
 *
 * @example
 * ```ts
 * import { unfinishedRun } from "./record.ts";
 * import assert from "node:assert/strict";
 * const run = { runId: "r1", version: "1.2.0", by: "ann", startedAt: "t", state: "in-progress" as const, services: {} };
 * assert.match(unfinishedRun({ exists: true, data: {}, run, release: null, problems: [] }, "r2")!, /r1/);
 * ```
 */
export function unfinishedRun(record: DeploymentRecord, runId: string): string | null {
  const run = record.run;
  if (!run || run.state !== "in-progress" || run.runId === runId) return null;
  return `run ${run.runId} (version ${run.version}, by ${run.by}, recorded ${run.startedAt}) never finished: ` +
    `its traffic may still be split; roll it back first (deno task rollback <environment>)`;
}
