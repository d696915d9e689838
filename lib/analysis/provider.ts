/**
 * Metrics providers: where gate measurements come from. A measurement is a value (with
 * the counts behind it, when the source has them), inconclusive (no data, NaN: never a
 * pass), or an error (the query failed).
 * @module
 */
import type { MetricDefinition } from "../dsl/gate.ts";
import type { Clock } from "../clock/mod.ts";

/**
 * The counts behind a value: requests in the window, how many failed, how many were
 * slower than `overMs`, some of their latencies, and the window itself.
 *
 * @example
 * ```ts
 * import type { Evidence } from "./provider.ts";
 * const e: Evidence = {
 *   requests: 600, errors: 3, windowMs: 60_000,
 *   from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T00:01:00.000Z",
 * };
 * ```
 */
export interface Evidence {
  /** Requests in the window. */
  readonly requests: number;
  /** Of which answered with an error. */
  readonly errors?: number;
  /** Of which slower than `overMs`. */
  readonly over?: number;
  /** The latency `over` counts against (ms). */
  readonly overMs?: number;
  /** The window's length (target ms). */
  readonly windowMs: number;
  /** The window's start (ISO 8601). */
  readonly from: string;
  /** The window's end (ISO 8601). */
  readonly to: string;
  /** Some of the window's latencies (ms), when asked for. */
  readonly latencies?: readonly number[];
}

/**
 * One measurement of one metric for one target.
 *
 * @example
 * ```ts
 * import type { Measurement } from "./provider.ts";
 * const m: Measurement = { kind: "inconclusive", detail: "no data (empty result)" };
 * ```
 */
export type Measurement =
  | { readonly kind: "value"; readonly value: number; readonly evidence?: Evidence }
  | { readonly kind: "inconclusive"; readonly detail: string; readonly evidence?: Evidence }
  | { readonly kind: "error"; readonly detail: string };

/**
 * A metric with its name.
 *
 * @example
 * ```ts
 * import type { NamedMetric } from "./provider.ts";
 * const m: NamedMetric = { name: "error_rate", unit: "%", query: "..." };
 * ```
 */
export interface NamedMetric extends MetricDefinition {
  /** The metric's name, e.g. `error_rate`. */
  readonly name: string;
}

/**
 * What is measured: label values filled into the query (`namespace`, `service`, `slot`...).
 *
 * @example
 * ```ts
 * import type { Target } from "./provider.ts";
 * const t: Target = { namespace: "shop", service: "api", slot: "green" };
 * ```
 */
export type Target = Readonly<Record<string, string>>;

/**
 * What a measurement asks for besides the window.
 *
 * @example
 * ```ts
 * import type { MeasureOptions } from "./provider.ts";
 * const o: MeasureOptions = { windowMs: 10_000, overMs: 2000, samples: 500 };
 * ```
 */
export interface MeasureOptions {
  /** How far back to look (target ms). */
  readonly windowMs: number;
  /** Count the requests slower than this (ms) into `evidence.over`. */
  readonly overMs?: number;
  /** Return up to this many of the window's latencies (`evidence.latencies`). */
  readonly samples?: number;
}

/**
 * A source of measurements.
 *
 * @example
 * ```ts
 * import type { MetricsProvider } from "./provider.ts";
 * const none: MetricsProvider = {
 *   name: "none",
 *   measure: () => Promise.resolve({ kind: "error", detail: "no source" }),
 * };
 * ```
 */
export interface MetricsProvider {
  /** The provider's name, for the report. */
  readonly name: string;
  /** The shortest window it can measure (target ms): looks are never closer than this. */
  readonly minWindowMs?: number;
  /**
   * Measures a metric for a target over the last `windowMs` (in the target's time).
   * Never throws: failures are `{ kind: "error" }`.
   */
  measure(metric: NamedMetric, target: Target, options: MeasureOptions): Promise<Measurement>;
}

/**
 * The window ending now on `clock`, as ISO stamps.
 *
 * @param clock The clock.
 * @param windowMs The window's length.
 * @returns `from` and `to`.
 *
 * @example
 * ```ts
 * import { windowEndingNow } from "./provider.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const w = windowEndingNow(virtualClock({ startMs: 60_000 }), 60_000);
 * console.assert(w.from === "1970-01-01T00:00:00.000Z");
 * ```
 */
export function windowEndingNow(clock: Clock, windowMs: number): { from: string; to: string } {
  const to = clock.now();
  return { from: new Date(to - windowMs).toISOString(), to: new Date(to).toISOString() };
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

/**
 * Where a sample falls in its gate's analysis (the live view's "sample 7 of 90"): its look,
 * how many looks the analysis plans, and the time between them (target ms).
 *
 * @example
 * ```ts
 * import type { SampleProgress } from "./provider.ts";
 * const p: SampleProgress = { look: 7, of: 90, everyMs: 10_000 };
 * console.assert(p.look <= p.of);
 * ```
 */
export interface SampleProgress {
  /** The look this sample belongs to, from 1. */
  readonly look: number;
  /** How many looks the analysis plans (it may stop earlier: a breach, a decision). */
  readonly of: number;
  /** The time between two looks, in target ms. */
  readonly everyMs: number;
}
