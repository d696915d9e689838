/**
 * What monitoring is generated from: the declared metrics (their PromQL and unit), the bound
 * each alert fires beyond — the loosest gate a pipeline puts on the metric, so a version the
 * canary let through stays quiet — and the windows. One {@linkcode MonitoringSpec} feeds the
 * alert rules, the ServiceMonitors and the dashboard alike.
 * @module
 */

/**
 * A gate's comparison (the same as the DSL's `BoundOperator`).
 *
 * @example
 * ```ts
 * import type { BoundOperator } from "./spec.ts";
 * const op: BoundOperator = "<";
 * ```
 */
export type BoundOperator = "<" | "<=" | ">" | ">=";

/**
 * What monitoring reads of a declared metric (a pipeline's `metrics` entry, a DSL
 * `MetricDefinition`, is one).
 *
 * @example
 * ```ts
 * import type { MonitoredMetric } from "./spec.ts";
 * const m: MonitoredMetric = { unit: "%", query: "rate(errors[{{window}}])", scale: 100 };
 * ```
 */
export interface MonitoredMetric {
  /** The unit of its values and of the bounds on it: `%`, `ms`, `s`, `req/s` or empty. */
  readonly unit: string;
  /** Its PromQL template (`{{namespace}}`, `{{service}}`, `{{slot}}`, `{{window}}`). */
  readonly query: string;
  /** What it means (a panel's and an alert's description). */
  readonly description?: string;
  /** The query's raw value times this is in `unit` (default 1). */
  readonly scale?: number;
}

/**
 * The bound an alert on a metric fires beyond, in the metric's unit, as a gate states it: the
 * alert fires when `value operator threshold` no longer holds (a gate's breach).
 *
 * @example
 * ```ts
 * import type { AlertBound } from "./spec.ts";
 * const bound: AlertBound = { operator: "<", threshold: 1, source: "error_rate < 1%" };
 * ```
 */
export interface AlertBound {
  /** The gate's comparison (what a healthy value satisfies). */
  readonly operator: BoundOperator;
  /** The gate's threshold, in the metric's unit. */
  readonly threshold: number;
  /** Where it comes from (the gate as written, e.g. `"error_rate < 1%"`). */
  readonly source?: string;
}

/**
 * Everything monitoring is rendered from.
 *
 * @example
 * ```ts
 * import type { MonitoringSpec } from "./spec.ts";
 * const spec: MonitoringSpec = {
 *   metrics: { error_rate: { unit: "%", query: "sum(rate(errors[{{window}}]))", scale: 100 } },
 *   bounds: { error_rate: { operator: "<", threshold: 1 } },
 *   window: "1m",
 *   for: "0s",
 * };
 * ```
 */
export interface MonitoringSpec {
  /** The declared metrics (a pipeline module's `metrics`): a panel for each. */
  readonly metrics: Readonly<Record<string, MonitoredMetric>>;
  /** Per metric, the bound its alert fires beyond (a metric without one gets a panel only). */
  readonly bounds: Readonly<Record<string, AlertBound>>;
  /** The `{{window}}` of the metrics' queries and of the restart count (default `5m`). */
  readonly window?: string;
  /** How long a condition holds before its alert fires (default `5m`). */
  readonly for?: string;
  /** The scrape interval of the ServiceMonitors (default `30s`). */
  readonly interval?: string;
  /** Labels a Prometheus (or Grafana's sidecar) selects the objects by, e.g. `release`. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The default `window` and `for` of {@linkcode MonitoringSpec}. */
export const DEFAULT_WINDOW = "5m";

const DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

/**
 * Checks a Prometheus duration (`30s`, `1h30m`, `0s`): what a rule's `for`, a range and a
 * scrape interval take.
 *
 * @param value The duration.
 * @param what What it is, for the error.
 * @returns The duration.
 * @throws {RangeError} For anything Prometheus would refuse.
 *
 * @example
 * ```ts
 * import { promDuration } from "./spec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(promDuration("1m30s", "the window"), "1m30s");
 * assert.throws(() => promDuration("5 minutes", "the window"), RangeError);
 * ```
 */
export function promDuration(value: string, what: string): string {
  if (value === "" || !DURATION.test(value)) {
    throw new RangeError(
      `Cannot use ${what} ${JSON.stringify(value)}: expected a duration such as 30s or 5m`,
    );
  }
  return value;
}

/**
 * What {@linkcode boundsFromGates} reads of a gate (a DSL `ParsedGate` is one).
 *
 * @example
 * ```ts
 * import type { GateLike } from "./spec.ts";
 * const g: GateLike = { metric: "error_rate", operator: "<", threshold: 1, source: "error_rate < 1%" };
 * ```
 */
export interface GateLike {
  /** The metric's name. */
  readonly metric: string;
  /** The comparison. */
  readonly operator: BoundOperator;
  /** The threshold, in the metric's unit. */
  readonly threshold: number;
  /** The gate as written. */
  readonly source: string;
}

/** Whether `a` lets more through than `b` for a gate of this operator. */
function looser(operator: BoundOperator, a: number, b: number): boolean {
  return operator === "<" || operator === "<=" ? a > b : a < b;
}

/**
 * The bound of each metric's alert: per metric, the loosest of the gates on it (for `<` the
 * highest threshold, for `>` the lowest), so the alert fires only on what every gate of the
 * pipeline would have failed.
 *
 * @param gates The gates, e.g. every gate of a pipeline's stages.
 * @returns The bound per metric gated on.
 * @throws {RangeError} When one metric is gated both from above and from below.
 *
 * @example
 * ```ts
 * import { boundsFromGates } from "./spec.ts";
 * import { parseGate } from "../dsl/gate.ts";
 * import assert from "node:assert/strict";
 * const bounds = boundsFromGates(["error_rate < 1%", "error_rate < 0.1%"].map((g) => parseGate(g)));
 * assert.deepEqual(bounds.error_rate, { operator: "<", threshold: 1, source: "error_rate < 1%" });
 * ```
 */
export function boundsFromGates(gates: readonly GateLike[]): Record<string, AlertBound> {
  const bounds: Record<string, AlertBound> = {};
  for (const g of gates) {
    const known = bounds[g.metric];
    if (known === undefined) {
      bounds[g.metric] = { operator: g.operator, threshold: g.threshold, source: g.source };
      continue;
    }
    const upper = (op: BoundOperator) => op === "<" || op === "<=";
    if (upper(known.operator) !== upper(g.operator)) {
      throw new RangeError(
        `Cannot derive an alert on ${g.metric}: gated from both sides ("${known.source}", ` +
          `"${g.source}")`,
      );
    }
    if (looser(g.operator, g.threshold, known.threshold)) {
      bounds[g.metric] = { operator: g.operator, threshold: g.threshold, source: g.source };
    }
  }
  return bounds;
}

/**
 * The comparison a breach of a gate's operator is: `<` fails at `>=`, `<=` at `>`, and so on.
 *
 * @param operator The gate's operator.
 * @returns The operator of its breach.
 *
 * @example
 * ```ts
 * import { breachOperator } from "./spec.ts";
 * console.assert(breachOperator("<") === ">=");
 * ```
 */
export function breachOperator(operator: BoundOperator): BoundOperator {
  return ({ "<": ">=", "<=": ">", ">": "<=", ">=": "<" } as const)[operator];
}
