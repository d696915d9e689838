/**
 * The Deployment controller: ReplicaSets per pod-template hash, rolling updates within
 * maxSurge/maxUnavailable, and status (including `ProgressDeadlineExceeded`) as
 * `kubectl rollout status` reads it.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import type { Clock } from "../clock/mod.ts";
import { sinceKube, targetNow } from "./clock.ts";
import type { EventRecorder } from "./events.ts";
import { Backoff, guardedReconcile, reportFailure } from "./backoff.ts";
import { type ControllerDeps, Deadlines } from "./deadlines.ts";

type JsonMap = Record<string, unknown>;
const DEPLOYMENTS = findResource("apps", "v1", "deployments") as ResourceType;
const REPLICASETS = findResource("apps", "v1", "replicasets") as ResourceType;
const MANAGER = { manager: "kube-controller-manager" };

/** A stable 10-character hash of a pod template (like `pod-template-hash`). */
export function templateHash(template: unknown): string {
  const text = JSON.stringify(template ?? {});
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
    h2 = Math.imul(h2 + c, 2246822519) >>> 0;
  }
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let n = BigInt(h1) * 4294967296n + BigInt(h2);
  let out = "";
  for (let i = 0; i < 10; i++) {
    out += alphabet[Number(n % 27n)];
    n /= 27n;
  }
  return out;
}

/** Resolve an int-or-percent (`25%`) against a total. */
export function resolveIntOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.endsWith("%")) {
    const v = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(v) : Math.floor(v);
  }
  return Number(value ?? 0) || 0;
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

function owned(list: KObject[], uid: unknown): KObject[] {
  return list.filter((o) =>
    ((meta(o).ownerReferences ?? []) as JsonMap[]).some((r) => r.uid === uid && r.controller)
  );
}

function condition(status: JsonMap, type: string): JsonMap | undefined {
  return ((status.conditions ?? []) as JsonMap[]).find((c) => c.type === type);
}

function setCondition(
  status: JsonMap,
  next: { type: string; status: string; reason: string; message: string },
  touch: boolean,
  now: string,
): void {
  const list = ((status.conditions ?? []) as JsonMap[]).filter((c) => c.type !== next.type);
  const old = condition(status, next.type);
  const same = old && old.status === next.status && old.reason === next.reason &&
    old.message === next.message;
  list.push({
    ...next,
    lastUpdateTime: same && !touch ? old.lastUpdateTime : now,
    lastTransitionTime: old && old.status === next.status ? old.lastTransitionTime : now,
  });
  list.sort((a, b) => String(a.type).localeCompare(String(b.type)));
  status.conditions = list;
}

/**
 * The Deployment controller: ReplicaSets, rolling updates and rollout status. A Deployment
 * whose reconcile fails (other than on a write conflict, retried on the next pass) gets a
 * Warning Event `FailedSync` and is backed off (0.2 s, doubling up to 10 s).
 */
export class DeploymentController {
  #api: Api;
  #clock: Clock;
  #events: EventRecorder;
  #deadlines: Deadlines;
  #progressAt = new Map<string, number>();
  #backoff: Backoff;
  #report: Parameters<typeof reportFailure>[0];

  /**
   * @param api The API.
   * @param deps Clock, event recorder, where a failure's first line goes (default stderr), and
   *   where the next progress deadline or back-off end is reported.
   */
  constructor(api: Api, deps: ControllerDeps) {
    this.#api = api;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#deadlines = deps.deadlines ?? new Deadlines();
    this.#backoff = new Backoff({ now: targetNow(deps.clock) });
    this.#report = {
      record: (obj, event) => deps.events.record(obj, event),
      log: deps.log ?? ((line) => console.error(line)),
      component: "deployment-controller",
    };
  }

  /** Reconcile every Deployment once. */
  reconcile(): void {
    const seen = new Set<string>();
    // Not copied: #sync only reads a Deployment (its writes go through copies and the API).
    for (const d of this.#api.store.scan(DEPLOYMENTS)) {
      const key = String(meta(d).uid);
      seen.add(key);
      guardedReconcile(this.#backoff, key, "FailedSync", () => {
        try {
          this.#sync(d);
        } catch (error) {
          // A write conflict is a race with another writer: the next pass retries it.
          if ((error as { code?: unknown }).code !== 409) throw error;
        }
      }, reportFailure(this.#report, d));
    }
    this.#backoff.retain(seen);
    for (const uid of [...this.#progressAt.keys()]) {
      if (!seen.has(uid)) this.#progressAt.delete(uid);
    }
    const retry = this.#backoff.nextIn();
    if (retry !== undefined) this.#deadlines.in(retry);
  }

  #scale(rs: KObject, replicas: number, d: KObject): void {
    const m = meta(rs);
    const from = num((rs.spec as JsonMap).replicas);
    if (from === replicas) return;
    const next = structuredClone(rs);
    (next.spec as JsonMap).replicas = replicas;
    const annotations = (meta(next).annotations ??= {}) as JsonMap;
    annotations["deployment.kubernetes.io/desired-replicas"] = String(
      num((d.spec as JsonMap).replicas),
    );
    this.#api.update(REPLICASETS, String(m.namespace), String(m.name), next, MANAGER);
    (rs.spec as JsonMap).replicas = replicas;
    this.#events.record(d, {
      reason: "ScalingReplicaSet",
      message: `Scaled ${
        replicas > from ? "up" : "down"
      } replica set ${m.name} from ${from} to ${replicas}`,
      component: "deployment-controller",
    });
  }

  #sync(deployment: KObject): void {
    let d = deployment;
    const m = meta(d);
    const ns = String(m.namespace);
    const spec = d.spec as JsonMap;
    const replicas = num(spec.replicas);
    const template = spec.template as JsonMap;
    const hash = templateHash(template);
    // This Deployment's ReplicaSets only, each with its own spec (#scale keeps the count it
    // wrote there; the rest is only read, so a shallow copy spares a deep one per pass).
    const all = owned(this.#api.store.scan(REPLICASETS, ns), m.uid).map((rs): KObject => ({
      ...rs,
      spec: { ...(rs.spec as JsonMap) },
    }));
    let newRS = all.find((rs) =>
      (meta(rs).labels as JsonMap | undefined)?.["pod-template-hash"] === hash
    );
    const old = all.filter((rs) => rs !== newRS);
    const strategy = (spec.strategy ?? {}) as JsonMap;
    const ru = (strategy.rollingUpdate ?? {}) as JsonMap;
    let surge = resolveIntOrPercent(ru.maxSurge ?? "25%", replicas, true);
    let unavailable = resolveIntOrPercent(ru.maxUnavailable ?? "25%", replicas, false);
    if (strategy.type === "Recreate") {
      surge = 0;
      unavailable = replicas;
    } else if (surge === 0 && unavailable === 0) unavailable = 1;
    let created = false;
    if (spec.paused !== true) {
      if (!newRS) {
        const revision = Math.max(
          0,
          ...all.map((rs) =>
            Number(
              (meta(rs).annotations as JsonMap | undefined)
                ?.["deployment.kubernetes.io/revision"] ?? 0,
            )
          ),
        ) + 1;
        const tmpl = structuredClone(template);
        const tm = (tmpl.metadata ??= {}) as JsonMap;
        tm.labels = { ...(tm.labels as JsonMap ?? {}), "pod-template-hash": hash };
        const selector = structuredClone((spec.selector ?? {}) as JsonMap);
        selector.matchLabels = {
          ...(selector.matchLabels as JsonMap ?? {}),
          "pod-template-hash": hash,
        };
        newRS = this.#api.create(REPLICASETS, ns, {
          metadata: {
            name: `${m.name}-${hash}`,
            labels: tm.labels,
            annotations: {
              "deployment.kubernetes.io/revision": String(revision),
              "deployment.kubernetes.io/desired-replicas": String(replicas),
              "deployment.kubernetes.io/max-replicas": String(replicas + surge),
            },
            ownerReferences: [{
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: m.name,
              uid: m.uid,
              controller: true,
              blockOwnerDeletion: true,
            }],
          },
          spec: {
            replicas: 0,
            minReadySeconds: spec.minReadySeconds ?? 0,
            selector,
            template: tmpl,
          },
        }, MANAGER);
        created = true;
      }
      const rs = newRS as KObject;
      const status = (rs: KObject) => (rs.status ?? {}) as JsonMap;
      if (strategy.type === "Recreate") {
        for (const o of old) this.#scale(o, 0, d);
        const oldPods = old.reduce((n, o) => n + num(status(o).replicas), 0);
        if (oldPods === 0) this.#scale(rs, replicas, d);
      } else {
        const newReplicas = num((rs.spec as JsonMap).replicas);
        if (newReplicas > replicas) this.#scale(rs, replicas, d);
        else if (newReplicas < replicas) {
          const total = all.concat(created ? [rs] : []).reduce(
            (n, o) => n + num((o.spec as JsonMap).replicas),
            0,
          );
          const room = replicas + surge - total;
          if (room > 0) this.#scale(rs, newReplicas + Math.min(room, replicas - newReplicas), d);
        }
        const everything = [rs, ...old];
        const allPods = everything.reduce((n, o) => n + num((o.spec as JsonMap).replicas), 0);
        const minAvailable = replicas - unavailable;
        const newUnavailable = num((rs.spec as JsonMap).replicas) -
          num(status(rs).availableReplicas);
        let cleanup = allPods - minAvailable - newUnavailable;
        for (const o of old) {
          if (cleanup <= 0) break;
          const unhealthy = num((o.spec as JsonMap).replicas) - num(status(o).availableReplicas);
          const n = Math.min(unhealthy, cleanup);
          if (n > 0) {
            this.#scale(o, num((o.spec as JsonMap).replicas) - n, d);
            cleanup -= n;
          }
        }
        const available = everything.reduce(
          (n, o) =>
            n + Math.min(num(status(o).availableReplicas), num((o.spec as JsonMap).replicas)),
          0,
        );
        let down = available - minAvailable;
        for (const o of old) {
          if (down <= 0) break;
          const n = Math.min(num((o.spec as JsonMap).replicas), down);
          if (n > 0) {
            this.#scale(o, num((o.spec as JsonMap).replicas) - n, d);
            down -= n;
          }
        }
      }
      this.#cleanupHistory(d, old, num(spec.revisionHistoryLimit ?? 10));
    }
    const revision = newRS
      ? (meta(newRS).annotations as JsonMap | undefined)?.["deployment.kubernetes.io/revision"]
      : undefined;
    const annotations = (m.annotations ?? {}) as JsonMap;
    if (
      typeof revision === "string" && annotations["deployment.kubernetes.io/revision"] !== revision
    ) {
      const next = structuredClone(d);
      meta(next).annotations = { ...annotations, "deployment.kubernetes.io/revision": revision };
      d = this.#api.update(DEPLOYMENTS, ns, String(m.name), next, MANAGER);
    }
    this.#updateStatus(d, newRS, old, { replicas, unavailable, created });
  }

  #cleanupHistory(d: KObject, old: KObject[], limit: number): void {
    const idle = old.filter((o) =>
      num((o.spec as JsonMap).replicas) === 0 && num(((o.status ?? {}) as JsonMap).replicas) === 0
    );
    const excess = idle.length - limit;
    if (excess <= 0) return;
    idle.sort((a, b) =>
      String(meta(a).creationTimestamp).localeCompare(String(meta(b).creationTimestamp))
    );
    for (const o of idle.slice(0, excess)) {
      this.#api.delete(REPLICASETS, String(meta(d).namespace), String(meta(o).name));
    }
  }

  #updateStatus(
    d: KObject,
    newRS: KObject | undefined,
    old: KObject[],
    info: { replicas: number; unavailable: number; created: boolean },
  ): void {
    const m = meta(d);
    const prev = (d.status ?? {}) as JsonMap;
    const everything = newRS ? [newRS, ...old] : old;
    const st = (o: KObject) => (o.status ?? {}) as JsonMap;
    const next: JsonMap = structuredClone(prev);
    next.observedGeneration = m.generation;
    next.replicas = everything.reduce((n, o) => n + num(st(o).replicas), 0);
    next.updatedReplicas = newRS ? num(st(newRS).replicas) : 0;
    next.readyReplicas = everything.reduce((n, o) => n + num(st(o).readyReplicas), 0);
    next.availableReplicas = everything.reduce((n, o) => n + num(st(o).availableReplicas), 0);
    const specTotal = everything.reduce((n, o) => n + num((o.spec as JsonMap).replicas), 0);
    next.unavailableReplicas = Math.max(0, specTotal - num(next.availableReplicas));
    for (
      const k of ["readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas"]
    ) {
      if (next[k] === 0) delete next[k];
    }
    if (next.replicas === 0) delete next.replicas;
    const available = num(next.availableReplicas) >= info.replicas - info.unavailable;
    const now = this.#api.now();
    setCondition(
      next,
      available
        ? {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        }
        : {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        },
      false,
      now,
    );
    this.#progressing(d, next, prev, {
      ...info,
      now,
      rsName: newRS ? String(meta(newRS).name) : "",
    });
    if (JSON.stringify(next) === JSON.stringify(prev)) return;
    const updated = structuredClone(d);
    updated.status = next;
    this.#api.update(DEPLOYMENTS, String(m.namespace), String(m.name), updated, {
      ...MANAGER,
      subresource: "status",
    });
  }

  /** The Progressing condition, and the progress deadline (reported to the loop). */
  #progressing(
    d: KObject,
    next: JsonMap,
    prev: JsonMap,
    info: { replicas: number; created: boolean; now: string; rsName: string },
  ): void {
    const m = meta(d);
    const uid = String(m.uid);
    const { now, rsName } = info;
    const complete = num(next.updatedReplicas) === info.replicas &&
      num(next.availableReplicas) === info.replicas &&
      num(next.replicas) === info.replicas;
    const progressed = info.created ||
      num(next.updatedReplicas) > num(prev.updatedReplicas) ||
      num(next.readyReplicas) > num(prev.readyReplicas) ||
      num(next.availableReplicas) > num(prev.availableReplicas) ||
      num(next.replicas) < num(prev.replicas);
    const current = condition(next, "Progressing");
    const spec = d.spec as JsonMap;
    const deadline = num(spec.progressDeadlineSeconds ?? 600) * 1000;
    if (spec.paused === true) {
      setCondition(
        next,
        {
          type: "Progressing",
          status: "Unknown",
          reason: "DeploymentPaused",
          message: "Deployment is paused",
        },
        false,
        now,
      );
    } else if (complete) {
      setCondition(
        next,
        {
          type: "Progressing",
          status: "True",
          reason: "NewReplicaSetAvailable",
          message: `ReplicaSet "${rsName}" has successfully progressed.`,
        },
        false,
        now,
      );
    } else if (progressed || !current) {
      this.#progressAt.set(uid, this.#clock.now());
      setCondition(
        next,
        info.created
          ? {
            type: "Progressing",
            status: "True",
            reason: "NewReplicaSetCreated",
            message: `Created new replica set "${rsName}"`,
          }
          : {
            type: "Progressing",
            status: "True",
            reason: "ReplicaSetUpdated",
            message: `ReplicaSet "${rsName}" is progressing.`,
          },
        true,
        now,
      );
      this.#deadlines.in(deadline + 1);
    } else if (
      current.reason !== "ProgressDeadlineExceeded" && current.reason !== "NewReplicaSetAvailable"
    ) {
      // Like kubectl's deploymentutil.DeploymentTimedOut; the precise time of the last
      // progress is kept in memory (conditions hold whole seconds, too coarse at high scales).
      const last = this.#progressAt.get(uid) ?? String(current.lastUpdateTime);
      const elapsed = sinceKube(this.#clock, last);
      if (elapsed > deadline) {
        setCondition(
          next,
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: `ReplicaSet "${rsName}" has timed out progressing.`,
          },
          true,
          now,
        );
        this.#events.record(d, {
          type: "Warning",
          reason: "ProgressDeadlineExceeded",
          message: `Deployment ${m.name} has timed out progressing.`,
          component: "deployment-controller",
        });
      } else this.#deadlines.in(deadline - elapsed + 1);
    }
  }
}
