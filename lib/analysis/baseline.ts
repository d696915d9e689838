/**
 * Canary against baseline, as Kayenta judges it: the Mann–Whitney U test for
 * latencies (is the canary's distribution shifted upwards?) and a difference of
 * proportions for errors (is the canary's error rate higher?), both one-sided, with
 * normal approximations (tie-corrected for U). `gate(..., { decide: "baseline" })`
 * runs one at every look and spends its `α` evenly over the step's planned looks
 * (Bonferroni), so repeated looks do not raise the false-alarm rate above `α`.
 * References: H. B. Mann & D. R. Whitney, "On a test of whether one of two random
 * variables is stochastically larger than the other", Ann. Math. Statist. 1947;
 * Netflix/Google, Kayenta's Mann–Whitney classifier (default confidence 0.98).
 * @module
 */
import { normalUpperTail } from "./stats.ts";

/**
 * A one-sided comparison's result: the statistic, its z-score, and the p-value of
 * "the canary is worse".
 *
 * @example
 * ```ts
 * import type { Comparison } from "./baseline.ts";
 * const c: Comparison = { statistic: 12, z: 2.5, pValue: 0.006 };
 * ```
 */
export interface Comparison {
  /** U (latency) or the difference of rates (errors). */
  readonly statistic: number;
  /** The z-score (larger: the canary looks worse). */
  readonly z: number;
  /** One-sided p-value of "canary worse than baseline"; `NaN` when undefined. */
  readonly pValue: number;
}

/**
 * Mann–Whitney U of `canary` over `baseline` (one-sided: canary larger), normal
 * approximation with continuity and tie correction.
 *
 * @param canary The canary's latencies.
 * @param baseline The baseline's latencies.
 * @returns U for the canary, z, and the one-sided p-value (`NaN` with an empty side or
 * when every value is tied).
 *
 * @example
 * ```ts
 * import { mannWhitney } from "./baseline.ts";
 * const slow = Array.from({ length: 30 }, (_, i) => 600 + i);
 * const fast = Array.from({ length: 30 }, (_, i) => 100 + i);
 * console.assert(mannWhitney(slow, fast).pValue < 0.001);
 * ```
 */
export function mannWhitney(canary: readonly number[], baseline: readonly number[]): Comparison {
  return mannWhitneySorted(Float64Array.from(canary).sort(), Float64Array.from(baseline).sort());
}

/**
 * {@linkcode mannWhitney} of samples already sorted ascending: the two sides are merged,
 * a run of equal values spanning both sharing the average of its ranks. Linear time.
 *
 * @param c The canary's latencies, sorted ascending.
 * @param b The baseline's, sorted ascending.
 * @returns As {@linkcode mannWhitney}.
 *
 * @example
 * ```ts
 * import { mannWhitneySorted } from "./baseline.ts";
 * const slow = Float64Array.from({ length: 30 }, (_, i) => 600 + i);
 * const fast = Float64Array.from({ length: 30 }, (_, i) => 100 + i);
 * console.assert(mannWhitneySorted(slow, fast).pValue < 0.001);
 * ```
 */
export function mannWhitneySorted(c: Float64Array, b: Float64Array): Comparison {
  const n1 = c.length, n2 = b.length;
  if (n1 === 0 || n2 === 0) return { statistic: NaN, z: NaN, pValue: NaN };
  const n = n1 + n2;
  let rankSum = 0;
  let ties = 0;
  let i = 0, j = 0; // the next unread of c, of b
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && c[i]! <= b[j]!) ? c[i]! : b[j]!;
    let inC = 0, inB = 0;
    while (i < n1 && c[i] === v) (i++, inC++);
    while (j < n2 && b[j] === v) (j++, inB++);
    const t = inC + inB;
    const first = i + j - t + 1; // the run's ranks are first..first+t-1
    rankSum += inC * (first + (t - 1) / 2);
    ties += t * t * t - t;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = (n1 * n2 / 12) * ((n + 1) - ties / (n * (n - 1)));
  if (!(variance > 0)) return { statistic: u, z: NaN, pValue: NaN };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { statistic: u, z, pValue: normalUpperTail(z) };
}

/**
 * Merges arrays sorted ascending into one sorted array (pairwise, `O(n log k)`).
 *
 * @param parts Sorted arrays.
 * @returns Their values, sorted ascending.
 *
 * @example
 * ```ts
 * import { mergeSorted } from "./baseline.ts";
 * const m = mergeSorted([Float64Array.of(1, 4), Float64Array.of(2, 3, 5)]);
 * console.assert(m.join() === "1,2,3,4,5");
 * ```
 */
export function mergeSorted(parts: readonly Float64Array[]): Float64Array {
  let level = [...parts];
  if (level.length === 0) return new Float64Array(0);
  while (level.length > 1) {
    const next: Float64Array[] = [];
    for (let k = 0; k < level.length; k += 2) {
      const a = level[k]!, b = level[k + 1];
      if (!b) {
        next.push(a);
        continue;
      }
      const out = new Float64Array(a.length + b.length);
      let i = 0, j = 0, o = 0;
      while (i < a.length && j < b.length) out[o++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
      while (i < a.length) out[o++] = a[i++]!;
      while (j < b.length) out[o++] = b[j++]!;
      next.push(out);
    }
    level = next;
  }
  return level[0]!;
}

/**
 * Difference of two proportions, one-sided (canary higher), pooled z-test.
 *
 * @param canary The canary's `events` (errors) of `trials` (requests).
 * @param baseline The baseline's.
 * @returns The difference of rates, z, and the one-sided p-value (`NaN` without
 * requests on a side; 1 when neither side has an error).
 *
 * @example
 * ```ts
 * import { proportionDifference } from "./baseline.ts";
 * const c = proportionDifference({ events: 30, trials: 1000 }, { events: 1, trials: 1000 });
 * console.assert(c.pValue < 0.001);
 * ```
 */
export function proportionDifference(
  canary: { readonly events: number; readonly trials: number },
  baseline: { readonly events: number; readonly trials: number },
): Comparison {
  if (canary.trials <= 0 || baseline.trials <= 0) return { statistic: NaN, z: NaN, pValue: NaN };
  const p1 = canary.events / canary.trials, p2 = baseline.events / baseline.trials;
  const pooled = (canary.events + baseline.events) / (canary.trials + baseline.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.trials + 1 / baseline.trials));
  if (se === 0) return { statistic: p1 - p2, z: 0, pValue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: p1 - p2, z, pValue: normalUpperTail(z) };
}
