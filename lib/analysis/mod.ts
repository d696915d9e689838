/**
 * Gate analysis: measuring a stage's gates over its analysis window and deciding
 * pass or fail, failing closed (no data, `NaN` or a failed query is never a pass).
 *
 * - {@linkcode createGateAnalyzer} is the engine's gate analyzer: it takes what to
 *   measure from the stage's output (`{ analysisTargets: [...] }`), merged over its
 *   default labels, and fails a gated stage that names no target, saying how to fix it.
 * - {@linkcode analyzeGates} measures gates for given targets every interval.
 * - {@linkcode prometheusProvider} and {@linkcode sandboxMeasurementsProvider} are
 *   the sources of measurements ({@linkcode MetricsProvider}).
 * - {@linkcode waitForDecision} and {@linkcode writeDecision}: a paused stage's
 *   promote-or-abort decision.
 *
 * ```ts
 * import { renderQuery } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * // A target's labels fill the metric's query.
 * const target = { namespace: "shop", service: "api", slot: "green" };
 * assert.equal(
 *   renderQuery('up{namespace="{{namespace}}",service="{{service}}"}', target),
 *   'up{namespace="shop",service="api"}',
 * );
 * ```
 * @module
 */
export * from "./analyze.ts";
export * from "./decision.ts";
export * from "./gate_analyzer.ts";
export * from "./prometheus.ts";
export * from "./provider.ts";
export * from "./sandbox_measurements.ts";
