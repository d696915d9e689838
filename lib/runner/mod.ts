/**
 * The runner: prepares a pipeline run (the module described in a Worker with no
 * permissions, the environment and secrets loaded, the graph validated, each stage's
 * grant computed) and executes it (each stage attempt in a Worker with exactly its
 * grant, capabilities served from the main thread, everything journalled), then writes
 * the report. Bad input throws {@linkcode InputError} before anything happens.
 *
 * ```ts ignore
 * import { executeRun, InputError, prepareRun } from "./mod.ts";
 *
 * try {
 *   const prepared = await prepareRun({ pipelineFile: "pipelines/deploy.ts", environment: "staging" });
 *   const { report } = await executeRun(prepared, {
 *     approve: () => Promise.reject(new Error("no approvals here")),
 *   });
 *   console.log(report.status);
 * } catch (err) {
 *   if (err instanceof InputError) Deno.exit(2); // nothing was changed
 *   throw err;
 * }
 * ```
 * @module
 */
export { InputError, InterruptedError } from "./errors.ts";
export { versionArgument } from "./version.ts";
export { type PreparedRun, type PrepareOptions, prepareRun } from "./prepare.ts";
export { type ExecuteOptions, executeRun, type RunOutcome } from "./run.ts";
export type { CapabilityProvider, GateAnalyzer, GateVerdict } from "./engine.ts";
export type { JournalledStage } from "./engine_types.ts";
export type { KubernetesGrant, StageGrant } from "./permissions.ts";
export type { Dag } from "./dag.ts";
export type { PipelineInfo } from "./describe.ts";
export { actor, ACTOR_ENV, type ActorOptions } from "./identity.ts";
