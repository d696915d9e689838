/**
 * `Measurements`: the requests pods really answered, kept per namespace, and their counts,
 * error rate, p95 latency, requests over a threshold and a sample of latencies over a
 * window of sandbox time (what the measurements endpoint answers on a real or scaled
 * clock; on a virtual clock the traffic model answers the same {@linkcode Measurement}).
 * The drawn model keeps latencies as 16-bit codes on a log scale ({@linkcode latencyOfCode})
 * in a {@linkcode LatencyPool} and merges a window's in a {@linkcode CodeHistogram}.
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

/** Latency codes: `exp(LOG_MIN + (code + 0.5) * STEP)` ms, 1 µs up to 2.4e8 ms, 0.04% apart. */
const LOG_MIN = Math.log(0.001), STEP = 0.0004;
/** How many latency codes there are (they fit 16 bits). */
export const LATENCY_CODES = 65536;
let latencyTable: Float64Array | undefined;

/**
 * A latency code's latency, ms to 0.1 ms (what measurements answer).
 *
 * @example
 * ```ts
 * import { latencyCodes, latencyOfCode } from "./measurements.ts";
 * const { offset } = latencyCodes(Math.log(80), 0.5);
 * console.assert(Math.abs(latencyOfCode(Math.floor(offset)) - 80) < 0.1);
 * ```
 */
export function latencyOfCode(code: number): number {
  const table = latencyTable ??= new Float64Array(LATENCY_CODES).fill(-1);
  const known = table[code]!;
  if (known >= 0) return known;
  return table[code] = Math.round(Math.exp(LOG_MIN + (code + 0.5) * STEP) * 10) / 10;
}

/**
 * The code of `exp(mu + sigma * z)` is `offset + scale * z` (clamped to the codes, floored).
 *
 * @example
 * ```ts
 * import { latencyCodes } from "./measurements.ts";
 * console.assert(latencyCodes(0, 1).scale === 2500);
 * ```
 */
export function latencyCodes(mu: number, sigma: number): { offset: number; scale: number } {
  return { offset: (mu - LOG_MIN) / STEP, scale: sigma / STEP };
}

/**
 * The first code whose latency (to 0.1 ms) is above `ms`; {@linkcode LATENCY_CODES} if none.
 *
 * @example
 * ```ts
 * import { firstCodeAbove, latencyOfCode } from "./measurements.ts";
 * const c = firstCodeAbove(150);
 * console.assert(latencyOfCode(c) > 150 && latencyOfCode(c - 1) <= 150);
 * ```
 */
export function firstCodeAbove(ms: number): number {
  let lo = 0, hi = LATENCY_CODES;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (latencyOfCode(mid) > ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Latency codes in chunks reused as a ring, so at most `values` are kept: positions grow
 * forever, and one whose chunk was reused is no longer `valid` (the caller draws it again).
 * A run of up to `max` codes never straddles two chunks.
 *
 * @example
 * ```ts
 * import { LatencyPool } from "./measurements.ts";
 * const pool = new LatencyPool(512, 256);
 * const a = pool.alloc(200);
 * pool.chunk(a).fill(7, a % pool.size, a % pool.size + 200);
 * pool.alloc(200), pool.alloc(200);
 * console.assert(!pool.valid(a) && pool.kept <= 512);
 * ```
 */
export class LatencyPool {
  /** Codes per chunk. */
  readonly size: number;
  #ring: Uint16Array[] = [];
  #chunks: number;
  #seq = 0;
  #used = 0;

  /** @param values The most codes kept. @param max The longest run allocated. */
  constructor(values: number, max: number) {
    if (!(values >= max && Number.isFinite(values))) {
      throw new RangeError(`Cannot keep ${values} latencies: keep at least ${max}`);
    }
    this.size = Math.min(65536, Math.max(max, Math.floor(values)));
    this.#chunks = Math.max(1, Math.floor(values / this.size));
  }

  /** Codes kept now (at most). */
  get kept(): number {
    return Math.max(0, this.#ring.length - 1) * this.size + this.#used;
  }

  /** Whether a position's codes are still kept. */
  valid(pos: number): boolean {
    return pos >= 0 && Math.floor(pos / this.size) > this.#seq - this.#chunks;
  }

  /** The chunk a position is in (its offset there: `pos % size`). */
  chunk(pos: number): Uint16Array {
    return this.#ring[Math.floor(pos / this.size) % this.#chunks]!;
  }

  /** Room for `k` codes (at most `max`): their position. */
  alloc(k: number): number {
    if (this.#ring.length === 0 || this.#used + k > this.size) {
      if (this.#ring.length) this.#seq++;
      this.#used = 0;
      this.#ring[this.#seq % this.#chunks] ??= new Uint16Array(this.size);
    }
    const pos = this.#seq * this.size + this.#used;
    this.#used += k;
    return pos;
  }
}

/**
 * A window's latency codes merged, each run standing for `weight` requests a code: the p95
 * (the smallest latency with at least 95% of the requests at or below it) and the requests
 * slower than a threshold, without a sort. `summary` empties it for the next window.
 *
 * @example
 * ```ts
 * import { CodeHistogram, firstCodeAbove } from "./measurements.ts";
 * const h = new CodeHistogram();
 * // 100 requests of 1.0 ms, 2.0 ms, ..., 100.0 ms:
 * h.add(Uint16Array.from({ length: 100 }, (_, i) => firstCodeAbove(i + 0.95)), 0, 100, 1);
 * const s = h.summary(100, 90.5);
 * console.assert(s.p95Ms === 95 && s.over === 10);
 * ```
 */
export class CodeHistogram {
  #counts = new Float64Array(LATENCY_CODES);
  /** Sums of 64 codes each (1024 of them): the p95's neighbourhood is found there first. */
  #coarse = new Float64Array(LATENCY_CODES >> 6);
  #lo = LATENCY_CODES;
  #hi = -1;

  /** Adds `codes[from .. from + k)`, each standing for `weight` requests. */
  add(codes: Uint16Array, from: number, k: number, weight: number): void {
    const counts = this.#counts, coarse = this.#coarse;
    let lo = this.#lo, hi = this.#hi;
    for (let j = from; j < from + k; j++) {
      const code = codes[j]!;
      counts[code]! += weight;
      coarse[code >> 6]! += weight;
      if (code < lo) lo = code;
      if (code > hi) hi = code;
    }
    this.#lo = lo, this.#hi = hi;
  }

  /** p95 (ms, rounded; null when empty) of `requests`, and those over `overMs` (if asked). */
  summary(requests: number, overMs?: number): { p95Ms: number | null; over?: number } {
    const counts = this.#counts, coarse = this.#coarse, lo = this.#lo, hi = this.#hi;
    const p95Ms = hi < lo ? null : Math.round(latencyOfCode(this.#quantile(0.95 * requests)));
    let over: number | undefined;
    if (overMs !== undefined) {
      const cut = firstCodeAbove(overMs);
      let sum = 0, c = Math.max(lo, cut);
      for (; c <= hi && c & 63; c++) sum += counts[c]!;
      for (let b = c >> 6; c <= hi && b <= hi >> 6; b++) sum += coarse[b]!;
      over = Math.round(sum);
    }
    for (let b = lo >> 6; b <= hi >> 6; b++) {
      if (coarse[b] === 0) continue;
      coarse[b] = 0;
      counts.fill(0, b << 6, (b + 1) << 6);
    }
    this.#lo = LATENCY_CODES, this.#hi = -1;
    return over === undefined ? { p95Ms } : { p95Ms, over };
  }

  /** The smallest code with at least `goal` of the weight at or below it (else the top). */
  #quantile(goal: number): number {
    const counts = this.#counts, coarse = this.#coarse, hi = this.#hi;
    let seen = 0, b = this.#lo >> 6;
    for (; b < hi >> 6 && seen + coarse[b]! < goal - 1e-9; b++) seen += coarse[b]!;
    for (let c = b << 6; c < hi; c++) {
      seen += counts[c]!;
      if (seen >= goal - 1e-9) return c;
    }
    return hi;
  }
}
