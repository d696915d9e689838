/**
 * Resuming a run from its journal: which stages ended how before the runner died
 * ({@linkcode journalledStages}), and the engine's side of it ({@linkcode settleFromJournal}):
 * a stage that succeeded is settled with the journal's output instead of running again, a
 * stage that failed stays failed, so the run goes on where it was, or finishes its failure
 * path. A stage that was running when the runner died has no `stage.finished`: it runs
 * again (every stage of a resumable pipeline is idempotent, or says why not).
 * @module
 */
import type { ApprovalRecord } from "../report/schema.ts";
import type { JournalledStage } from "./engine_types.ts";
import type { EngineContext } from "./engine_context.ts";
import type { StageState } from "./recorder.ts";

/** An output the report summarised instead of keeping (too large): it cannot be reused. */
const SUMMARISED = /^\[output (of \d+ bytes, not kept|that is not JSON)\]$/;

/**
 * How each stage last ended in a journal's events.
 *
 * @param events The journal's events, in order.
 * @returns Each finished stage's status, reason, output and approval.
 *
 * @example
 * ```ts
 * import { journalledStages } from "./resume.ts";
 * const stages = journalledStages([
 *   { type: "stage.started", stage: "lock" },
 *   { type: "stage.finished", stage: "lock", status: "succeeded", output: { name: "l" } },
 *   { type: "stage.started", stage: "deploy" },
 * ]);
 * console.assert(stages.get("lock")?.status === "succeeded" && !stages.has("deploy"));
 * ```
 */
export function journalledStages(
  events: readonly Record<string, unknown>[],
): Map<string, JournalledStage> {
  const stages = new Map<string, JournalledStage>();
  const approvals = new Map<string, ApprovalRecord>();
  for (const e of events) {
    const id = typeof e.stage === "string" ? e.stage : undefined;
    if (id === undefined) continue;
    if (e.type === "approval") {
      const { type: _t, stage: _s, seq: _q, ts: _ts, prev: _p, ...record } = e;
      approvals.set(id, record as unknown as ApprovalRecord);
    } else if (e.type === "stage.finished") {
      const approval = approvals.get(id);
      stages.set(id, {
        status: e.status as JournalledStage["status"],
        ...(typeof e.reason === "string" ? { reason: e.reason } : {}),
        ...("output" in e ? { output: e.output } : {}),
        ...(approval ? { approval } : {}),
      });
    } else if (e.type === "stage.started") {
      stages.delete(id); // started again (an earlier resume): its last ending counts
    }
  }
  return stages;
}

/**
 * Settles a stage from the journal of the run being resumed, when it ended there: true
 * when it did (the caller runs nothing), false when it must run.
 *
 * @param ctx The run.
 * @param s The stage the scheduler decided to run.
 * @returns Whether the stage was settled from the journal.
 */
export async function settleFromJournal(ctx: EngineContext, s: StageState): Promise<boolean> {
  const before = ctx.o.resume?.get(s.spec.id);
  if (!before) return false;
  if (before.status === "succeeded") {
    if (typeof before.output === "string" && SUMMARISED.test(before.output)) return false;
    if (before.approval) await ctx.recorder.approval(s, before.approval);
    s.output = before.output;
    if (before.output !== undefined) s.record.output = before.output;
    await ctx.recorder.settle(
      s,
      "succeeded",
      "succeeded before the runner died (from the journal)",
    );
    return true;
  }
  if (before.status === "failed" || before.status === "interrupted") {
    await ctx.recorder.settle(
      s,
      "failed",
      `${before.reason ?? before.status} (before the runner died, from the journal)`,
    );
    return true;
  }
  return false; // skipped: decided again, and it got here, so it runs
}
