/**
 * Simulated traffic: the {@linkcode TrafficSource} interface both kinds share, the
 * routing both follow ({@linkcode entryPoints}: HTTPRoute rules split by backend weight,
 * and Services no route refers to; {@linkcode readyPods}), and the
 * {@linkcode TrafficGenerator}, which sends real HTTP requests to the pods on a real or
 * scaled clock and measures what they answer. On a virtual clock the traffic is drawn
 * instead (`traffic_model.ts`).
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { podReady } from "./replicasets.ts";
import { type Measurement, Measurements } from "./measurements.ts";
import { type Clock, realClock } from "../clock/mod.ts";

type JsonMap = Record<string, unknown>;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const PODS = findResource("", "v1", "pods") as ResourceType;
const ROUTES = findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType;
const TICK_MS = 50;
const MAX_IN_FLIGHT = 400;
/** Real requests per second every weighted backend gets at least. */
export const MIN_BACKEND_RATE = 20;

/**
 * What a measurement asks for.
 *
 * @example
 * ```ts
 * import type { MeasureQuery } from "./traffic.ts";
 * const q: MeasureQuery = { labelSelector: "slot=green", window: "60s", over: 1000, samples: 200 };
 * ```
 */
export interface MeasureQuery {
  /** Pods whose requests count (a Kubernetes label selector; omitted: all). */
  labelSelector?: string;
  /** How far back, in sandbox time, e.g. `"60s"`. */
  window: string;
  /** A latency threshold, ms: the answer's `over` counts the requests slower than it. */
  over?: number;
  /** The most latencies the answer's `latencies` may hold (for a rank test). */
  samples?: number;
}

/**
 * Where a sandbox's traffic comes from and how it is measured: real requests
 * ({@linkcode TrafficGenerator}) or drawn ones (`TrafficModel`).
 *
 * @example
 * ```ts
 * import type { TrafficSource } from "./traffic.ts";
 * function total(source: TrafficSource): number {
 *   source.observe();
 *   return source.measure("shop-prod", { window: "60s" }).requests;
 * }
 * ```
 */
export interface TrafficSource {
  /** Start sending (or drawing). */
  start(): void;
  /** Stop, and wait for what is in flight. */
  stop(): Promise<void>;
  /** The cluster may have changed (called after a controller pass): follow its routing. */
  observe(): void;
  /**
   * Counts and statistics of a namespace's requests over a window.
   * @throws {RangeError} For a bad window, selector, `over` or `samples`.
   */
  measure(namespace: string, q: MeasureQuery): Measurement;
  /** Requests sent (or drawn) so far. */
  readonly sent: number;
}

/**
 * One traffic entry point: an HTTPRoute rule split over weighted backend Services, or a
 * Service no route refers to.
 *
 * @example
 * ```ts
 * import type { EntryPoint } from "./traffic.ts";
 * const e: EntryPoint = { name: "api", kind: "route", backends: [{ service: "api-blue", weight: 95 }] };
 * ```
 */
export interface EntryPoint {
  /** The HTTPRoute's or the Service's name. */
  name: string;
  /** Which of the two it is. */
  kind: "route" | "service";
  /** The Services it sends to, and their weights. */
  backends: { service: string; weight: number }[];
}

/**
 * A namespace's entry points: each HTTPRoute rule with Service backends, then each Service
 * with a selector that no route refers to (LoadBalancer Services are left out).
 *
 * @param api The API (its store is read).
 * @param namespace The namespace.
 * @returns The entry points, routes first, in store order.
 *
 * @example
 * ```ts ignore
 * import { entryPoints } from "./traffic.ts";
 * for (const e of entryPoints(api, "shop-prod")) console.log(e.name, e.backends);
 * ```
 */
export function entryPoints(api: Pick<Api, "store">, namespace: string): EntryPoint[] {
  const routed = new Set<string>();
  const entries: EntryPoint[] = [];
  for (const route of api.store.scan(ROUTES, namespace)) {
    for (const rule of (((route.spec ?? {}) as JsonMap).rules ?? []) as JsonMap[]) {
      const backends = ((rule.backendRefs ?? []) as JsonMap[])
        .filter((b) => (b.kind ?? "Service") === "Service")
        .map((b) => ({
          service: String(b.name),
          weight: typeof b.weight === "number" ? b.weight : 1,
        }));
      for (const b of backends) routed.add(b.service);
      if (backends.length) {
        entries.push({ name: String(meta(route).name), kind: "route", backends });
      }
    }
  }
  for (const svc of api.store.scan(SERVICES, namespace)) {
    const spec = (svc.spec ?? {}) as JsonMap;
    const name = String(meta(svc).name);
    if (routed.has(name) || spec.type === "LoadBalancer" || !spec.selector) continue;
    entries.push({ name, kind: "service", backends: [{ service: name, weight: 1 }] });
  }
  return entries;
}

/**
 * A Service's selector, or undefined when it has none (or does not exist).
 *
 * @example
 * ```ts ignore
 * import { serviceSelector } from "./traffic.ts";
 * console.log(serviceSelector(api, "shop-prod", "api-blue")); // { app: "shop", slot: "blue" }
 * ```
 */
export function serviceSelector(
  api: Pick<Api, "store">,
  namespace: string,
  service: string,
): Record<string, string> | undefined {
  const svc = api.store.peek(SERVICES, namespace, service);
  return ((svc?.spec ?? {}) as JsonMap).selector as Record<string, string> | undefined;
}

/**
 * The Ready pods behind a Service (its selector matches their labels).
 *
 * @example
 * ```ts ignore
 * import { readyPods } from "./traffic.ts";
 * console.log(readyPods(api, "shop-prod", "api-blue").length);
 * ```
 */
export function readyPods(api: Pick<Api, "store">, namespace: string, service: string): KObject[] {
  const selector = serviceSelector(api, namespace, service);
  if (!selector) return [];
  return api.store.scan(PODS, namespace).filter((p) =>
    podReady(p) &&
    matchesSelectorObject({ matchLabels: selector }, meta(p).labels as Record<string, string>)
  );
}

type Plan = { backends: { service: string; weight: number; ports: number[] }[] }[];

/** Options of the {@linkcode TrafficGenerator}. */
export interface TrafficGeneratorOptions {
  /** Each Ready pod's loopback port, by uid. */
  ports: () => Map<string, number>;
  /** Real requests per second per namespace. */
  realRate: number;
  /** Real requests per second each weighted backend gets at least (default 20). */
  minBackendRate?: number;
  /** The clock its ticks run on (default real time); it must not be virtual. */
  clock?: Clock;
  /** Where pods' answers are recorded (default: a new one on `clock`). */
  measurements?: Measurements;
}

/**
 * The load generator: a steady rate of real HTTP requests per namespace, spread evenly over
 * the entry points (HTTPRoute rules, and Services no route refers to); a rule's share is
 * split by backendRef weight, with a floor per backend (`minBackendRate`); each request goes
 * to a Ready pod behind the chosen Service, round robin. The pods' answers are recorded in
 * {@linkcode TrafficGenerator.measurements} (the kubelet's request hook records them).
 */
export class TrafficGenerator implements TrafficSource {
  /** The recorded answers `measure()` reads. */
  readonly measurements: Measurements;
  #api: Api;
  #clock: Clock;
  #ports: () => Map<string, number>;
  #realRate: number;
  #minBackendRate: number;
  #cancel: (() => void) | undefined;
  #due = new Map<string, number>();
  #inFlight = new Set<Promise<void>>();
  #roundRobin = 0;
  #planKey = "";
  #planCache = new Map<string, Plan>();
  #last = 0;
  /** Requests sent so far. */
  sent = 0;

  /**
   * @param api The API (to read Services, HTTPRoutes and pods).
   * @param options Ports, real rate, floor, clock and where answers are recorded.
   */
  constructor(api: Api, options: TrafficGeneratorOptions) {
    this.#api = api;
    this.#clock = options.clock ?? realClock;
    this.#ports = options.ports;
    this.#realRate = options.realRate;
    this.#minBackendRate = options.realRate > 0 ? options.minBackendRate ?? MIN_BACKEND_RATE : 0;
    this.measurements = options.measurements ?? new Measurements(this.#clock);
  }

  /** Start sending (a virtual clock cannot be followed by real requests: use the model). */
  start(): void {
    if (this.#clock.kind === "virtual") {
      throw new TypeError(
        "Cannot send real traffic on a virtual clock: use the TrafficModel (drawn traffic)",
      );
    }
    if (this.#realRate <= 0 || this.#cancel) return;
    this.#last = this.#clock.now();
    const arm = () => {
      this.#cancel = this.#clock.schedule(TICK_MS * this.#clock.scale, () => {
        this.#tick();
        if (this.#cancel) arm();
      });
    };
    arm();
  }

  /** Stop sending and wait for requests in flight. */
  async stop(): Promise<void> {
    const cancel = this.#cancel;
    this.#cancel = undefined;
    cancel?.();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Nothing to do: each tick reads the routing afresh. */
  observe(): void {}

  /** The recorded answers over a window (see {@linkcode Measurements.measure}). */
  measure(namespace: string, q: MeasureQuery): Measurement {
    return this.measurements.measure(namespace, q);
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
    const portsOf = (ns: string, service: string) =>
      readyPods(this.#api, ns, service).map((p) => ports.get(String(meta(p).uid)) ?? 0)
        .filter((port) => port > 0);
    for (const ns of namespaces) {
      plans.set(
        ns,
        entryPoints(this.#api, ns).map((e) => ({
          backends: e.backends
            .map((b) => ({ ...b, ports: portsOf(ns, b.service) }))
            .filter((b) => b.ports.length > 0 && b.weight > 0),
        })).filter((e) => e.backends.length > 0),
      );
    }
    this.#planKey = key;
    this.#planCache = plans;
    return plans;
  }

  #tick(): void {
    const now = this.#clock.now();
    const dt = Math.min(this.#clock.since(this.#last) / this.#clock.scale / 1000, 1);
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
    const request = this.#clock.track(
      "a simulated request",
      fetch(`http://127.0.0.1:${port}/api/work`).then((r) => r.body?.cancel()),
    ).catch(() => {}).finally(() => this.#inFlight.delete(request));
    this.#inFlight.add(request);
  }
}

/** Objects re-exported for typing convenience. */
export type { KObject };
