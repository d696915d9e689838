/**
 * `TrafficGenerator`: simulated traffic per namespace, spread over HTTPRoute backend weights
 * and plain Services to Ready pods, as real HTTP requests whose answers are measured.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { podReady } from "./replicasets.ts";

type JsonMap = Record<string, unknown>;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const PODS = findResource("", "v1", "pods") as ResourceType;
const ROUTES = findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType;
const TICK_MS = 50;
const MAX_IN_FLIGHT = 400;
/** Real requests per second every weighted backend gets at least. */
export const MIN_BACKEND_RATE = 20;

/** One traffic entry point: a Service, or an HTTPRoute rule split over weighted backends. */
interface Entry {
  backends: { service: string; weight: number }[];
}

type Plan = { backends: { service: string; weight: number; ports: number[] }[] }[];

/**
 * The load generator: a steady rate of real HTTP requests per namespace, spread evenly over
 * the entry points (HTTPRoute rules, and Services no route refers to); a rule's share is
 * split by backendRef weight, with a floor per backend (`minBackendRate`); each request goes
 * to a Ready pod behind the chosen Service, round robin.
 */
export class TrafficGenerator {
  #api: Api;
  #ports: () => Map<string, number>;
  #realRate: number;
  #minBackendRate: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #due = new Map<string, number>();
  #inFlight = new Set<Promise<void>>();
  #roundRobin = 0;
  #planKey = "";
  #planCache = new Map<string, Plan>();
  #last = Date.now();
  /** Requests sent so far. */
  sent = 0;

  /**
   * @param api The API (to read Services, HTTPRoutes and pods).
   * @param options `ports` gives each Ready pod's loopback port by uid; `realRate` is the
   * real requests per second per namespace.
   */
  constructor(
    api: Api,
    options: { ports: () => Map<string, number>; realRate: number; minBackendRate?: number },
  ) {
    this.#api = api;
    this.#ports = options.ports;
    this.#realRate = options.realRate;
    this.#minBackendRate = options.realRate > 0 ? options.minBackendRate ?? MIN_BACKEND_RATE : 0;
  }

  /** Start sending. */
  start(): void {
    if (this.#realRate <= 0) return;
    this.#last = Date.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stop sending and wait for requests in flight. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inFlight]);
  }

  #entries(namespace: string): Entry[] {
    const routed = new Set<string>();
    const entries: Entry[] = [];
    for (const route of this.#api.store.scan(ROUTES, namespace)) {
      for (const rule of (((route.spec ?? {}) as JsonMap).rules ?? []) as JsonMap[]) {
        const backends = ((rule.backendRefs ?? []) as JsonMap[])
          .filter((b) => (b.kind ?? "Service") === "Service")
          .map((b) => ({
            service: String(b.name),
            weight: typeof b.weight === "number" ? b.weight : 1,
          }));
        for (const b of backends) routed.add(b.service);
        if (backends.length) entries.push({ backends });
      }
    }
    for (const svc of this.#api.store.scan(SERVICES, namespace)) {
      const spec = (svc.spec ?? {}) as JsonMap;
      const name = String(meta(svc).name);
      if (routed.has(name) || spec.type === "LoadBalancer" || !spec.selector) continue;
      entries.push({ backends: [{ service: name, weight: 1 }] });
    }
    return entries;
  }

  #readyPods(namespace: string, service: string, ports: Map<string, number>): number[] {
    const svc = this.#api.store.peek(SERVICES, namespace, service);
    const selector = ((svc?.spec ?? {}) as JsonMap).selector as Record<string, string> | undefined;
    if (!selector) return [];
    const out: number[] = [];
    for (const p of this.#api.store.scan(PODS, namespace)) {
      if (!podReady(p)) continue;
      if (
        !matchesSelectorObject({ matchLabels: selector }, meta(p).labels as Record<string, string>)
      ) continue;
      const port = ports.get(String(meta(p).uid));
      if (port) out.push(port);
    }
    return out;
  }

  #plans(): Map<string, Plan> {
    const rv = this.#api.store.resourceVersion;
    const ports = this.#ports();
    const key = `${rv}/${ports.size}`;
    if (this.#planKey === key) return this.#planCache;
    const plans = new Map<string, Plan>();
    const namespaces = new Set(
      this.#api.store.scan(PODS).filter((p) => ports.has(String(meta(p).uid))).map((p) =>
        String(meta(p).namespace)
      ),
    );
    for (const ns of namespaces) {
      plans.set(
        ns,
        this.#entries(ns).map((e) => ({
          backends: e.backends
            .map((b) => ({ ...b, ports: this.#readyPods(ns, b.service, ports) }))
            .filter((b) => b.ports.length > 0 && b.weight > 0),
        })).filter((e) => e.backends.length > 0),
      );
    }
    this.#planKey = key;
    this.#planCache = plans;
    return plans;
  }

  #tick(): void {
    const now = Date.now();
    const dt = Math.min((now - this.#last) / 1000, 1);
    this.#last = now;
    for (const [ns, plan] of this.#plans()) {
      if (plan.length === 0) continue;
      const entryRate = this.#realRate / plan.length;
      plan.forEach((entry, e) => {
        const total = entry.backends.reduce((n, b) => n + b.weight, 0);
        for (const backend of entry.backends) {
          // A backend's share of its entry, but at least the floor, so that a 5% canary
          // still answers enough requests per window to measure its error rate and p95.
          const rate = Math.max((entryRate * backend.weight) / total, this.#minBackendRate);
          const key = `${ns}/${e}/${backend.service}`;
          const due = (this.#due.get(key) ?? 0) + rate * dt;
          const count = Math.floor(due);
          this.#due.set(key, due - count);
          for (let i = 0; i < count && this.#inFlight.size < MAX_IN_FLIGHT; i++) {
            const port = backend.ports[this.#roundRobin++ % backend.ports.length];
            this.#send(port ?? 0);
          }
        }
      });
    }
  }

  #send(port: number): void {
    this.sent++;
    const request = fetch(`http://127.0.0.1:${port}/api/work`)
      .then((r) => r.body?.cancel())
      .catch(() => {})
      .finally(() => this.#inFlight.delete(request));
    this.#inFlight.add(request);
  }
}

/** Objects re-exported for typing convenience. */
export type { KObject };
