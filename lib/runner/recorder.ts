/**
 * The engine's one journal recorder: every change of a stage's state goes through it,
 * in the same order into the stage's record, the journal (`stage.started`,
 * `stage.attempt`, `check`, `approval`, `stage.finished`) and the live view. It also
 * remembers the run's first failed ordinary stage, and stops the others when the pipeline
 * fails fast. The journal carries what the record says (its times, each attempt, each
 * check with its evidence, the output), so that the report can be checked against it
 * (`lib/report/derive.ts`).
 * @module
 */
import type { StageDescription as StageSpec } from "../dsl/describe.ts";
import type { Journal } from "../journal/journal.ts";
import type { Redactor } from "../journal/redact.ts";
import type { ApprovalRecord, AttemptRecord, CheckRecord, StageRecord } from "../report/schema.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/** A stage as the engine tracks it while the graph runs. */
export interface StageState {
  readonly spec: StageSpec;
  readonly record: StageRecord;
  settled: boolean;
  /** Skipped by its own `when`: dependents still run. */
  satisfied: boolean;
  output?: unknown;
  /** When it started, on the run's clock (epoch ms). */
  startedMs?: number;
}

/** What the recorder writes to and whom it tells. */
export interface RecorderOptions {
  readonly journal: Journal;
  readonly redactor: Redactor;
  /** Told of every stage state change (the live view). */
  readonly onChange?: ((record: StageRecord, running: boolean) => void) | undefined;
  /** Stop the other ordinary stages at the first failure. */
  readonly failFast: boolean;
  /** Aborted to stop the ordinary stages. */
  readonly stop: AbortController;
  /** The run's clock: stamps and durations (default real time). */
  readonly clock?: Clock | undefined;
}

/**
 * Records stage state changes.
 *
 * @example
 * ```ts ignore
 * const recorder = new StageRecorder({ journal, redactor, failFast: false, stop });
 * await recorder.started(state);
 * await recorder.settle(state, "succeeded");
 * ```
 */
export class StageRecorder {
  #o: RecorderOptions;
  #firstFailure: string | undefined;

  /** @param o Where records go. */
  constructor(o: RecorderOptions) {
    this.#o = o;
  }

  /** The first ordinary stage that failed, if any. */
  get firstFailure(): string | undefined {
    return this.#firstFailure;
  }

  /** Tells the live view a stage changed. */
  changed(s: StageState, running = false): void {
    this.#o.onChange?.(s.record, running);
  }

  /** A stage starts. */
  async started(s: StageState): Promise<void> {
    const clock = this.#o.clock ?? realClock;
    s.startedMs = clock.now();
    s.record.startedAt = new Date(s.startedMs).toISOString();
    await this.#o.journal.append({
      type: "stage.started",
      stage: s.spec.id,
      startedAt: s.record.startedAt,
    });
    await this.#o.journal.flush();
    this.changed(s, true);
  }

  /**
   * An attempt failed: its record (its `error` already redacted) is the stage's, and the
   * journal's `stage.attempt` (with the error's name). A succeeded attempt is journalled
   * with the stage's `stage.finished`.
   */
  async attemptFailed(
    s: StageState,
    attempt: AttemptRecord,
    errorName?: string | undefined,
  ): Promise<void> {
    s.record.attempts.push(attempt);
    await this.#o.journal.append({
      type: "stage.attempt",
      stage: s.spec.id,
      attempt: attempt.attempt,
      error: attempt.error,
      ...(errorName !== undefined ? { errorName } : {}),
      status: attempt.status,
      startedAt: attempt.startedAt,
      durationMs: attempt.durationMs,
    });
  }

  /**
   * A check's result (already redacted), in the stage's record and the journal. Told by
   * the Worker, synchronously: the line is written with the next write (a failed write
   * fails the stage's next flush).
   */
  check(s: StageState, check: CheckRecord): void {
    s.record.checks.push(check);
    this.#o.journal.append({ type: "check", stage: s.spec.id, ...check }).catch(() => {});
  }

  /** A stage's approval was given or refused. */
  async approval(s: StageState, approval: ApprovalRecord): Promise<void> {
    s.record.approval = approval;
    await this.#o.journal.append({ type: "approval", stage: s.spec.id, ...approval });
  }

  /** A stage ends (or is skipped) with a status and why. */
  async settle(s: StageState, status: StageRecord["status"], reason?: string): Promise<void> {
    s.settled = true;
    s.record.status = status;
    if (reason !== undefined) s.record.reason = this.#o.redactor.redact(reason);
    if (s.startedMs !== undefined) {
      const clock = this.#o.clock ?? realClock;
      s.record.finishedAt = new Date(clock.now()).toISOString();
      s.record.durationMs = clock.since(s.startedMs);
    }
    if (status === "failed" && s.spec.kind === "normal" && this.#firstFailure === undefined) {
      this.#firstFailure = s.spec.id;
      if (this.#o.failFast) this.#o.stop.abort();
    }
    const succeeded = s.record.attempts.find((a) => a.status === "succeeded");
    await this.#o.journal.append({
      type: "stage.finished",
      stage: s.spec.id,
      status,
      ...(reason !== undefined ? { reason } : {}),
      ...(s.record.finishedAt !== undefined ? { finishedAt: s.record.finishedAt } : {}),
      ...(s.record.durationMs !== undefined ? { durationMs: s.record.durationMs } : {}),
      // The attempt that succeeded (the failed ones each have their stage.attempt).
      ...(succeeded ? { attempt: succeeded } : {}),
      // What it handed on (as the report keeps it): a resumed run reuses a succeeded
      // stage's; a stage whose gates failed after its work keeps its output too.
      ...(s.record.output !== undefined ? { output: s.record.output } : {}),
    });
    await this.#o.journal.flush();
    this.changed(s);
  }
}
