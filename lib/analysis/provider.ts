/**
 * Metrics providers: where gate measurements come from. A measurement is a value,
 * inconclusive (no data, NaN: never a pass), or an error (the query failed).
 * @module
 */
import type { MetricDefinition } from "../dsl/gate.ts";

/** One measurement of one metric for one target. */
export type Measurement =
  | { readonly kind: "value"; readonly value: number }
  | { readonly kind: "inconclusive"; readonly detail: string }
  | { readonly kind: "error"; readonly detail: string };

/** A metric with its name. */
export interface NamedMetric extends MetricDefinition {
  /** The metric's name, e.g. `error_rate`. */
  readonly name: string;
}

/** What is measured: label values filled into the query (`namespace`, `service`, `slot`...). */
export type Target = Readonly<Record<string, string>>;

/** A source of measurements. */
export interface MetricsProvider {
  /** The provider's name, for the report. */
  readonly name: string;
  /**
   * Measures a metric for a target over the last `windowMs` (in the target's time).
   * Never throws: failures are `{ kind: "error" }`.
   */
  measure(metric: NamedMetric, target: Target, options: { windowMs: number }): Promise<Measurement>;
}

/**
 * Fills `{{label}}` placeholders of a query template. Values are escaped for a PromQL
 * string literal; an unknown placeholder is an error (a query with a hole must not run).
 *
 * @example
 * ```ts
 * import { renderQuery } from "./provider.ts";
 * import assert from "node:assert/strict";
 * assert.equal(renderQuery('up{service="{{service}}"}', { service: "api" }), 'up{service="api"}');
 * ```
 */
export function renderQuery(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) {
      throw new RangeError(`Cannot render query: no value for {{${key}}}`);
    }
    return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  });
}
