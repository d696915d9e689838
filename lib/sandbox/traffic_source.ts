/**
 * The simulation's view of traffic: a {@linkcode SimTraffic} starts and stops it, is told
 * when the cluster changed, and answers the measurements endpoint. `httpTraffic` adapts the
 * real HTTP load generator (`traffic.ts`) and the answered requests (`measurements.ts`) to
 * it, for real and scaled clocks.
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { Api } from "./api.ts";
import { type Measurement, Measurements } from "./measurements.ts";
import { TrafficGenerator } from "./traffic.ts";

/**
 * What the measurements endpoint asks: `window` (a duration such as `60s`), a label
 * selector, and optionally `over` (target ms the samples span) and `samples` (how many).
 *
 * @example
 * ```ts
 * import type { MeasureQuery } from "./traffic_source.ts";
 * const q: MeasureQuery = { window: "60s", labelSelector: "slot=green" };
 * ```
 */
export interface MeasureQuery {
  /** The window, e.g. `60s`. */
  readonly window: string;
  /** Pods whose requests count. */
  readonly labelSelector?: string;
  /** Target ms the samples span (passed through to the traffic model). */
  readonly over?: number;
  /** How many samples (passed through to the traffic model). */
  readonly samples?: number;
}

/**
 * Traffic as the simulation drives it.
 *
 * @example
 * ```ts
 * import { noTraffic, type SimTraffic } from "./traffic_source.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const none: SimTraffic = noTraffic(virtualClock());
 * none.observe();
 * console.assert(none.measure("dev", { window: "60s" }).requests === 0);
 * ```
 */
export interface SimTraffic {
  /** Start sending (or drawing) requests. */
  start(): void;
  /** Stop, and wait for requests in flight. */
  stop(): Promise<void>;
  /** The cluster changed (pods, Services, routes): look again. */
  observe(): void;
  /** Statistics over a window for the pods a selector picks. */
  measure(namespace: string, query: MeasureQuery): Measurement;
  /** Requests sent (or drawn) so far. */
  readonly sent: number;
}

/** How often (ms of the clock's stamps) old answered requests are dropped at most. */
const PRUNE_EVERY_MS = 1_000;

/**
 * Real HTTP requests to Ready pods' servers, measured as they are answered (real and scaled
 * clocks). `record` is what the pods call for each answer.
 *
 * @param api The API (Services, routes and pods).
 * @param o The clock, Ready pods' ports, and the real request rate per namespace.
 * @returns The traffic, and the function pods report answered requests to.
 *
 * @example
 * ```ts ignore
 * import { httpTraffic } from "./traffic_source.ts";
 * const { traffic, record } = httpTraffic(api, { clock, ports: () => kubelet.ports(), realRate: 100 });
 * ```
 */
export function httpTraffic(
  api: Api,
  o: { clock: Clock; ports: () => Map<string, number>; realRate: number },
): {
  traffic: SimTraffic;
  record: (ns: string, labels: Record<string, string>, status: number, latencyMs: number) => void;
} {
  const clock = o.clock;
  const measurements = new Measurements(legacy(clock));
  const generator = new TrafficGenerator(api, { ports: o.ports, realRate: o.realRate });
  let nextPrune = 0;
  const prune = () => {
    const now = clock.now();
    if (now < nextPrune) return;
    nextPrune = now + PRUNE_EVERY_MS;
    measurements.prune(Math.max(600_000, 3_600_000 / clock.scale));
  };
  return {
    traffic: {
      start: () => generator.start(),
      stop: () => generator.stop(),
      observe: prune,
      measure(namespace, query) {
        prune();
        return measurements.measure(namespace, {
          window: query.window,
          ...(query.labelSelector ? { labelSelector: query.labelSelector } : {}),
        });
      },
      get sent() {
        return generator.sent;
      },
    },
    record: (ns, labels, status, latencyMs) =>
      measurements.record(ns, { at: clock.now(), status, latencyMs, labels }),
  };
}

/** The old clock shape `Measurements` accepts (stamps are the wall clock's). */
function legacy(clock: Clock) {
  return { timeScale: clock.scale, toRealMs: (ms: number) => ms / clock.scale };
}

/**
 * No traffic at all (a rate of 0, or a clock no traffic source runs on yet).
 *
 * @param clock The sandbox's clock.
 * @returns Traffic that sends nothing and measures no requests (a bad window is refused).
 *
 * @example
 * ```ts
 * import { noTraffic } from "./traffic_source.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * console.assert(noTraffic(virtualClock()).measure("dev", { window: "1m" }).errorRate === null);
 * ```
 */
export function noTraffic(clock: Clock): SimTraffic {
  const empty = new Measurements(legacy(clock));
  return {
    start() {},
    stop: () => Promise.resolve(),
    observe() {},
    measure: (namespace, query) => empty.measure(namespace, { window: query.window }),
    sent: 0,
  };
}
