/**
 * The sequential test behind `gate(..., { decide: "sequential" })`: is the share of
 * requests that are bad (errors; or slower than a latency threshold) below `p0`?
 *
 * **Method.** Two e-processes (test martingales) over the per-look counts (`events`
 * of `trials`), each a *mixture likelihood ratio* (Robbins' method of mixtures; a
 * mixture SPRT) over a small grid of alternatives placed by odds ratio around `p0`:
 *
 * - *breach*: alternatives above `p0`. Each component's likelihood ratio has
 *   expectation ≤ 1 under any rate ≤ `p0`, so the mixture is a nonnegative
 *   supermartingale under "healthy". To keep a healthy first part of the step from
 *   diluting a late regression, the breach side is a Shiryaev–Roberts-style e-detector
 *   (Shin, Ramdas & Rinaldo, "E-detectors: a nonparametric framework for sequential
 *   change detection", NEJSDS 2023): one mixture started at every look, averaged with
 *   weights that sum to 1 over the step's planned looks (half on the first look, the
 *   rest shared). A not-yet-started process counts as 1, so the average is itself a
 *   nonnegative supermartingale starting at 1, and Ville's inequality bounds the chance
 *   that it *ever* reaches `1/α` in the step — however often it is looked at — by `α`.
 * - *pass*: alternatives below `p0`, one mixture from the first look (a supermartingale
 *   under any rate ≥ `p0`): reaching `1/α` says "below the threshold" at confidence
 *   `1 − α`, again uniformly over looks.
 *
 * References: H. Robbins, "Statistical methods related to the law of the iterated
 * logarithm" (1970); S. Howard, A. Ramdas, J. McAuliffe, J. Sekhon, "Time-uniform,
 * nonparametric, nonasymptotic confidence sequences", Ann. Statist. 2021; A. Ramdas et
 * al., "Game-theoretic statistics and safe anytime-valid inference", Stat. Sci. 2023.
 * Pure functions on an immutable state.
 * @module
 */
import { binomialLogLR, logAddExp, logSumExp, oddsShift } from "./stats.ts";

/** Alternatives above the threshold (odds ratios) and their prior weights. */
const ABOVE = [[1.5, 0.1], [2, 0.15], [3, 0.35], [5, 0.2], [10, 0.1], [30, 0.1]] as const;
/** Alternatives below the threshold (odds ratios) and their prior weights. */
const BELOW = [
  [2 / 3, 0.15],
  [1 / 2, 0.15],
  [1 / 4, 0.15],
  [1 / 10, 0.15],
  [1 / 30, 0.15],
  [1 / 100, 0.15],
  [1 / 1000, 0.1],
] as const;

/**
 * What a sequential test is set up with.
 *
 * @example
 * ```ts
 * import type { SequentialOptions } from "./sequential.ts";
 * const o: SequentialOptions = { threshold: 0.01, confidence: 0.99, horizon: 90 };
 * ```
 */
export interface SequentialOptions {
  /** The largest acceptable share of bad requests, in (0, 1) (1% errors: `0.01`). */
  readonly threshold: number;
  /** Confidence of either decision, in (0, 1): `α = 1 − confidence`. */
  readonly confidence: number;
  /** Looks planned in the step (the breach side's restarts are spread over them). */
  readonly horizon: number;
}

/**
 * The test's state after some looks. Treat it as opaque; read it with
 * {@linkcode sequentialBounds}.
 *
 * @example
 * ```ts
 * import { sequentialStart, type SequentialState } from "./sequential.ts";
 * const s: SequentialState = sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 10 });
 * console.assert(s.looks === 0);
 * ```
 */
export interface SequentialState {
  /** `p0`. */
  readonly threshold: number;
  /** `1 − confidence`. */
  readonly alpha: number;
  /** Planned looks. */
  readonly horizon: number;
  /** Looks so far. */
  readonly looks: number;
  /** Trials seen so far (requests). */
  readonly trials: number;
  /** Events seen so far (errors, slow requests). */
  readonly events: number;
  /** Per alternative above `p0`: log of its Shiryaev–Roberts sum over started looks. */
  readonly above: readonly number[];
  /** Per alternative below `p0`: log likelihood ratio since the first look. */
  readonly below: readonly number[];
}

/**
 * Where a test stands: the two e-values (in log space), the bound they are held to,
 * and the decision.
 *
 * @example
 * ```ts
 * import { sequentialBounds, sequentialStart } from "./sequential.ts";
 * const b = sequentialBounds(sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 1 }));
 * console.assert(b.decision === "undecided" && b.breachLogE === 0);
 * ```
 */
export interface SequentialBounds {
  /** `breach` (above `p0` at the confidence), `pass` (below it), or `undecided`. */
  readonly decision: "breach" | "pass" | "undecided";
  /** Log of the breach e-value. */
  readonly breachLogE: number;
  /** Log of the pass e-value. */
  readonly passLogE: number;
  /** `log(1/α)`: either e-value reaching it decides. */
  readonly logBound: number;
}

/**
 * Starts a test.
 *
 * @param o The threshold, confidence and planned looks.
 * @returns The state before any look.
 * @throws {RangeError} When the threshold or confidence is not in (0, 1), or the horizon < 1.
 *
 * @example
 * ```ts
 * import { sequentialStart } from "./sequential.ts";
 * const s = sequentialStart({ threshold: 0.05, confidence: 0.99, horizon: 90 });
 * console.assert(s.alpha > 0.0099 && s.alpha < 0.0101);
 * ```
 */
export function sequentialStart(o: SequentialOptions): SequentialState {
  if (!(o.threshold > 0 && o.threshold < 1)) {
    throw new RangeError(
      `Cannot test a share against ${o.threshold}: the threshold must be in (0, 1)`,
    );
  }
  if (!(o.confidence > 0 && o.confidence < 1)) {
    throw new RangeError(`Cannot use confidence ${o.confidence}: it must be in (0, 1), e.g. 0.99`);
  }
  if (!(o.horizon >= 1)) throw new RangeError(`Cannot plan ${o.horizon} looks: at least 1`);
  return {
    threshold: o.threshold,
    alpha: 1 - o.confidence,
    horizon: Math.floor(o.horizon),
    looks: 0,
    trials: 0,
    events: 0,
    above: ABOVE.map(() => -Infinity),
    below: BELOW.map(() => 0),
  };
}

/**
 * The weight of the breach process started at look `j` (1-based) of `horizon`.
 *
 * @param j The look.
 * @param horizon The planned looks.
 * @returns The weight; the weights of looks 1..horizon sum to 1.
 *
 * @example
 * ```ts
 * import { startWeight } from "./sequential.ts";
 * console.assert(startWeight(1, 1) === 1 && startWeight(1, 11) === 0.5 && startWeight(2, 11) === 0.05);
 * ```
 */
export function startWeight(j: number, horizon: number): number {
  if (j < 1 || j > horizon) return 0;
  if (horizon === 1) return 1;
  return j === 1 ? 0.5 : 0.5 / (horizon - 1);
}

/** Total weight of the breach processes not started after `looks` looks. */
function unstarted(looks: number, horizon: number): number {
  if (looks >= horizon) return 0;
  if (looks === 0) return 1;
  return 0.5 * (horizon - looks) / (horizon - 1);
}

/**
 * Adds one look's counts.
 *
 * @param s The state so far.
 * @param batch This look's `trials` (requests) and `events` (errors, slow requests).
 * @returns The new state.
 * @throws {RangeError} When the counts are not whole numbers with `0 <= events <= trials`.
 *
 * @example
 * ```ts
 * import { sequentialStart, sequentialUpdate } from "./sequential.ts";
 * let s = sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 90 });
 * s = sequentialUpdate(s, { trials: 100, events: 3 });
 * console.assert(s.looks === 1 && s.events === 3);
 * ```
 */
export function sequentialUpdate(
  s: SequentialState,
  batch: { readonly trials: number; readonly events: number },
): SequentialState {
  const { trials, events } = batch;
  if (!Number.isInteger(trials) || !Number.isInteger(events) || events < 0 || events > trials) {
    throw new RangeError(
      `Cannot add ${events} events of ${trials} trials: need whole numbers, 0 <= events <= trials`,
    );
  }
  const look = s.looks + 1;
  const w = Math.log(startWeight(look, s.horizon));
  const p0 = s.threshold;
  return {
    ...s,
    looks: look,
    trials: s.trials + trials,
    events: s.events + events,
    above: ABOVE.map(([r], k) =>
      logAddExp(s.above[k]!, w) + binomialLogLR(events, trials, oddsShift(p0, r), p0)
    ),
    below: BELOW.map(([r], k) => s.below[k]! + binomialLogLR(events, trials, oddsShift(p0, r), p0)),
  };
}

/**
 * The e-values and the decision.
 *
 * @param s The state.
 * @returns Both e-values (log), the bound `log(1/α)`, and `breach`, `pass` or `undecided`
 * (breach wins when both reach the bound).
 *
 * @example
 * ```ts
 * import { sequentialBounds, sequentialStart, sequentialUpdate } from "./sequential.ts";
 * let s = sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 1 });
 * s = sequentialUpdate(s, { trials: 1000, events: 60 });
 * console.assert(sequentialBounds(s).decision === "breach");
 * ```
 */
export function sequentialBounds(s: SequentialState): SequentialBounds {
  const rest = Math.log(unstarted(s.looks, s.horizon));
  const breachLogE = logSumExp(ABOVE.map(([, w], k) => Math.log(w) + logAddExp(s.above[k]!, rest)));
  const passLogE = logSumExp(BELOW.map(([, w], k) => Math.log(w) + s.below[k]!));
  const logBound = Math.log(1 / s.alpha);
  const decision = breachLogE >= logBound ? "breach" : passLogE >= logBound ? "pass" : "undecided";
  return { decision, breachLogE, passLogE, logBound };
}
