/**
 * Small numerical helpers for the statistical gates: log-space sums, the normal
 * distribution's tail, and the binomial likelihood ratio. Pure functions, no state.
 * @module
 */

/**
 * `log(Σ exp(x))`, computed without overflow; `-Infinity` for an empty list.
 *
 * @param xs Values in log space.
 * @returns The log of the sum of their exponentials.
 *
 * @example
 * ```ts
 * import { logSumExp } from "./stats.ts";
 * console.assert(Math.abs(logSumExp([Math.log(1), Math.log(3)]) - Math.log(4)) < 1e-12);
 * ```
 */
export function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

/**
 * `log(exp(a) + exp(b))`.
 *
 * @param a A value in log space.
 * @param b Another.
 * @returns The log of the sum.
 *
 * @example
 * ```ts
 * import { logAddExp } from "./stats.ts";
 * console.assert(Math.abs(logAddExp(0, 0) - Math.log(2)) < 1e-12);
 * ```
 */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * The complementary error function (W. J. Cody's rational approximations as in
 * Numerical Recipes' `erfcc`, relative error below 1.2e-7 everywhere).
 *
 * @param x Any number.
 * @returns `erfc(x)`.
 *
 * @example
 * ```ts
 * import { erfc } from "./stats.ts";
 * console.assert(Math.abs(erfc(0) - 1) < 1e-7);
 * ```
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                  t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? r : 2 - r;
}

/**
 * The standard normal's upper tail `P(Z > z)`.
 *
 * @param z A z-score.
 * @returns The one-sided p-value of `z`.
 *
 * @example
 * ```ts
 * import { normalUpperTail } from "./stats.ts";
 * console.assert(Math.abs(normalUpperTail(1.959964) - 0.025) < 1e-6);
 * ```
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * The log likelihood ratio of `x` successes in `n` Bernoulli trials under success
 * probability `theta` against `p0`: `x·log(θ/p0) + (n−x)·log((1−θ)/(1−p0))`.
 *
 * @param x Successes (errors, slow requests).
 * @param n Trials (requests), `x <= n`.
 * @param theta The alternative, in (0, 1).
 * @param p0 The null, in (0, 1).
 * @returns The log likelihood ratio.
 *
 * @example
 * ```ts
 * import { binomialLogLR } from "./stats.ts";
 * console.assert(binomialLogLR(3, 100, 0.01, 0.01) === 0);
 * ```
 */
export function binomialLogLR(x: number, n: number, theta: number, p0: number): number {
  const a = x === 0 ? 0 : x * Math.log(theta / p0);
  const b = n - x === 0 ? 0 : (n - x) * Math.log((1 - theta) / (1 - p0));
  return a + b;
}

/**
 * The probability whose odds are `ratio` times the odds of `p`: stays inside (0, 1)
 * whatever the ratio, which makes it a good grid of alternatives around a threshold.
 *
 * @param p A probability in (0, 1).
 * @param ratio The odds ratio (> 0).
 * @returns The shifted probability.
 *
 * @example
 * ```ts
 * import { oddsShift } from "./stats.ts";
 * console.assert(Math.abs(oddsShift(0.5, 3) - 0.75) < 1e-12);
 * ```
 */
export function oddsShift(p: number, ratio: number): number {
  const odds = (p / (1 - p)) * ratio;
  return odds / (1 + odds);
}
