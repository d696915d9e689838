/**
 * What the engine's parts share while a graph runs: the options, every stage's state,
 * the Worker pool, the stage logs and the recorder; and the small questions they all
 * ask (which stages a handler watches, which of them failed).
 * @module
 */
import type { StageFailure } from "../dsl/types.ts";
import type { StageRecord } from "../report/schema.ts";
import type { EngineOptions } from "./engine_types.ts";
import type { StageLogs } from "./stage_logs.ts";
import type { WorkerPool } from "./worker_pool.ts";
import type { StageRecorder, StageState } from "./recorder.ts";
import type { Clock } from "../clock/clock.ts";

/** The statuses after which a stage's dependents may run. */
export const SETTLED_OK: ReadonlySet<string> = new Set(["succeeded"]);

/** One run of a graph, as its parts see it. */
export interface EngineContext {
  readonly o: EngineOptions;
  /** The run's clock. */
  readonly clock: Clock;
  readonly states: ReadonlyMap<string, StageState>;
  /** The ordinary stages: what a handler without `watches` watches. */
  readonly normalIds: readonly string[];
  readonly pool: WorkerPool;
  readonly logs: StageLogs;
  readonly recorder: StageRecorder;
  /** Stops ordinary stages (an interrupt, or fail-fast after the first failure). */
  readonly stop: AbortController;
  /** Where what a stage's code printed goes (redacted). */
  readonly onPrint: (stageId: string, stream: "stdout" | "stderr", text: string) => void;
}

/** A stage's log line writer; notices are also shown on screen. */
export type StageLog = (level: "info" | "warn" | "notice", message: string) => void;

/** Every stage's initial state: not started, skipped until it runs. */
export function initialStates(o: EngineOptions, logs: StageLogs): Map<string, StageState> {
  const states = new Map<string, StageState>();
  for (const [id, spec] of o.dag.stages) {
    const grant = o.grants.get(id)!;
    const record: StageRecord = {
      id,
      ...(spec.description ? { description: spec.description } : {}),
      kind: spec.kind,
      rollback: spec.rollback,
      needs: [...spec.needs],
      status: "skipped",
      attempts: [],
      permissions: { ...grant, proxied: [...grant.proxied] } as StageRecord["permissions"],
      checks: [],
      gates: [],
      calls: [],
      log: logs.relativePath(id),
    };
    states.set(id, { spec, settled: false, satisfied: false, record });
  }
  return states;
}

/** The stages a stage watches: its `watches`, else every ordinary stage. */
export function watchedBy(ctx: EngineContext, s: StageState): readonly string[] {
  return s.spec.watches.length > 0 ? s.spec.watches : ctx.normalIds;
}

/** The stages among `ids` that failed or were interrupted, with why. */
export function failuresIn(ctx: EngineContext, ids: readonly string[]): StageFailure[] {
  const failed = ids.map((id) => ctx.states.get(id)!).filter((s) =>
    s.record.status === "failed" || s.record.status === "interrupted"
  ).map((s) => ({ stage: s.spec.id, message: s.record.reason ?? s.record.status }));
  const run = runFailure(ctx);
  return run === undefined ? failed : [{ stage: "run", message: run }, ...failed];
}

/**
 * Why the run was made to fail from outside its stages (`EngineOptions.failure`), if it was.
 *
 * @param ctx The run.
 * @returns The reason's message, or `undefined`.
 */
export function runFailure(ctx: EngineContext): string | undefined {
  const f = ctx.o.failure;
  if (!f?.aborted) return undefined;
  return f.reason instanceof Error ? f.reason.message : String(f.reason);
}

/** Writes a stage's log lines (redacted by the logs); notices also go to the screen. */
export function stageLog(ctx: EngineContext, stageId: string): StageLog {
  return (level, message) => {
    ctx.logs.write(stageId, level, message);
    if (level === "notice") ctx.o.onNotice?.(stageId, ctx.o.redactor.redact(message));
  };
}
