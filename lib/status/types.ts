/**
 * The shape of an environment's status: what `deno task status <env> --json` prints (one JSON
 * document, {@linkcode EnvironmentStatus}) and what the table is drawn from. Every time is an
 * ISO-8601 string in the cluster's time (`at` is when it was read); nothing in it is a secret
 * (no token, no Secret's value: only names, versions, counts, holders and times).
 * @module
 */
import type { RunState } from "../kubernetes/strategies/record.ts";
import type { Slot } from "../kubernetes/slots.ts";

/**
 * One slot Deployment of a service (`<service>-<slot>`): its version, pods, clean-up time.
 *
 * @example
 * ```ts
 * import type { SlotStatus } from "./types.ts";
 * const blue: SlotStatus = {
 *   slot: "blue", deployment: "web-blue", version: "1.0.0", desired: 3, ready: 3,
 *   deleteAfter: "2026-01-02T00:00:00.000Z",
 * };
 * console.assert(blue.ready === blue.desired);
 * ```
 */
export interface SlotStatus {
  /** The slot. */
  readonly slot: Slot;
  /** Its Deployment's name. */
  readonly deployment: string;
  /** Its `version` label (null: the Deployment has none). */
  readonly version: string | null;
  /** Pods it should run (`spec.replicas`; 0 once scaled down). */
  readonly desired: number;
  /** Pods ready (`status.readyReplicas`). */
  readonly ready: number;
  /**
   * When the clean-up may scale it down (its `delete-after` annotation), null when none is
   * scheduled: an old slot kept for the rollback window has one.
   */
  readonly deleteAfter: string | null;
}

/**
 * Where a service's traffic goes, in percent per slot, and what says so: the HTTPRoute's
 * backend weights (`route`, a canary's) or the Service's selector (`selector`, blue-green:
 * all to the slot it selects).
 *
 * @example
 * ```ts
 * import type { TrafficSplit } from "./types.ts";
 * const mid: TrafficSplit = { source: "route", blue: 95, green: 5, weights: { blue: 95, green: 5 } };
 * console.assert(mid.blue + mid.green === 100);
 * ```
 */
export interface TrafficSplit {
  /** What the split was read from. */
  readonly source: "route" | "selector";
  /** Percent of requests to blue (rounded; both add up to 100). */
  readonly blue: number;
  /** Percent of requests to green. */
  readonly green: number;
  /** The HTTPRoute's raw backend weights (null for `selector`). */
  readonly weights: { readonly blue: number; readonly green: number } | null;
}

/**
 * One service: its live slot (what the Service selects), the other slot when it has a
 * Deployment (`idle`), and the traffic split.
 *
 * @example
 * ```ts
 * import type { ServiceStatus } from "./types.ts";
 * const none: ServiceStatus = { service: "web", deployed: false, live: null, idle: null, traffic: null };
 * console.assert(!none.deployed);
 * ```
 */
export interface ServiceStatus {
  /** The service. */
  readonly service: string;
  /** Whether anything of it is in the cluster (its Service or a slot Deployment). */
  readonly deployed: boolean;
  /** The slot the Service selects (null: no Service, or it selects no slot). */
  readonly live: SlotStatus | null;
  /**
   * The other slot, when it has a Deployment (null: none). With no live slot (a Service
   * missing), the only slot Deployment found.
   */
  readonly idle: SlotStatus | null;
  /** Where its requests go (null: nothing routes to it). */
  readonly traffic: TrafficSplit | null;
}

/**
 * The deploy lock (a Lease): `free` (no Lease, or released: no holder), `held` (a holder
 * whose hold has not expired: a deploy now would be refused), or `expired` (a holder that
 * stopped renewing it — a dead runner's: the next deploy takes it).
 *
 * @example
 * ```ts
 * import type { LockStatus } from "./types.ts";
 * const free: LockStatus = {
 *   namespace: "shop", name: "deploy-lock", state: "free", holder: null, user: null, runId: null,
 *   since: null, renewedAt: null, expiresAt: null, durationSeconds: null,
 * };
 * console.assert(free.state === "free");
 * ```
 */
export interface LockStatus {
  /** The Lease's namespace. */
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  /** See above. */
  readonly state: "free" | "held" | "expired";
  /** Its `holderIdentity` (`<user>/<run-id>` for a run), null when free. */
  readonly holder: string | null;
  /** The holder's user part. */
  readonly user: string | null;
  /** The holder's run id part (null when the holder names none). */
  readonly runId: string | null;
  /** When the holder took it (`acquireTime`). */
  readonly since: string | null;
  /** When it was last renewed (`renewTime`). */
  readonly renewedAt: string | null;
  /** When the hold ends unless renewed (`renewTime + leaseDurationSeconds`). */
  readonly expiresAt: string | null;
  /** `leaseDurationSeconds`. */
  readonly durationSeconds: number | null;
}

/**
 * A run as the cluster's deployment record (`deployment-info`) holds it.
 *
 * @example
 * ```ts
 * import type { RecordedRun } from "./types.ts";
 * const r: RecordedRun = {
 *   runId: "r1", version: "1.1.0", by: "ann", state: "succeeded",
 *   startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:10:00.000Z",
 * };
 * ```
 */
export interface RecordedRun {
  /** The run's id. */
  readonly runId: string;
  /** The version it deployed. */
  readonly version: string;
  /** Who ran it. */
  readonly by: string;
  /** `in-progress` (running, or its runner died), `succeeded`, `rolled-back`. */
  readonly state: RunState;
  /** When it was recorded. */
  readonly startedAt: string;
  /** When it finished (null: it has not). */
  readonly finishedAt: string | null;
}

/**
 * The cluster's deployment record: the latest run that moved traffic, and the last release
 * (the last run that succeeded).
 *
 * @example
 * ```ts
 * import type { RecordStatus } from "./types.ts";
 * const none: RecordStatus = { exists: false, run: null, release: null, problems: [] };
 * ```
 */
export interface RecordStatus {
  /** Whether the `deployment-info` ConfigMap exists. */
  readonly exists: boolean;
  /** Its latest run. */
  readonly run: RecordedRun | null;
  /** Its last successful run. */
  readonly release: RecordedRun | null;
  /** Entries present but unreadable. */
  readonly problems: readonly string[];
}

/**
 * The environment's latest run in the runs folder (dry runs left out): its report's status,
 * or `unfinished` when it has no report yet (`running`: it has none and holds the lock).
 *
 * @example
 * ```ts
 * import type { LastRun } from "./types.ts";
 * const r: LastRun = {
 *   runId: "r1", pipeline: "deploy", version: "v1.1.0", status: "succeeded",
 *   startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:10:00.000Z",
 *   runDir: "runs/r1", reportPath: "runs/r1/report.json",
 * };
 * ```
 */
export interface LastRun {
  /** The run's id. */
  readonly runId: string;
  /** Its pipeline's name (`deploy`, `rollback`, `cleanup`, ...). */
  readonly pipeline: string;
  /** The version it ran with (null: none, e.g. a clean-up). */
  readonly version: string | null;
  /**
   * Its report's status (`succeeded`, `failed`, `rolled_back`, `interrupted`), `running` (no
   * report, and it holds the lock), or `unfinished` (no report: its runner died or was
   * killed; `deno task resume <run-id>`).
   */
  readonly status: string;
  /** When it started. */
  readonly startedAt: string;
  /** When it finished (null without a report). */
  readonly finishedAt: string | null;
  /** Its folder. */
  readonly runDir: string;
  /** Its `report.json` (null: it has none yet). */
  readonly reportPath: string | null;
}

/**
 * Where the status was read: the sandbox (`state`: `running` — a sandbox served the state
 * folder; `restored` — none did, one was started from the saved state for the read and
 * stopped; `none` — no saved state: nothing was ever deployed there) or a kubeconfig's
 * cluster.
 *
 * @example
 * ```ts
 * import type { StatusTarget } from "./types.ts";
 * const t: StatusTarget = { kind: "sandbox", stateDir: "sandbox-state", state: "restored" };
 * ```
 */
export type StatusTarget =
  | {
    readonly kind: "sandbox";
    readonly stateDir: string;
    readonly state: "running" | "restored" | "none";
  }
  | {
    readonly kind: "kubernetes";
    /** The kubeconfig read. */
    readonly kubeconfig: string;
    /** Its context (null: its current context). */
    readonly context: string | null;
    /** The environment's cluster name (its file's `environment.cluster`). */
    readonly cluster: string;
  };

/**
 * What `deno task status <env> --json` prints: one document with every fact the table shows.
 *
 * @example
 * ```ts
 * import type { EnvironmentStatus } from "./types.ts";
 * const s: EnvironmentStatus = {
 *   kind: "environment-status", schemaVersion: 1, environment: "staging",
 *   namespace: "shop-staging", app: "shop", strategy: "blue-green",
 *   target: { kind: "sandbox", stateDir: "sb", state: "none" },
 *   at: "2026-01-01T00:00:00.000Z", namespaceExists: false, deployed: false, services: [],
 *   lock: {
 *     namespace: "shop-staging", name: "deploy-lock", state: "free", holder: null, user: null,
 *     runId: null, since: null, renewedAt: null, expiresAt: null, durationSeconds: null,
 *   },
 *   record: { exists: false, run: null, release: null, problems: [] },
 *   lastRun: null, runsDir: "runs",
 * };
 * console.assert(JSON.parse(JSON.stringify(s)).kind === "environment-status");
 * ```
 */
export interface EnvironmentStatus {
  /** Always `environment-status`. */
  readonly kind: "environment-status";
  /** This shape's version: 1. */
  readonly schemaVersion: 1;
  /** The environment's name. */
  readonly environment: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The `app` label its objects carry. */
  readonly app: string;
  /** Its deploy strategy (`blue-green`, `canary`, `rolling`). */
  readonly strategy: string;
  /** Where it was read. */
  readonly target: StatusTarget;
  /** When it was read, in the cluster's time (leases and deadlines are judged against it). */
  readonly at: string;
  /** Whether the namespace exists in the cluster. */
  readonly namespaceExists: boolean;
  /** Whether any service has anything deployed. */
  readonly deployed: boolean;
  /** The environment's services (and any other of its app found deployed), in order. */
  readonly services: readonly ServiceStatus[];
  /** The deploy lock. */
  readonly lock: LockStatus;
  /** The cluster's deployment record. */
  readonly record: RecordStatus;
  /** The latest run in the runs folder (null: none). */
  readonly lastRun: LastRun | null;
  /** The runs folder read. */
  readonly runsDir: string;
}
