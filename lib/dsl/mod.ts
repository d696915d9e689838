/**
 * The pipeline DSL: {@linkcode pipeline} and {@linkcode stage} (immutable builders),
 * typed gates over metrics declared with {@linkcode defineMetrics}, durations, the
 * shapes shared with the runner (checks, permissions, the stage context), stages as
 * plain data ({@linkcode describeStage}), source locations for errors, and the errors a
 * stage can catch. The root `mod.ts` re-exports what pipeline authors use.
 *
 * Light by design: it imports no client, since every stage's Worker loads it.
 *
 * ```ts
 * import { pipeline, stage } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const p = pipeline<{ name: string }>("hello", () => {
 *   const build = stage("build").run(() => ({ image: "app:1.2.4" }));
 *   const ship = stage("ship").needs(build).run((ctx) => ctx.log(ctx.output(build).image));
 *   return [build, ship];
 * });
 * const stages = p.build({ env: { name: "dev" }, version: undefined, options: {} });
 * assert.deepEqual(stages.map((s) => s.id), ["build", "ship"]);
 * ```
 * @module
 */
export * from "./describe.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export * from "./gate.ts";
export * from "./location.ts";
export * from "./pipeline.ts";
export * from "./stage.ts";
export * from "./types.ts";
