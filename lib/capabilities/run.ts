/**
 * The `run` resource: the run itself, held by the runner (`lib/runner/run.ts` provides it to
 * every run, so it has no `open`). A stage that `uses("run")` may call `checkpoint()`: the
 * run's id, how many events its journal holds so far and the digest of the last one — what
 * the deploy writes into the cluster's record and GitHub's status, so that the run's history
 * is also kept where the runner cannot rewrite it alone (`deno task report audit`).
 * @module
 */
import { type Capability, proxiedGrant } from "./types.ts";

/**
 * What `ctx.use("run")` gives a stage.
 *
 * @example
 * ```ts ignore
 * const { runId, events, digest } = await ctx.use<RunCapability>("run").checkpoint();
 * ```
 */
export interface RunCapability {
  /** The journal so far: the run's id, its number of events, the hex SHA-256 of the last. */
  checkpoint(): Promise<{ runId: string; events: number; digest: string }>;
}

/**
 * The `run` registry entry: grants the Worker nothing (the runner answers its calls).
 *
 * @example
 * ```ts
 * import { run } from "./run.ts";
 * console.assert(run.name === "run" && run.open === undefined);
 * ```
 */
export const run: Capability<RunCapability> = {
  name: "run",
  summary: "the run's own journal checkpoint (id, events so far, digest), held by the runner",
  grant: proxiedGrant,
};
