/**
 * Gates: typed comparisons of a declared metric against a threshold.
 *
 * Metric names are declared in code with {@linkcode defineMetrics} and registered
 * by augmenting {@linkcode MetricRegistry}; a gate string is then a template-literal
 * type over them, so `"eror_rate < 1%"` is a compile error.
 * @module
 */
import { type DurationString, parseDuration } from "./duration.ts";

/**
 * How a statistical gate decides: `sequential` (an anytime-valid test of the metric's
 * share of bad requests against the threshold, `lib/analysis/sequential.ts`) or
 * `baseline` (canary against the live slot, Kayenta-style, `lib/analysis/baseline.ts`).
 *
 * @example
 * ```ts
 * import type { GateDecision } from "./gate.ts";
 * const d: GateDecision = { method: "sequential", confidence: 0.99, lookMs: 10_000 };
 * ```
 */
export interface GateDecision {
  /** The method. */
  readonly method: "sequential" | "baseline";
  /** The confidence of a decision, in (0, 1): `α = 1 − confidence`. */
  readonly confidence: number;
  /** Time between looks, in ms (may be shorter than the stage's interval). */
  readonly lookMs: number;
}

/**
 * Options of a fixed-threshold gate (the default): each measurement is compared with
 * the threshold; the gate fails when failed measurements exceed `failureLimit`.
 *
 * @example
 * ```ts
 * import type { FixedGateOptions } from "./gate.ts";
 * const o: FixedGateOptions = { failureLimit: 1, inconclusive: "ignore" };
 * ```
 */
export interface FixedGateOptions {
  /** `"fixed"`, the default. */
  readonly decide?: "fixed";
  /** Failed measurements tolerated (`>` fails). Default 0. */
  readonly failureLimit?: number;
  /** How inconclusive samples count; default the metric's own policy (`"fail"`). */
  readonly inconclusive?: InconclusivePolicy;
  /** Consecutive query errors tolerated. Default 3. */
  readonly consecutiveErrorLimit?: number;
}

/**
 * Options of a statistical gate. `sequential`: passes when the evidence says the metric
 * is below its threshold with `confidence`, breaches as soon as it says above, keeps
 * looking while undecided; undecided at the stage's end fails (fail closed). `baseline`:
 * fails when the canary is worse than the baseline (`{ canary, baseline }` targets) at
 * `confidence` (default 0.98, Kayenta's). The metric must declare its `evidence`.
 *
 * @example
 * ```ts
 * import type { StatisticalGateOptions } from "./gate.ts";
 * const o: StatisticalGateOptions = { decide: "sequential", confidence: 0.99, look: "10s" };
 * ```
 */
export interface StatisticalGateOptions {
  /** The method. */
  readonly decide: "sequential" | "baseline";
  /** Confidence in (0, 1). Default 0.99 (sequential) or 0.98 (baseline). */
  readonly confidence?: number;
  /** Time between looks, at least 1 s. Default `"10s"` (Flagger's shortest interval). */
  readonly look?: DurationString | number;
  /** Consecutive query errors tolerated. Default 3. */
  readonly consecutiveErrorLimit?: number;
}

/**
 * The options of {@linkcode Stage.gate}.
 *
 * @example
 * ```ts
 * import type { GateOptions } from "./gate.ts";
 * const fixed: GateOptions = { failureLimit: 0 };
 * const sequential: GateOptions = { decide: "sequential" };
 * ```
 */
export type GateOptions = FixedGateOptions | StatisticalGateOptions;

/**
 * Whether gate options ask for a statistical gate.
 *
 * @param o The options of `Stage.gate`.
 * @returns `true` for `decide: "sequential"` or `"baseline"`.
 *
 * @example
 * ```ts
 * import { isStatistical } from "./gate.ts";
 * console.assert(isStatistical({ decide: "sequential" }) && !isStatistical({}));
 * ```
 */
export function isStatistical(o: GateOptions): o is StatisticalGateOptions {
  return o.decide === "sequential" || o.decide === "baseline";
}

/**
 * A statistical gate's decision spec, from its options, with the defaults filled in.
 *
 * @param gate The parsed gate.
 * @param o Its options.
 * @param stageId The stage's id (for the error).
 * @returns Method, confidence, look interval.
 * @throws {SyntaxError} When the gate does not test "below" (`<`, `<=`).
 * @throws {RangeError} When the confidence is not in (0, 1) or the look is under 1 s.
 *
 * @example
 * ```ts
 * import { parseGate, statisticalDecision } from "./gate.ts";
 * const d = statisticalDecision(parseGate("error_rate < 1%"), { decide: "sequential" }, "c");
 * console.assert(d.confidence === 0.99 && d.lookMs === 10_000);
 * ```
 */
export function statisticalDecision(
  gate: ParsedGate,
  o: StatisticalGateOptions,
  stageId: string,
): GateDecision {
  const what = `Cannot add gate "${gate.source}" to stage "${stageId}"`;
  if (gate.operator !== "<" && gate.operator !== "<=") {
    throw new SyntaxError(
      `${what}: a ${o.decide} gate tests "below the threshold" (< or <=), not ${gate.operator}`,
    );
  }
  const confidence = o.confidence ?? (o.decide === "baseline" ? 0.98 : 0.99);
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`${what}: confidence must be in (0, 1), e.g. 0.99, got ${confidence}`);
  }
  const lookMs = parseDuration(o.look ?? "10s");
  if (lookMs < 1_000) {
    throw new RangeError(`${what}: look must be at least 1s, got ${o.look}`);
  }
  return { method: o.decide, confidence, lookMs };
}

/**
 * The metrics a program knows. Pipelines register theirs by module augmentation:
 *
 * ```ts ignore
 * declare module "../mod.ts" {
 *   interface MetricRegistry extends MetricsOf<typeof metrics> {}
 * }
 * ```
 */
// deno-lint-ignore no-empty-interface
export interface MetricRegistry {}

/** Units a metric can have; a gate's threshold carries the same unit. */
export type MetricUnit = "%" | "ms" | "s" | "" | "req/s";

/** What to do with an inconclusive sample (no data, NaN). The default counts it as a failure. */
export type InconclusivePolicy = "fail" | "ignore";

/**
 * How a metric is a share of requests, for statistical gates (`decide: "sequential"` or
 * `"baseline"`), and the PromQL that counts its evidence over `{{window}}`. Each query
 * must aggregate to one series; counts are rounded to whole requests.
 *
 * @example
 * ```ts
 * import type { MetricEvidence } from "./gate.ts";
 * const latency: MetricEvidence = {
 *   kind: "quantile",
 *   quantile: 0.95,
 *   requests: 'sum(increase(http_request_duration_seconds_count[{{window}}]))',
 *   over: 'sum(increase(http_request_duration_seconds_count[{{window}}])) - sum(increase(http_request_duration_seconds_bucket{le="{{le}}"}[{{window}}]))',
 * };
 * ```
 */
export type MetricEvidence =
  | {
    /** The metric is errors / requests (unit `%` or a plain ratio). */
    readonly kind: "error_ratio";
    /** Requests over `{{window}}`. */
    readonly requests?: string;
    /** Errors over `{{window}}`. */
    readonly errors?: string;
  }
  | {
    /**
     * The metric is a latency quantile `q`: "`q` < T" is tested as "the share of
     * requests slower than T is below 1 − q" (unit `ms` or `s`).
     */
    readonly kind: "quantile";
    /** The quantile, e.g. `0.95`. */
    readonly quantile: number;
    /** Requests over `{{window}}`. */
    readonly requests?: string;
    /**
     * Requests slower than `{{le}}` seconds over `{{window}}`: the count minus a
     * histogram bucket, so the gate's threshold must be one of the histogram's bounds.
     */
    readonly over?: string;
  };

/** A metric declared in code: its unit and the query that measures it. */
export interface MetricDefinition {
  /** The unit of the metric's values (and of gate thresholds on it). */
  readonly unit: MetricUnit;
  /** The query template, e.g. PromQL with `{{service}}` and `{{slot}}` placeholders. */
  readonly query: string;
  /** What the metric means, for the plan and the report. */
  readonly description?: string;
  /** How inconclusive samples count; defaults to `"fail"` (never for the gate). */
  readonly inconclusive?: InconclusivePolicy;
  /** Multiply the query's raw value by this to get the unit (e.g. 100 for a ratio as %). */
  readonly scale?: number;
  /**
   * The same metric from the sandbox's own measurements: the field of its answer
   * (e.g. `"errorRate"`) and the factor to the metric's unit.
   */
  readonly measurement?: { readonly field: string; readonly scale?: number };
  /** What the metric is a share of, and its counts' queries (statistical gates need it). */
  readonly evidence?: MetricEvidence;
}

/** One target's labels, filled into a metric's query (`{{service}}`, `{{slot}}`, ...). */
export type TargetLabels = Readonly<Record<string, string>>;

/**
 * A target with the slot it is compared against: `baseline` gates compare `canary`
 * with `baseline` (the live slot); the other gates measure `canary`. `baseline: null`
 * says there is nothing to compare with (a first deploy: no live slot): `baseline` gates
 * then record that target as not compared instead of failing. A plain label set where a
 * pair is needed is still a mistake, and fails closed.
 *
 * @example
 * ```ts
 * import type { ComparedTarget } from "./gate.ts";
 * const t: ComparedTarget = {
 *   canary: { service: "api", slot: "green" },
 *   baseline: { service: "api", slot: "blue" },
 * };
 * const first: ComparedTarget = { canary: { service: "api", slot: "blue" }, baseline: null };
 * console.assert(t.baseline !== null && first.baseline === null);
 * ```
 */
export interface ComparedTarget {
  /** The new version's labels. */
  readonly canary: TargetLabels;
  /** The live version's labels, or `null` when nothing is live to compare with. */
  readonly baseline: TargetLabels | null;
}

/**
 * What a gated stage's work returns to say what its gates measure: one label set per
 * target, each merged over the analyzer's defaults (the environment's namespace) and
 * filled into the metric's query (`{{service}}`, `{{slot}}`, ...). Every gate is measured
 * for every target. A gated stage whose output has no non-empty `analysisTargets` fails
 * closed; `[{}]` measures the defaults alone (the whole namespace). An entry may be a
 * {@linkcode ComparedTarget} (`{ canary, baseline }`): `baseline` gates need one
 * (`baseline: null` when nothing is live: not compared, not failed).
 *
 * @example
 * ```ts
 * import type { AnalysisTargets } from "./gate.ts";
 * import assert from "node:assert/strict";
 * const out: AnalysisTargets = {
 *   analysisTargets: [{ service: "api", slot: "green" }, { service: "worker", slot: "green" }],
 * };
 * assert.equal(out.analysisTargets.length, 2);
 * ```
 */
export interface AnalysisTargets {
  /** The label sets to measure, e.g. `{ service: "api", slot: "green" }`. */
  readonly analysisTargets: readonly (TargetLabels | ComparedTarget)[];
}

/** Comparison operators a gate may use. */
export type GateOperator = "<" | "<=" | ">" | ">=";

/** The names of the registered metrics. */
export type MetricName = keyof MetricRegistry & string;
/** The unit of a registered metric. */
export type UnitOf<K extends MetricName> = MetricRegistry[K] extends
  { unit: infer U extends string } ? U
  : never;

/** A gate string over the registered metrics: `"<metric> <op> <number><unit>"`. */
export type GateExpression = {
  [K in MetricName]: `${K} ${GateOperator} ${number}${UnitOf<K>}`;
}[MetricName];

/** Maps a metrics object to the shape {@linkcode MetricRegistry} is augmented with. */
export type MetricsOf<T extends Record<string, MetricDefinition>> = {
  [K in keyof T]: { readonly unit: T[K]["unit"] };
};

/** A gate string taken apart. */
export interface ParsedGate {
  /** The metric's name. */
  readonly metric: string;
  /** The comparison. */
  readonly operator: GateOperator;
  /** The threshold, in the metric's unit. */
  readonly threshold: number;
  /** The unit written after the threshold. */
  readonly unit: string;
  /** The gate as written. */
  readonly source: string;
}

const GATE = /^([a-z][a-z0-9_]*) (<=|>=|<|>) (-?\d+(?:\.\d+)?)(%|ms|s|req\/s|)$/;

/**
 * Declares metrics. Returns its argument unchanged, with literal types kept so
 * that gate strings can be checked against the names and units.
 *
 * @param metrics Metric definitions by name.
 * @returns The same definitions.
 *
 * @example
 * ```ts
 * import { defineMetrics } from "./gate.ts";
 * import assert from "node:assert/strict";
 * const metrics = defineMetrics({ error_rate: { unit: "%", query: "sum(rate(x[1m]))" } });
 * assert.equal(metrics.error_rate.unit, "%");
 * ```
 */
export function defineMetrics<const T extends Record<string, MetricDefinition>>(metrics: T): T {
  for (const name of Object.keys(metrics)) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new SyntaxError(`Cannot define metric "${name}": names are lower_snake_case`);
    }
  }
  return metrics;
}

/**
 * Parses a gate string. With `metrics`, also checks the metric exists and the unit matches.
 *
 * @param source The gate, e.g. `"error_rate < 1%"`.
 * @param metrics The declared metrics to check against (optional).
 * @returns The parsed gate.
 * @throws {SyntaxError} When the string is not a gate, or names an unknown metric or wrong unit.
 *
 * @example
 * ```ts
 * import { parseGate } from "./gate.ts";
 * import assert from "node:assert/strict";
 * const g = parseGate("p95_latency < 2000ms");
 * assert.equal(g.threshold, 2000);
 * assert.equal(g.unit, "ms");
 * ```
 */
export function parseGate(
  source: string,
  metrics?: Readonly<Record<string, MetricDefinition>>,
): ParsedGate {
  const m = GATE.exec(source);
  if (!m) {
    throw new SyntaxError(
      `Cannot parse gate "${source}": expected "<metric> <op> <number><unit>", e.g. "error_rate < 1%"`,
    );
  }
  const gate: ParsedGate = {
    metric: m[1]!,
    operator: m[2] as GateOperator,
    threshold: Number(m[3]),
    unit: m[4]!,
    source,
  };
  if (metrics) {
    const def = metrics[gate.metric];
    if (!def) {
      throw new SyntaxError(
        `Cannot parse gate "${source}": unknown metric "${gate.metric}" (known: ${
          Object.keys(metrics).join(", ")
        })`,
      );
    }
    if (def.unit !== gate.unit) {
      throw new SyntaxError(
        `Cannot parse gate "${source}": ${gate.metric} is measured in "${def.unit}", not "${gate.unit}"`,
      );
    }
  }
  return gate;
}

/**
 * Whether a value satisfies a gate.
 *
 * @param gate The parsed gate.
 * @param value The measured value, in the metric's unit.
 * @returns `true` when the comparison holds.
 *
 * @example
 * ```ts
 * import { parseGate, gatePasses } from "./gate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(gatePasses(parseGate("error_rate < 1%"), 0.4), true);
 * ```
 */
export function gatePasses(gate: ParsedGate, value: number): boolean {
  switch (gate.operator) {
    case "<":
      return value < gate.threshold;
    case "<=":
      return value <= gate.threshold;
    case ">":
      return value > gate.threshold;
    case ">=":
      return value >= gate.threshold;
  }
}
