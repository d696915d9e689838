/**
 * Gates: typed comparisons of a declared metric against a threshold.
 *
 * Metric names are declared in code with {@linkcode defineMetrics} and registered
 * by augmenting {@linkcode MetricRegistry}; a gate string is then a template-literal
 * type over them, so `"eror_rate < 1%"` is a compile error.
 * @module
 */

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
}

/**
 * What a gated stage's work returns to say what its gates measure: one label set per
 * target, each merged over the analyzer's defaults (the environment's namespace) and
 * filled into the metric's query (`{{service}}`, `{{slot}}`, ...). Every gate is measured
 * for every target. A gated stage whose output has no non-empty `analysisTargets` fails
 * closed; `[{}]` measures the defaults alone (the whole namespace).
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
  readonly analysisTargets: readonly Readonly<Record<string, string>>[];
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
