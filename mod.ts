/**
 * Tracktion Deploy: deployment pipelines as typed TypeScript code.
 *
 * A pipeline file's default export is built with {@linkcode pipeline}; its stages with
 * {@linkcode stage}. Stages declare what they need (`needs`), what they use (`uses`,
 * `permissions`: each runs in a Worker with exactly that), checks, typed gates over
 * metrics declared with {@linkcode defineMetrics}, approvals, timeouts and retries.
 *
 * ```ts
 * import { pipeline, stage } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const deploy = pipeline("hello", ({ env }) => {
 *   const check = stage("preflight").run((ctx) => ctx.log(`checking ${env.name}`));
 *   const ship = stage("ship").needs(check).timeout("5m").retry({ attempts: 3 });
 *   return [check, ship];
 * });
 * assert.equal(deploy.name, "hello");
 * ```
 *
 * **How a gate finds what to measure.** A gate names a declared metric; the metric's
 * query has placeholders (`{{service}}`, `{{slot}}`, ...). A gated stage's work returns
 * {@linkcode AnalysisTargets}, `{ analysisTargets: [...] }`: one label set per target,
 * merged over the environment's namespace. After the work, the runner measures every
 * gate for every target, every interval for the stage's duration. A gated stage that
 * returns no (or an empty) `analysisTargets` fails closed, its gates failing with a
 * message that names the stage, the gate and this fix; `[{}]` measures the namespace
 * as a whole.
 *
 * ```ts
 * import { type AnalysisTargets, stage } from "./mod.ts";
 * // Declares error_rate and p95_latency, and registers them (`declare module`) for gates.
 * import "./pipelines/metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const canary = stage("canary-5")
 *   .run((): AnalysisTargets => ({
 *     analysisTargets: [{ service: "api", slot: "green" }, { service: "worker", slot: "green" }],
 *   }))
 *   .gate("error_rate < 1%").for("15m").every("1m");
 * assert.equal(canary.spec.gates[0]!.gate.metric, "error_rate");
 * assert.equal(canary.spec.analysis.durationMs, 15 * 60_000);
 * ```
 *
 * This module imports no client (Kubernetes, PostgreSQL, GitHub): it is loaded in
 * every stage's Worker and stays light.
 * @module
 */
export * from "./lib/dsl/duration.ts";
export * from "./lib/dsl/errors.ts";
export * from "./lib/dsl/gate.ts";
export * from "./lib/dsl/pipeline.ts";
export * from "./lib/dsl/stage.ts";
export * from "./lib/dsl/types.ts";
export type * from "./lib/config/types.ts";
export type { Duration } from "./lib/config/duration.ts";
export type { FromEnvRef, SecretKeyRef, SecretRef } from "./lib/config/secret_ref.ts";
