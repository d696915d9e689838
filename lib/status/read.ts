/**
 * Reads what an environment's cluster holds, through the `kubernetes` capability (the client
 * the deploy uses; only reads): per service the slot its Service selects and the other slot's
 * Deployment, with versions, pods and clean-up times; the traffic split (the HTTPRoute's
 * weights, else the selector); the deploy lock's Lease; the `deployment-info` record. A
 * handful of calls, made at once, whatever the number of services.
 * @module
 */
import type { KindRef, KubeObject, KubernetesCapability } from "../kubernetes/capability.ts";
import { isSlot, otherSlot, type Slot, SLOTS } from "../kubernetes/slots.ts";
import type { KubeTarget } from "../kubernetes/target.ts";
import { readRunRecord, type RunRecord } from "../kubernetes/strategies/record.ts";
import { DELETE_AFTER_ANNOTATION } from "../kubernetes/strategies/cleanup.ts";
import type {
  LockStatus,
  RecordedRun,
  RecordStatus,
  ServiceStatus,
  SlotStatus,
  TrafficSplit,
} from "./types.ts";

const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };
const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const NAMESPACE: KindRef = { apiVersion: "v1", kind: "Namespace" };
const LEASE: KindRef = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" };
const ROUTE: KindRef = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" };

/** What {@linkcode readClusterStatus} reads. */
export interface ClusterStatus {
  /** Whether the namespace exists. */
  readonly namespaceExists: boolean;
  /** Per service. */
  readonly services: ServiceStatus[];
  /** The deploy lock. */
  readonly lock: LockStatus;
  /** The deployment record. */
  readonly record: RecordStatus;
}

/** Options of {@linkcode readClusterStatus}. */
export interface ReadClusterStatusOptions {
  /** The environment's target (namespace, `app` label, services). */
  readonly target: KubeTarget;
  /** The deploy lock's Lease name. */
  readonly lockName: string;
  /** The cluster's time now (ms): a lease is judged against it. */
  readonly now: number;
}

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function time(value: unknown): Date | null {
  if (typeof value !== "string" || value === "") return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function slotOf(d: KubeObject, slot: Slot): SlotStatus {
  const spec = obj(d.spec);
  const status = obj(d.status);
  return {
    slot,
    deployment: d.metadata.name,
    version: d.metadata.labels?.version ?? null,
    desired: typeof spec.replicas === "number" ? spec.replicas : 1,
    ready: count(status.readyReplicas),
    deleteAfter: time(d.metadata.annotations?.[DELETE_AFTER_ANNOTATION])?.toISOString() ?? null,
  };
}

/** Percent per slot from an HTTPRoute's backends (`<service>-<slot>`), null when none. */
function routeSplit(route: KubeObject, service: string): TrafficSplit | null {
  const weights = { blue: 0, green: 0 };
  let backends = 0;
  const rules = obj(route.spec).rules;
  for (const rule of Array.isArray(rules) ? rules : []) {
    const refs = obj(rule).backendRefs;
    for (const ref of Array.isArray(refs) ? refs : []) {
      const name = String(obj(ref).name ?? "");
      const w = obj(ref).weight;
      for (const slot of SLOTS) {
        if (name !== `${service}-${slot}`) continue;
        weights[slot] += typeof w === "number" ? w : 1;
        backends++;
      }
    }
  }
  const total = weights.blue + weights.green;
  if (backends === 0 || total === 0) return null;
  const blue = Math.round((weights.blue / total) * 100);
  return { source: "route", blue, green: 100 - blue, weights };
}

function serviceStatus(
  service: string,
  o: { svc?: KubeObject; route?: KubeObject; deployments: Map<string, KubeObject> },
): ServiceStatus {
  const selected = obj(obj(o.svc?.spec).selector).slot;
  const liveSlot = isSlot(selected) ? selected : null;
  const slotStatus = (slot: Slot) => {
    const d = o.deployments.get(`${service}-${slot}`);
    return d ? slotOf(d, slot) : null;
  };
  const live = liveSlot ? slotStatus(liveSlot) : null;
  const idle = liveSlot
    ? slotStatus(otherSlot(liveSlot))
    : slotStatus("blue") ?? slotStatus("green");
  const traffic = (o.route ? routeSplit(o.route, service) : null) ??
    (liveSlot
      ? {
        source: "selector" as const,
        blue: liveSlot === "blue" ? 100 : 0,
        green: liveSlot === "green" ? 100 : 0,
        weights: null,
      }
      : null);
  return {
    service,
    deployed: o.svc !== undefined || o.deployments.has(`${service}-blue`) ||
      o.deployments.has(`${service}-green`),
    live: live ??
      (liveSlot
        ? {
          slot: liveSlot,
          deployment: `${service}-${liveSlot}`,
          version: null,
          desired: 0,
          ready: 0,
          deleteAfter: null,
        }
        : null),
    idle,
    traffic,
  };
}

/**
 * The deploy lock as the Lease holds it, judged at `now`.
 *
 * @param lease The Lease (null: there is none).
 * @param where Its namespace and name, and the time now (ms).
 * @returns Free, held or expired, with the holder and times.
 *
 * @example
 * ```ts
 * import { lockStatusOf } from "./read.ts";
 * import assert from "node:assert/strict";
 * const lease = {
 *   apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "lock" },
 *   spec: {
 *     holderIdentity: "ann/20260101T000000Z-abc123", leaseDurationSeconds: 60,
 *     acquireTime: "2026-01-01T00:00:00.000000Z", renewTime: "2026-01-01T00:00:30.000000Z",
 *   },
 * };
 * const at = (iso: string) => ({ namespace: "shop", name: "lock", now: Date.parse(iso) });
 * const held = lockStatusOf(lease, at("2026-01-01T00:01:00Z"));
 * assert.equal(held.state, "held");
 * assert.equal(held.runId, "20260101T000000Z-abc123");
 * assert.equal(held.expiresAt, "2026-01-01T00:01:30.000Z");
 * assert.equal(lockStatusOf(lease, at("2026-01-01T00:02:00Z")).state, "expired");
 * assert.equal(lockStatusOf(null, at("2026-01-01T00:02:00Z")).state, "free");
 * ```
 */
export function lockStatusOf(
  lease: KubeObject | null,
  where: { namespace: string; name: string; now: number },
): LockStatus {
  const spec = obj(lease?.spec);
  const holder = typeof spec.holderIdentity === "string" ? spec.holderIdentity : "";
  const base = { namespace: where.namespace, name: where.name };
  if (!lease || holder === "") {
    return {
      ...base,
      state: "free",
      holder: null,
      user: null,
      runId: null,
      since: null,
      renewedAt: null,
      expiresAt: null,
      durationSeconds: null,
    };
  }
  const slash = holder.lastIndexOf("/");
  const renewed = time(spec.renewTime);
  const duration = typeof spec.leaseDurationSeconds === "number" ? spec.leaseDurationSeconds : 0;
  const expires = renewed ? new Date(renewed.getTime() + duration * 1000) : null;
  return {
    ...base,
    state: expires && expires.getTime() > where.now ? "held" : "expired",
    holder,
    user: slash > 0 ? holder.slice(0, slash) : holder,
    runId: slash > 0 ? holder.slice(slash + 1) : null,
    since: time(spec.acquireTime)?.toISOString() ?? null,
    renewedAt: renewed?.toISOString() ?? null,
    expiresAt: expires?.toISOString() ?? null,
    durationSeconds: duration,
  };
}

function recorded(run: RunRecord | null): RecordedRun | null {
  if (!run) return null;
  return {
    runId: run.runId,
    version: String(run.version),
    by: String(run.by),
    state: run.state,
    startedAt: String(run.startedAt),
    finishedAt: typeof run.finishedAt === "string" ? run.finishedAt : null,
  };
}

/** The HTTPRoutes of a namespace by name; none when the cluster has no Gateway API. */
async function routesOf(k: KubernetesCapability, namespace: string, app: string) {
  if ((await k.namespaced(ROUTE)) === undefined) return new Map<string, KubeObject>();
  const routes = await k.list(ROUTE, namespace, { labelSelector: `app=${app}` });
  return new Map(routes.map((r) => [r.metadata.name, r]));
}

/**
 * Reads an environment's services, traffic, lock and deployment record. Only reads.
 *
 * @param k The `kubernetes` capability (e.g. a connection's `capabilities.kubernetes`).
 * @param o The target, the lock's name, the cluster's time now.
 * @returns What the cluster holds.
 * @throws {Error} A `KubernetesApiError` when the API refuses a read (e.g. 403).
 *
 * @example
 * ```ts
 * import { readClusterStatus } from "./read.ts";
 * import type { KubernetesCapability } from "../kubernetes/capability.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const objects = [
 *   { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
 *   { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop" },
 *     spec: { selector: { app: "shop", service: "web", slot: "green" } } },
 *   { apiVersion: "apps/v1", kind: "Deployment",
 *     metadata: { name: "web-green", namespace: "shop", labels: { version: "1.1.0" } },
 *     spec: { replicas: 2 }, status: { readyReplicas: 2 } },
 * ];
 * const k = {
 *   get: (kind: { kind: string }, _ns: string | null, name: string) =>
 *     Promise.resolve(objects.find((o) => o.kind === kind.kind && o.metadata.name === name) ?? null),
 *   list: (kind: { kind: string }) => Promise.resolve(objects.filter((o) => o.kind === kind.kind)),
 *   namespaced: () => Promise.resolve(undefined),
 * } as unknown as KubernetesCapability;
 * const target = { namespace: "shop", app: "shop", services: { web: { replicas: 2 } } } as unknown as KubeTarget;
 * const s = await readClusterStatus(k, { target, lockName: "lock", now: Date.now() });
 * assert.equal(s.services[0]!.live!.version, "1.1.0");
 * assert.deepEqual([s.services[0]!.traffic!.green, s.lock.state], [100, "free"]);
 * ```
 */
export async function readClusterStatus(
  k: KubernetesCapability,
  o: ReadClusterStatusOptions,
): Promise<ClusterStatus> {
  const { namespace, app } = o.target;
  const selector = { labelSelector: `app=${app}` };
  const [ns, deployments, services, routes, lease, record] = await Promise.all([
    k.get(NAMESPACE, null, namespace),
    k.list(DEPLOYMENT, namespace, selector),
    k.list(SERVICE, namespace, selector),
    routesOf(k, namespace, app),
    k.get(LEASE, namespace, o.lockName),
    readRunRecord(k, { target: o.target }),
  ]);
  const byName = new Map(deployments.map((d) => [d.metadata.name, d]));
  const svcs = new Map(services.map((s) => [s.metadata.name, s]));
  const names = Object.keys(o.target.services);
  // Services of the app deployed but no longer in the environment's file are shown too.
  for (const d of deployments) {
    const service = d.metadata.labels?.service;
    if (service && isSlot(d.metadata.labels?.slot) && !names.includes(service)) {
      names.push(service);
    }
  }
  return {
    namespaceExists: ns !== null,
    services: names.map((service) => {
      const svc = svcs.get(service);
      const route = routes.get(service);
      return serviceStatus(service, {
        deployments: byName,
        ...(svc ? { svc } : {}),
        ...(route ? { route } : {}),
      });
    }),
    lock: lockStatusOf(lease, { namespace, name: o.lockName, now: o.now }),
    record: {
      exists: record.exists,
      run: recorded(record.run),
      release: recorded(record.release),
      problems: record.problems,
    },
  };
}
