/**
 * `simulate`: many seeded rehearsals of a real pipeline in one process, each with a fault
 * drawn from the seed (an error or latency shift, a metrics gap, crashing pods — or none),
 * each checked against invariants seen from the sandbox's side (a breached version never
 * gets all traffic; traffic sums to 100% and ends on one Ready version; the lock is
 * released; the report verifies; no secret in any artefact), counted into false rollbacks,
 * missed faults and detection times.
 *
 * ```ts ignore
 * import { simulate } from "./mod.ts";
 * const { summaries } = await simulate({
 *   pipelineFile: "pipelines/deploy.ts", environment: "development",
 *   runs: 10, seed: "7", workDir: await Deno.makeTempDir(),
 * });
 * console.log(summaries.fixed);
 * ```
 * @module
 */
export * from "./schedule.ts";
export * from "./fault_spec.ts";
export * from "./faults.ts";
export * from "./observe.ts";
export * from "./invariants.ts";
export * from "./summary.ts";
export * from "./simulate.ts";
export * from "./watchdog.ts";
export { bystanderFetch, type Inspector, type SandboxAccess } from "../targets/rehearse.ts";
