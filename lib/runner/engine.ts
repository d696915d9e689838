/**
 * The engine: runs a validated stage graph. Independent stages run concurrently
 * (up to `concurrency`), each in its own permissioned Worker; a failed stage skips
 * what needs it; `onFailure` and `finally` handlers run after; an interrupt stops
 * running stages and takes the failure path. Everything is journalled.
 *
 * Its parts: scheduling (`schedule.ts`), one stage (`execute_stage.ts`: approval, work
 * with retries in `attempts.ts`, gates in `gates.ts`), and one journal recorder
 * (`recorder.ts`).
 * @module
 */
import type { Report, StageRecord } from "../report/schema.ts";
import type { EngineOptions, EngineResult } from "./engine_types.ts";
import type { EngineContext } from "./engine_context.ts";
import { initialStates, runFailure } from "./engine_context.ts";
import { StageRecorder } from "./recorder.ts";
import { runSchedule } from "./schedule.ts";
import { executeStage } from "./execute_stage.ts";
import { WorkerPool } from "./worker_pool.ts";
import { StageLogs } from "./stage_logs.ts";
import { realClock } from "../clock/clock.ts";

export type {
  CapabilityProvider,
  EngineOptions,
  EngineResult,
  GateAnalyzer,
  GateVerdict,
} from "./engine_types.ts";

function printToStderr(stageId: string, _stream: "stdout" | "stderr", text: string): void {
  const lines = text.replace(/\n$/, "").split("\n").map((l) => `[${stageId}] ${l}\n`).join("");
  Deno.stderr.writeSync(new TextEncoder().encode(lines));
}

/** The run's status and rollback summary, from its stages' records. */
function outcomeOf(
  records: StageRecord[],
  interrupted: boolean,
  failure: string | undefined,
): EngineResult {
  const rollbacks = records.filter((r) => r.rollback && r.status !== "skipped");
  const anyFailed = failure !== undefined ||
    records.some((r) => r.status === "failed" || r.status === "interrupted");
  const rollbackOk = rollbacks.length > 0 && rollbacks.every((r) => r.status === "succeeded");
  const status: Report["status"] = interrupted
    ? "interrupted"
    : !anyFailed
    ? "succeeded"
    : rollbackOk
    ? "rolled_back"
    : "failed";
  const failed = records.find((r) => r.status === "failed");
  return {
    status,
    stages: records,
    rollback: {
      performed: rollbacks.length > 0,
      stages: rollbacks.map((r) => r.id),
      succeeded: rollbacks.length > 0 ? rollbackOk : null,
    },
    ...(failure !== undefined
      ? { error: failure }
      : failed
      ? { error: `stage "${failed.id}" failed: ${failed.reason ?? ""}` }
      : {}),
  };
}

/**
 * Runs the graph to the end (or to the end of its failure path).
 *
 * @param o What to run and with what.
 * @returns Every stage's record, the final status and the rollback summary.
 *
 * @example
 * ```ts ignore
 * const result = await runGraph({ definition, pipelineUrl, dag, grants, journal, ... });
 * console.log(result.status); // "succeeded", "failed", "rolled_back" or "interrupted"
 * ```
 */
export async function runGraph(o: EngineOptions): Promise<EngineResult> {
  const clock = o.clock ?? realClock;
  const logs = new StageLogs(o.runDir, o.redactor, clock);
  const stop = new AbortController(); // stops ordinary stages (interrupt or fail-fast)
  const onInterrupt = () => stop.abort();
  o.signal.addEventListener("abort", onInterrupt, { once: true });
  o.failure?.addEventListener("abort", onInterrupt, { once: true });
  if (o.failure?.aborted) stop.abort();
  const states = initialStates(o, logs);
  const ctx: EngineContext = {
    o,
    clock,
    states,
    normalIds: [...o.dag.stages.values()].filter((s) => s.kind === "normal").map((s) => s.id),
    pool: new WorkerPool(o.pipelineUrl, { redactor: o.redactor, clock, nodeGuard: o.nodeGuard }),
    logs,
    recorder: new StageRecorder({
      journal: o.journal,
      redactor: o.redactor,
      onChange: o.onChange,
      failFast: o.definition.options.failFast === true,
      stop,
      clock,
    }),
    stop,
    onPrint: o.onPrint ?? printToStderr,
  };
  try {
    await runSchedule(ctx, (s) => executeStage(ctx, s));
  } finally {
    o.signal.removeEventListener("abort", onInterrupt);
    o.failure?.removeEventListener("abort", onInterrupt);
    ctx.pool.close();
    await logs.close();
  }
  return outcomeOf(
    [...states.values()].map((s) => s.record),
    o.signal.aborted,
    runFailure(ctx),
  );
}
