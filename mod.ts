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
 * This module imports no client (Kubernetes, PostgreSQL, GitHub): it is loaded in
 * every stage's Worker and stays light.
 * @module
 */
export * from "./lib/dsl/duration.ts";
export * from "./lib/dsl/gate.ts";
export * from "./lib/dsl/pipeline.ts";
export * from "./lib/dsl/stage.ts";
export * from "./lib/dsl/types.ts";
export type * from "./lib/config/types.ts";
export type { Duration } from "./lib/config/duration.ts";
export type { FromEnvRef, SecretKeyRef, SecretRef } from "./lib/config/secret_ref.ts";
