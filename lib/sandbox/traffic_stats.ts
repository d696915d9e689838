/**
 * Latency statistics over a window's requests, shared by the recorded measurements and the
 * drawn traffic model: a (weighted) p95, how many requests were slower than a threshold,
 * and a deterministic subset of latencies for a rank test. A weight says how many requests
 * one latency stands for (1 when every request was kept).
 * @module
 */

/** Latencies of a window, in time order, each standing for `weights[i]` requests. */
export interface WeightedLatencies {
  /** Latencies, ms. */
  readonly values: readonly number[];
  /** How many requests each latency stands for (same length; omitted: 1 each). */
  readonly weights?: readonly number[];
}

/** What {@linkcode latencySummary} computes. */
export interface LatencySummary {
  /** The 95th percentile latency, ms (rounded), or null without requests. */
  p95Ms: number | null;
  /** Requests slower than `over` ms (when asked). */
  over?: number;
  /** At most `samples` latencies, ms (when asked). */
  latencies?: number[];
}

/**
 * The p95 (the smallest latency with at least 95% of the weight at or below it), the count
 * over a threshold, and a systematic, weight-proportional subset of at most `samples`
 * latencies in time order (all of them when they fit and each stands for one request).
 *
 * @param window The window's latencies and weights.
 * @param query `over`: threshold in ms; `samples`: the most latencies to return.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import { latencySummary } from "./traffic_stats.ts";
 * import assert from "node:assert/strict";
 * const values = Array.from({ length: 100 }, (_, i) => i + 1);
 * const s = latencySummary({ values }, { over: 90, samples: 10 });
 * assert.equal(s.p95Ms, 95);
 * assert.equal(s.over, 10);
 * assert.equal(s.latencies?.length, 10);
 * ```
 */
export function latencySummary(
  window: WeightedLatencies,
  query: { over?: number | undefined; samples?: number | undefined } = {},
): LatencySummary {
  const { values } = window;
  const weight = (i: number) => window.weights?.[i] ?? 1;
  let total = 0;
  for (let i = 0; i < values.length; i++) total += weight(i);
  const out: LatencySummary = { p95Ms: null };
  if (values.length > 0 && total > 0) {
    const goal = 0.95 * total;
    let seen = 0;
    for (const i of ascending(values)) {
      seen += weight(i);
      if (seen >= goal - 1e-9) {
        out.p95Ms = Math.round(values[i]!);
        break;
      }
    }
  }
  if (query.over !== undefined) {
    let over = 0;
    for (let i = 0; i < values.length; i++) if (values[i]! > query.over) over += weight(i);
    out.over = Math.round(over);
  }
  if (query.samples !== undefined) out.latencies = subset(window, total, query.samples);
  return out;
}

const INDEX_BITS = 2 ** 20;

/**
 * Indices of `values` in ascending order of value, by a native numeric sort of keys that
 * pack the value (to 1 µs) and the index (a comparator sort is ten times slower).
 */
function* ascending(values: readonly number[]): Generator<number> {
  if (values.length > INDEX_BITS) {
    yield* Array.from(values.keys()).sort((a, b) => values[a]! - values[b]!);
    return;
  }
  const keys = new Float64Array(values.length);
  const top = Number.MAX_SAFE_INTEGER / INDEX_BITS - 1;
  for (let i = 0; i < values.length; i++) {
    const micros = Math.min(top, Math.max(0, Math.round(values[i]! * 1000)));
    keys[i] = micros * INDEX_BITS + i;
  }
  keys.sort();
  for (let i = 0; i < keys.length; i++) yield keys[i]! % INDEX_BITS;
}

function subset(window: WeightedLatencies, total: number, samples: number): number[] {
  const { values } = window;
  const n = Math.max(0, Math.floor(samples));
  const round = (v: number) => Math.round(v * 10) / 10;
  if (n === 0 || values.length === 0) return [];
  if (values.length <= n && (!window.weights || total === values.length)) return values.map(round);
  const step = total / n;
  const out: number[] = [];
  let next = step / 2, seen = 0;
  for (let i = 0; i < values.length && out.length < n; i++) {
    seen += window.weights?.[i] ?? 1;
    while (seen >= next && out.length < n) {
      out.push(round(values[i]!));
      next += step;
    }
  }
  return out;
}
