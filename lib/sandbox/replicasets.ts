/**
 * The ReplicaSet controller: creates and deletes pods from the template to reach the desired
 * replicas (in batches, with backoff on failure) and reports ready and available counts.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import type { Clock } from "../clock/mod.ts";
import { sinceKube, targetNow } from "./clock.ts";
import type { EventRecorder } from "./events.ts";
import { type ControllerDeps, Deadlines } from "./deadlines.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { Backoff, guardedReconcile, type ReconcileFailure, reportFailure } from "./backoff.ts";
import { SANDBOX_LIMITS } from "./limits.ts";

type JsonMap = Record<string, unknown>;
const REPLICASETS = findResource("apps", "v1", "replicasets") as ResourceType;
const PODS = findResource("", "v1", "pods") as ResourceType;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const ENDPOINTS = findResource("", "v1", "endpoints") as ResourceType;
const SLICES = findResource("discovery.k8s.io", "v1", "endpointslices") as ResourceType;
const MANAGER = { manager: "kube-controller-manager" };

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

/** Whether a pod is Ready (its Ready condition is True). */
export function podReady(pod: KObject): boolean {
  const conditions = (((pod.status ?? {}) as JsonMap).conditions ?? []) as JsonMap[];
  return conditions.some((c) => c.type === "Ready" && c.status === "True");
}

/** Whether a pod has finished (Succeeded or Failed). */
export function podFinished(pod: KObject): boolean {
  const phase = ((pod.status ?? {}) as JsonMap).phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Pods whose controller owner has `uid`. */
export function ownedPods(api: Api, namespace: string, uid: unknown): KObject[] {
  return api.store.scan(PODS, namespace).filter((p) =>
    ((meta(p).ownerReferences ?? []) as JsonMap[]).some((r) => r.uid === uid)
  );
}

/** A pod name `<prefix>-<5 random characters>` not taken yet (a few tries, as generateName). */
function freshPodName(api: Api, namespace: string, prefix: string): string {
  let name = `${prefix}-${api.suffix(5)}`;
  for (let i = 0; i < 8 && api.store.peek(PODS, namespace, name); i++) {
    name = `${prefix}-${api.suffix(5)}`;
  }
  return name;
}

/** Create a pod from a template, owned by `owner`. */
export function createPodFromTemplate(
  api: Api,
  owner: KObject,
  options: { template: JsonMap; namePrefix: string; extraLabels?: Record<string, string> },
): KObject {
  const m = meta(owner);
  const tm = (options.template.metadata ?? {}) as JsonMap;
  return api.create(PODS, String(m.namespace), {
    metadata: {
      name: freshPodName(api, String(m.namespace), options.namePrefix),
      labels: { ...(tm.labels as JsonMap ?? {}), ...(options.extraLabels ?? {}) },
      ...(tm.annotations ? { annotations: tm.annotations } : {}),
      ownerReferences: [{
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        name: m.name,
        uid: m.uid,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: structuredClone(options.template.spec ?? {}),
  }, MANAGER);
}

/**
 * The ReplicaSet controller and the Endpoints controller.
 *
 * Work per reconcile is bounded: a ReplicaSet creates or deletes at most
 * `SANDBOX_LIMITS.createsPerSync` pods per pass, and no pod past `SANDBOX_LIMITS.pods`. An
 * object whose reconcile fails gets a Warning Event (`FailedCreate`, `FailedDelete`,
 * `FailedSync`) and is backed off (0.2 s, doubling up to 10 s), never retried in a tight loop.
 */
export class ReplicaSetController {
  #api: Api;
  #clock: Clock;
  #events: EventRecorder;
  #deadlines: Deadlines;
  #backoff: Backoff;
  #report: Parameters<typeof reportFailure>[0];
  #pods = 0;

  /**
   * @param api The API.
   * @param deps Clock, event recorder, where a failure's first line goes (default stderr), and
   *   where the next back-off end or `minReadySeconds` moment is reported.
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
      component: "replicaset-controller",
    };
  }

  /** Reconcile every ReplicaSet and every Service's Endpoints once. */
  reconcile(): void {
    this.#pods = this.#api.store.scan(PODS).length;
    const seen = new Set<string>();
    for (const rs of this.#api.store.scan(REPLICASETS)) {
      seen.add(`rs|${meta(rs).uid}`);
      this.#guarded(rs, `rs|${meta(rs).uid}`, "FailedSync", () => this.#sync(rs));
    }
    for (const svc of this.#api.store.scan(SERVICES)) {
      seen.add(`svc|${meta(svc).uid}`);
      this.#guarded(svc, `svc|${meta(svc).uid}`, "FailedToUpdateEndpoint", () => {
        this.#endpoints(svc);
        return undefined;
      });
    }
    this.#backoff.retain(seen);
    const retry = this.#backoff.nextIn();
    if (retry !== undefined) this.#deadlines.in(retry);
    for (const ep of this.#api.store.scan(ENDPOINTS)) {
      const m = meta(ep);
      if (!this.#api.store.peek(SERVICES, String(m.namespace), String(m.name))) {
        this.#api.store.remove(ENDPOINTS, String(m.namespace), String(m.name));
      }
    }
  }

  #guarded(obj: KObject, key: string, reason: string, work: () => ReconcileFailure | undefined) {
    guardedReconcile(this.#backoff, key, reason, work, reportFailure(this.#report, obj));
  }

  /** One ReplicaSet: create or delete (a bounded number of) pods, then update its status. */
  #sync(rs: KObject): ReconcileFailure | undefined {
    const m = meta(rs);
    const ns = String(m.namespace);
    const spec = rs.spec as JsonMap;
    const want = Math.min(num(spec.replicas), SANDBOX_LIMITS.replicas);
    const pods = ownedPods(this.#api, ns, m.uid).filter((p) => !podFinished(p));
    let failure: ReconcileFailure | undefined;
    if (pods.length < want) {
      const n = Math.min(want - pods.length, SANDBOX_LIMITS.createsPerSync);
      for (let i = 0; i < n; i++) {
        if (this.#pods >= SANDBOX_LIMITS.pods) {
          failure = {
            reason: "FailedCreate",
            message: `Error creating: the sandbox holds at most ${SANDBOX_LIMITS.pods} pods`,
          };
          break;
        }
        let pod: KObject;
        try {
          pod = createPodFromTemplate(this.#api, rs, {
            template: spec.template as JsonMap,
            namePrefix: String(m.name),
          });
        } catch (error) {
          failure = {
            reason: "FailedCreate",
            message: `Error creating: ${(error as Error).message}`,
          };
          break;
        }
        this.#pods++;
        pods.push(pod);
        this.#events.record(rs, {
          reason: "SuccessfulCreate",
          message: `Created pod: ${meta(pod).name}`,
          component: "replicaset-controller",
        });
      }
    } else if (pods.length > want) {
      const rank = (
        p: KObject,
      ) => (podReady(p) ? 2 : ((p.status ?? {}) as JsonMap).phase === "Running" ? 1 : 0);
      const victims = [...pods].sort((a, b) =>
        rank(a) - rank(b) ||
        String(meta(b).creationTimestamp).localeCompare(String(meta(a).creationTimestamp))
      ).slice(0, Math.min(pods.length - want, SANDBOX_LIMITS.createsPerSync));
      for (const v of victims) {
        try {
          this.#api.delete(PODS, ns, String(meta(v).name));
        } catch (error) {
          failure = {
            reason: "FailedDelete",
            message: `Error deleting: ${(error as Error).message}`,
          };
          break;
        }
        this.#pods--;
        pods.splice(pods.indexOf(v), 1);
        this.#events.record(rs, {
          reason: "SuccessfulDelete",
          message: `Deleted pod: ${meta(v).name}`,
          component: "replicaset-controller",
        });
      }
    }
    const minReadyMs = num(spec.minReadySeconds) * 1000;
    const ready = pods.filter(podReady);
    const available = ready.filter((p) => {
      if (minReadyMs === 0) return true;
      const cond = ((((p.status ?? {}) as JsonMap).conditions ?? []) as JsonMap[]).find((c) =>
        c.type === "Ready"
      );
      const readyFor = sinceKube(this.#clock, String(cond?.lastTransitionTime ?? ""));
      if (readyFor >= minReadyMs) return true;
      this.#deadlines.in(minReadyMs - readyFor);
      return false;
    });
    const prev = (rs.status ?? {}) as JsonMap;
    const next: JsonMap = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready.length,
      availableReplicas: available.length,
      observedGeneration: m.generation,
    };
    for (const k of ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"]) {
      if (next[k] === 0) delete next[k];
    }
    if (JSON.stringify(next) === JSON.stringify(prev)) return failure;
    const updated = structuredClone(rs);
    updated.status = next;
    try {
      this.#api.update(REPLICASETS, ns, String(m.name), updated, {
        ...MANAGER,
        subresource: "status",
      });
    } catch (error) {
      // A failed create explains more than the status update that failed after it.
      if (!failure) throw error;
    }
    return failure;
  }

  #slice(svc: KObject, pods: KObject[], ports: JsonMap[]): void {
    const m = meta(svc);
    const ns = String(m.namespace);
    const name = `${m.name}-${String(m.uid).slice(0, 5)}`;
    const endpoints = pods.map((p) => ({
      addresses: [((p.status ?? {}) as JsonMap).podIP],
      conditions: { ready: podReady(p), serving: podReady(p), terminating: false },
      nodeName: (p.spec as JsonMap).nodeName,
      targetRef: { kind: "Pod", namespace: ns, name: meta(p).name, uid: meta(p).uid },
    }));
    const body = {
      metadata: {
        name,
        labels: {
          "kubernetes.io/service-name": String(m.name),
          "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        },
        ownerReferences: [{
          apiVersion: "v1",
          kind: "Service",
          name: m.name,
          uid: m.uid,
          controller: true,
          blockOwnerDeletion: true,
        }],
      },
      addressType: "IPv4",
      endpoints,
      ports,
    };
    const existing = this.#api.store.peek(SLICES, ns, name);
    if (!existing) {
      this.#api.create(SLICES, ns, body, MANAGER);
      return;
    }
    if (
      JSON.stringify(existing.endpoints ?? []) === JSON.stringify(endpoints) &&
      JSON.stringify(existing.ports ?? []) === JSON.stringify(ports)
    ) return;
    const next = structuredClone(existing);
    next.endpoints = endpoints;
    next.ports = ports;
    this.#api.update(SLICES, ns, name, next, MANAGER);
  }

  #endpoints(svc: KObject): void {
    const m = meta(svc);
    const ns = String(m.namespace);
    const spec = (svc.spec ?? {}) as JsonMap;
    const selector = spec.selector as Record<string, string> | undefined;
    if (!selector || Object.keys(selector).length === 0) return;
    const pods = this.#api.store.scan(PODS, ns).filter((p) =>
      matchesSelectorObject({ matchLabels: selector }, meta(p).labels as Record<string, string>) &&
      !podFinished(p) &&
      ((p.status ?? {}) as JsonMap).podIP
    );
    const address = (p: KObject) => ({
      ip: ((p.status ?? {}) as JsonMap).podIP,
      nodeName: (p.spec as JsonMap).nodeName,
      targetRef: { kind: "Pod", namespace: ns, name: meta(p).name, uid: meta(p).uid },
    });
    const ready = pods.filter(podReady).map(address);
    const notReady = pods.filter((p) => !podReady(p)).map(address);
    const ports = ((spec.ports ?? []) as JsonMap[]).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: typeof p.targetPort === "number" ? p.targetPort : p.port,
      protocol: p.protocol ?? "TCP",
    }));
    const subsets = ready.length || notReady.length
      ? [{
        ...(ready.length ? { addresses: ready } : {}),
        ...(notReady.length ? { notReadyAddresses: notReady } : {}),
        ports,
      }]
      : [];
    this.#slice(svc, pods, ports.map((p) => ({ name: "", ...p })));
    const existing = this.#api.store.peek(ENDPOINTS, ns, String(m.name));
    if (existing) {
      if (JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)) return;
      const next = structuredClone(existing);
      next.subsets = subsets;
      this.#api.update(ENDPOINTS, ns, String(m.name), next, MANAGER);
    } else {
      this.#api.create(ENDPOINTS, ns, {
        metadata: { name: m.name, labels: m.labels ?? {} },
        subsets,
      }, MANAGER);
    }
  }
}
