/**
 * `Measurements`: the requests pods really answered, kept per namespace, and their counts,
 * error rate, p95 latency, requests over a threshold and a sample of latencies over a
 * window of sandbox time (what the measurements endpoint answers on a real or scaled
 * clock; on a virtual clock the traffic model answers the same {@linkcode Measurement}).
 * @module
 */
import { matchesLabels, parseLabelSelector } from "./selectors.ts";
import type { SandboxClock } from "./clock.ts";
import { type Clock, realClock } from "../clock/mod.ts";
import { latencySummary } from "./traffic_stats.ts";

/** One request a simulated pod really answered. */
export interface RequestRecord {
  /** When the answer was sent: a stamp of the sandbox's clock (`clock.now()`). */
  at: number;
  /** HTTP status code. */
  status: number;
  /** Unscaled (production-like) latency in ms. */
  latencyMs: number;
  /** The answering pod's labels (plus `pod`). */
  labels: Record<string, string>;
}

/**
 * What the measurements endpoint answers: counts and statistics of a window.
 *
 * @example
 * ```ts
 * import type { Measurement } from "./measurements.ts";
 * const m: Measurement = {
 *   requests: 0, errors: 0, errorRate: null, p95Ms: null, window: "60s",
 *   windowMs: 60_000, from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T00:01:00.000Z",
 * };
 * ```
 */
export interface Measurement {
  /** Requests in the window. */
  requests: number;
  /** Requests answered with 5xx. */
  errors: number;
  /** errors / requests, or null when there were no requests. */
  errorRate: number | null;
  /** 95th percentile latency in ms, or null when there were no requests. */
  p95Ms: number | null;
  /** The window, as asked (sandbox time). */
  window: string;
  /** The span measured, target ms (`to - from` in sandbox time; at most the window asked). */
  windowMs: number;
  /** Start of the span measured (ISO, the sandbox clock's time). */
  from: string;
  /** End of the span measured (ISO). */
  to: string;
  /** Requests slower than the query's `over` ms (only when asked). */
  over?: number;
  /** At most the query's `samples` latencies (ms) of the window, a deterministic subset. */
  latencies?: number[];
}

const MAX_RECORDS = 500_000;

/**
 * Parse a duration such as `60s`, `5m`, `1h`, `1500ms` into milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./measurements.ts";
 * console.assert(parseDuration("5m") === 300_000);
 * ```
 */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)$/);
  if (!m) {
    throw new RangeError(
      `Cannot parse duration "${text}": expected a number and a unit (ms, s, m, h)`,
    );
  }
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"];
  return n * unit;
}

/**
 * Checks a query's `over` and `samples`; throws a RangeError naming the field.
 *
 * @param q The query's optional fields.
 *
 * @example
 * ```ts
 * import { checkMeasureQuery } from "./measurements.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkMeasureQuery({ samples: -1 }), /samples/);
 * ```
 */
export function checkMeasureQuery(
  q: { over?: number | undefined; samples?: number | undefined },
): void {
  if (q.over !== undefined && !(q.over >= 0 && Number.isFinite(q.over))) {
    throw new RangeError(`Cannot measure: over=${q.over} is not a latency in ms (a number >= 0)`);
  }
  if (q.samples !== undefined && !(Number.isInteger(q.samples) && q.samples >= 0)) {
    throw new RangeError(`Cannot measure: samples=${q.samples} is not an integer >= 0`);
  }
}

/** The requests pods answered, per namespace, and windowed statistics over them. */
export class Measurements {
  #records = new Map<string, RequestRecord[]>();
  #clock: Clock | undefined;
  #legacy: SandboxClock | undefined;

  /**
   * @param clock The sandbox's clock (windows are its target time). A legacy
   * `SandboxClock` still works: record stamps are then real time.
   */
  constructor(clock: Clock | SandboxClock) {
    if ("toRealMs" in clock) this.#legacy = clock;
    else this.#clock = clock;
  }

  /** Record one answered request. */
  record(namespace: string, record: RequestRecord): void {
    let list = this.#records.get(namespace);
    if (!list) this.#records.set(namespace, list = []);
    list.push(record);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS / 2);
  }

  /** How many records are kept (all namespaces). */
  get size(): number {
    let n = 0;
    for (const list of this.#records.values()) n += list.length;
    return n;
  }

  #now(): number {
    return (this.#clock ?? realClock).now();
  }

  /** Stamp units (clock ms) of a target-time span. */
  #span(targetMs: number): number {
    if (this.#legacy) return this.#legacy.toRealMs(targetMs);
    const clock = this.#clock as Clock;
    return clock.kind === "virtual" ? targetMs : targetMs / clock.scale;
  }

  /** Drop records stamped more than `ms` clock milliseconds ago (real ms on a wall clock). */
  prune(ms: number): void {
    const cutoff = this.#now() - ms;
    for (const [ns, list] of this.#records) {
      const i = list.findIndex((r) => r.at >= cutoff);
      if (i < 0) this.#records.set(ns, []);
      else if (i > 0) list.splice(0, i);
    }
  }

  /**
   * Statistics over a sandbox-time window for pods matching a label selector: counts, error
   * rate, p95, and (when asked) requests slower than `over` ms and up to `samples` latencies.
   */
  measure(
    namespace: string,
    options: { labelSelector?: string; window: string; over?: number; samples?: number },
  ): Measurement {
    const windowMs = parseDuration(options.window);
    checkMeasureQuery(options);
    const now = this.#now();
    const since = now - this.#span(windowMs);
    const selector = options.labelSelector ? parseLabelSelector(options.labelSelector) : [];
    const list = this.#records.get(namespace) ?? [];
    const latencies: number[] = [];
    let errors = 0;
    let first = list.length;
    while (first > 0 && (list[first - 1] as RequestRecord).at >= since) first--;
    for (let i = first; i < list.length; i++) {
      const r = list[i] as RequestRecord;
      if (!matchesLabels(selector, r.labels)) continue;
      latencies.push(r.latencyMs);
      if (r.status >= 500) errors++;
    }
    const requests = latencies.length;
    const summary = latencySummary({ values: latencies }, options);
    return {
      requests,
      errors,
      errorRate: requests ? errors / requests : null,
      p95Ms: summary.p95Ms,
      window: options.window,
      windowMs,
      from: new Date(since).toISOString(),
      to: new Date(now).toISOString(),
      ...(summary.over !== undefined ? { over: summary.over } : {}),
      ...(summary.latencies !== undefined ? { latencies: summary.latencies } : {}),
    };
  }
}
