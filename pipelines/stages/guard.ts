/**
 * Before traffic moves: the cluster's deployment record must still say this run is the one
 * in progress. A resumed run (or one whose runner stalled) whose run was rolled back, or
 * overtaken by another deploy, in the meantime must not move traffic back onto its version:
 * the journal says where the run was, the cluster says whether it may go on.
 * @module
 */
import type { StageContext } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { readRunRecord } from "../../lib/kubernetes/strategies/record.ts";
import type { DeployContext } from "./context.ts";

/**
 * Throws unless the deployment record's run is this run, in progress.
 *
 * @param ctx The stage (it uses `kubernetes`).
 * @param c The deploy's context.
 * @throws {Error} Naming what the record says instead; nothing was changed.
 *
 * @example
 * ```ts ignore
 * await assertStillThisRun(ctx, c); // before setWeights(...)
 * ```
 */
export async function assertStillThisRun(ctx: StageContext, c: DeployContext): Promise<void> {
  if (ctx.dryRun) return;
  const record = await readRunRecord(ctx.use<KubernetesCapability>("kubernetes"), {
    target: c.target,
  });
  const run = record.run;
  if (run?.runId === ctx.runId && run.state === "in-progress") return;
  throw new Error(
    `Cannot move traffic for run ${ctx.runId}: the deployment record in ${c.namespace} ${
      run
        ? `says run ${run.runId} (version ${run.version}) is ${run.state}`
        : "has no run in progress"
    } — this run was rolled back or overtaken while it was stopped. Nothing was changed`,
  );
}
