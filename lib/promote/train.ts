/**
 * Runs a train's steps one after the other, each only when the one before succeeded: the
 * first that does not succeed stops the train, and the outcome names it with its run and
 * report. What runs a step is given ({@linkcode StepRunner}: the CLI runs each as the
 * pipeline command it is), so the train itself knows no target and no terminal.
 * @module
 */
import type { TrainStep } from "./steps.ts";

/**
 * How a step ended: `succeeded`, `failed` (it ran and failed), `refused` (bad input or a state
 * to fix first: it changed nothing), `interrupted`, or `not-run` (a step before it did not
 * succeed).
 *
 * @example
 * ```ts
 * import type { StepStatus } from "./train.ts";
 * const status: StepStatus = "not-run";
 * console.assert(status === "not-run");
 * ```
 */
export type StepStatus = "succeeded" | "failed" | "refused" | "interrupted" | "not-run";

/**
 * What a step's run gave: its exit code and, when it started a run, the run's id, status and
 * report.
 *
 * @example
 * ```ts
 * import type { StepRun } from "./train.ts";
 * const run: StepRun = { exitCode: 0, runId: "20260101T000000Z-abcdef", report: "r.json", status: "succeeded" };
 * console.assert(run.exitCode === 0);
 * ```
 */
export interface StepRun {
  /** The pipeline command's exit code (0, 1, 2, 130). */
  readonly exitCode: number;
  /** The run it started, if it got that far. */
  readonly runId?: string | undefined;
  /** Its report. */
  readonly report?: string | undefined;
  /** The run's final status, as its report says. */
  readonly status?: string | undefined;
  /** Why it did not succeed (the report's error, or the refusal's message). */
  readonly error?: string | undefined;
  /** The command line it ran (`deploy staging v1.2.4 --sandbox ...`). */
  readonly command?: readonly string[] | undefined;
  /** What it hands on: the build's record (the output of the build's record stage). */
  readonly record?: unknown;
}

/**
 * Runs one step.
 *
 * @example
 * ```ts
 * import type { StepRunner } from "./train.ts";
 * const runner: StepRunner = () => Promise.resolve({ exitCode: 0, status: "succeeded" });
 * console.assert(typeof runner === "function");
 * ```
 */
export type StepRunner = (step: TrainStep, index: number) => Promise<StepRun>;

/**
 * A step as the train ends it.
 *
 * @example
 * ```ts
 * import type { StepResult } from "./train.ts";
 * const r = { step: { id: "build" }, status: "not-run" } as StepResult;
 * console.assert(r.status === "not-run");
 * ```
 */
export interface StepResult extends Omit<StepRun, "exitCode" | "status"> {
  /** The step. */
  readonly step: TrainStep;
  /** How it ended. */
  readonly status: StepStatus;
  /** The exit code of its run (absent when it did not run). */
  readonly exitCode?: number;
  /** How long it took, in ms (absent when it did not run). */
  readonly durationMs?: number;
}

/**
 * A train's outcome: `succeeded` when every step did; else the step that stopped it.
 *
 * @example
 * ```ts
 * import type { TrainOutcome } from "./train.ts";
 * const o: TrainOutcome = { status: "succeeded", exitCode: 0, steps: [] };
 * console.assert(o.exitCode === 0);
 * ```
 */
export interface TrainOutcome {
  /** `succeeded`, `failed`, `refused` (the first step refused: nothing changed) or `interrupted`. */
  readonly status: "succeeded" | "failed" | "refused" | "interrupted";
  /** 0 succeeded, 1 failed, 2 refused before anything changed, 130 interrupted. */
  readonly exitCode: 0 | 1 | 2 | 130;
  /** Every step, in order (those after the stop: `not-run`). */
  readonly steps: readonly StepResult[];
  /** The step that stopped the train. */
  readonly stoppedAt?: StepResult;
}

/** What {@linkcode runTrain} takes besides the steps and the runner. */
export interface RunTrainOptions {
  /** Wall time in ms (default `Date.now`), for the steps' durations. */
  readonly now?: () => number;
  /** Told before each step starts. */
  readonly onStart?: (step: TrainStep, index: number) => void;
  /** Told when each step has ended. */
  readonly onEnd?: (result: StepResult, index: number) => void;
}

function statusOf(run: StepRun): StepStatus {
  if (run.exitCode === 130 || run.status === "interrupted") return "interrupted";
  if (run.exitCode === 0 && (run.status === undefined || run.status === "succeeded")) {
    return "succeeded";
  }
  return run.exitCode === 2 && run.runId === undefined ? "refused" : "failed";
}

/**
 * Runs the steps in order; the first that does not succeed stops the train.
 *
 * @param steps The steps ({@linkcode trainSteps}).
 * @param run Runs one step.
 * @param o The clock and what to tell as steps start and end.
 * @returns The outcome. A step that exits 0 but whose report says another status fails; a
 *   refusal (exit 2) of the first step is the train's refusal (nothing changed, exit 2), of a
 *   later one a failure (exit 1: earlier steps did change things).
 *
 * @example
 * ```ts
 * import { runTrain } from "./train.ts";
 * import assert from "node:assert/strict";
 * const step = (id: string) => ({ id, kind: "deploy" as const, environment: id, pipeline: "d.ts", title: id });
 * const ran: string[] = [];
 * const outcome = await runTrain([step("dev"), step("stage"), step("prod")], (s) => {
 *   ran.push(s.id);
 *   return Promise.resolve(s.id === "stage" ? { exitCode: 1, runId: "r2", status: "rolled-back" } : { exitCode: 0 });
 * });
 * assert.deepEqual(ran, ["dev", "stage"]);
 * assert.equal(outcome.exitCode, 1);
 * assert.equal(outcome.stoppedAt?.step.id, "stage");
 * assert.equal(outcome.steps[2]!.status, "not-run");
 * ```
 */
export async function runTrain(
  steps: readonly TrainStep[],
  run: StepRunner,
  o: RunTrainOptions = {},
): Promise<TrainOutcome> {
  const now = o.now ?? (() => Date.now());
  const results: StepResult[] = [];
  let stoppedAt: StepResult | undefined;
  for (const [i, step] of steps.entries()) {
    if (stoppedAt) {
      results.push({ step, status: "not-run" });
      continue;
    }
    o.onStart?.(step, i);
    const started = now();
    const got = await run(step, i);
    const { exitCode: _code, status: _status, ...rest } = got;
    const result: StepResult = {
      ...rest,
      step,
      status: statusOf(got),
      exitCode: got.exitCode,
      durationMs: now() - started,
    };
    results.push(result);
    o.onEnd?.(result, i);
    if (result.status !== "succeeded") stoppedAt = result;
  }
  if (!stoppedAt) return { status: "succeeded", exitCode: 0, steps: results };
  const first = results[0] === stoppedAt;
  const outcome = stoppedAt.status === "interrupted"
    ? { status: "interrupted" as const, exitCode: 130 as const }
    : stoppedAt.status === "refused" && first
    ? { status: "refused" as const, exitCode: 2 as const }
    : { status: "failed" as const, exitCode: 1 as const };
  return { ...outcome, steps: results, stoppedAt };
}
