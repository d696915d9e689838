/**
 * One stage from start to end: its approval (a dry run approves itself), its work with
 * its retries, then its gates; the recorder settles it with how it ended.
 * @module
 */
import type { ApprovalRecord } from "../report/schema.ts";
import type { Ending } from "./engine_types.ts";
import type { StageState } from "./recorder.ts";
import { type EngineContext, stageLog } from "./engine_context.ts";
import { runAttempts } from "./attempts.ts";
import { runGates } from "./gates.ts";
import { settleFromJournal } from "./resume.ts";

/** Asks for a stage's approval and records it; how the stage ended when it was not given. */
async function approveStage(ctx: EngineContext, s: StageState): Promise<Ending | undefined> {
  const approval = s.spec.approval;
  if (!approval) return undefined;
  let record: ApprovalRecord;
  if (ctx.o.dryRun) {
    record = {
      phrase: approval.phrase,
      approved: true,
      by: "dry-run",
      at: new Date(ctx.clock.now()).toISOString(),
      method: "dry-run",
    };
  } else {
    try {
      record = await ctx.o.approve(s.spec.id, approval.phrase, approval.message);
    } catch (err) {
      return { status: "failed", reason: `approval failed: ${(err as Error).message}` };
    }
  }
  await ctx.recorder.approval(s, record);
  return record.approved ? undefined : { status: "failed", reason: "approval refused" };
}

/**
 * Runs one stage to its end and settles it.
 *
 * @param ctx The run.
 * @param s The stage, which the scheduler decided to run.
 */
export async function executeStage(ctx: EngineContext, s: StageState): Promise<void> {
  if (await settleFromJournal(ctx, s)) return;
  await ctx.recorder.started(s);
  const step = {
    log: stageLog(ctx, s.spec.id),
    // Handlers (onFailure, finally) are not stopped by fail-fast or an interrupt.
    signal: s.spec.kind === "normal" ? ctx.stop.signal : new AbortController().signal,
  };
  const ending = await approveStage(ctx, s) ?? await runAttempts(ctx, s, step) ??
    await runGates(ctx, s, step);
  if (ending) return ctx.recorder.settle(s, ending.status, ending.reason);
  return ctx.recorder.settle(s, "succeeded");
}
