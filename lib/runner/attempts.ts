/**
 * A stage's work: each attempt in a fresh Worker (what it printed, logged, checked and
 * called recorded as it happens), its retries with their backoff, and how a failed
 * attempt reads in the record (a typed capability error keeps its name and status).
 * @module
 */
import type { StageRecord } from "../report/schema.ts";
import type { CheckReport, RunRequest } from "./protocol.ts";
import type { Ending } from "./engine_types.ts";
import type { StageState } from "./recorder.ts";
import {
  type EngineContext,
  failuresIn,
  runFailure,
  type StageLog,
  watchedBy,
} from "./engine_context.ts";
import { type StageHooks, StageRunError } from "./worker_pool.ts";
import { PrintBuffer } from "./print_buffer.ts";
import { backoffMs, callCapability, checkRecordOf, reportableOutput } from "./stage_records.ts";
import { boundedName, failureMessage } from "./call_errors.ts";

/** What a step of a stage is given: its log and the signal that stops it. */
export interface StepContext {
  readonly log: StageLog;
  readonly signal: AbortSignal;
}

/** What the stage's Worker is asked to run for one attempt. */
function requestFor(ctx: EngineContext, s: StageState, attempt: number): RunRequest {
  const { o } = ctx;
  return {
    type: "run",
    stageId: s.spec.id,
    pipeline: o.definition.name,
    runId: o.runId,
    user: o.user,
    environmentName: o.environmentName,
    env: o.env,
    version: o.version,
    options: o.options,
    dryRun: o.dryRun,
    attempt,
    outputs: Object.fromEntries(s.spec.needs.map((n) => [n, ctx.states.get(n)!.output])),
    failures: failuresIn(ctx, watchedBy(ctx, s)),
  };
}

/** Where an attempt's logs, prints, checks and calls go. */
function hooksFor(
  ctx: EngineContext,
  s: StageState,
  log: StageLog,
  printed: PrintBuffer,
): StageHooks {
  const { o } = ctx;
  const grant = o.grants.get(s.spec.id);
  return {
    log,
    print: (stream, text) => printed.write(stream, text),
    check: (report: CheckReport) => {
      ctx.recorder.check(s, checkRecordOf(report, o.redactor));
      log(report.outcome.ok ? "info" : "warn", `check ${report.name}: ${report.outcome.message}`);
    },
    call: (resource, method, args) =>
      callCapability(
        {
          spec: s.spec,
          grant,
          record: s.record,
          capabilities: o.capabilities,
          redactor: o.redactor,
          clock: ctx.clock,
          holdWhole: !(o.clockAwareCapabilities ?? ["kubernetes"]).includes(resource),
        },
        { resource, method, args },
      ),
  };
}

/** What the stage printed goes to its log and to the screen, a line at a time. */
function printBufferFor(ctx: EngineContext, stageId: string): PrintBuffer {
  return new PrintBuffer(ctx.o.redactor, (stream, clean) => {
    for (const line of clean.replace(/\n$/, "").split("\n")) {
      ctx.logs.write(stageId, stream === "stderr" ? "warn" : "info", line);
    }
    ctx.onPrint(stageId, stream, clean);
  });
}

/** Runs one attempt; what it printed without a final line end is shown when it ends. */
async function runAttempt<T>(attempt: () => Promise<T>, printed: PrintBuffer): Promise<T> {
  try {
    return await attempt();
  } finally {
    printed.flush();
  }
}

const ATTEMPT_STATUS = {
  timeout: "timed_out",
  interrupted: "interrupted",
} as const satisfies Partial<Record<StageRunError["kind"], string>>;

/** A failed attempt: recorded; the stage's ending, or nothing when it is retried. */
async function attemptFailed(
  ctx: EngineContext,
  s: StageState,
  a: { attempt: number; of: number; startedAt: string; t0: number; err: unknown },
  step: StepContext,
): Promise<Ending | undefined> {
  const { attempt, of } = a;
  const e = a.err instanceof StageRunError ? a.err : new StageRunError(String(a.err), "error");
  const message = ctx.o.redactor.redact(failureMessage(e.errorName ?? "Error", e.message, e.typed));
  const record: StageRecord["attempts"][number] = {
    attempt,
    startedAt: a.startedAt,
    durationMs: ctx.clock.since(a.t0),
    status: (ATTEMPT_STATUS as Record<string, StageRecord["attempts"][number]["status"]>)[e.kind] ??
      "failed",
    error: message,
  };
  step.log("warn", `attempt ${attempt} failed: ${message}`);
  await ctx.recorder.attemptFailed(
    s,
    record,
    e.errorName === undefined ? undefined : boundedName(e.errorName),
  );
  if (e.kind === "interrupted") {
    const first = ctx.recorder.firstFailure;
    return {
      status: "interrupted",
      reason: ctx.o.signal.aborted
        ? "interrupted"
        : first === undefined
        ? `stopped: ${runFailure(ctx) ?? "the run was stopped"}`
        : `stopped: stage "${first}" failed`,
    };
  }
  // A denied permission or a failed check is not transient: no retry.
  if (attempt >= of || e.kind === "denied" || e.kind === "check") {
    return { status: "failed", reason: message };
  }
  const wait = backoffMs(s.spec, attempt);
  step.log("info", `retrying in ${wait} ms (attempt ${attempt + 1} of ${of})`);
  await ctx.clock.sleep(wait, { signal: step.signal }).catch(() => {}); // aborted: settled below
  if (step.signal.aborted) {
    return { status: "interrupted", reason: "interrupted while waiting to retry" };
  }
  return undefined;
}

/**
 * Runs a stage's work (checks and `run`), retried as its policy says. On success the
 * stage's output is kept (and its reportable form recorded).
 *
 * @param ctx The run.
 * @param s The stage.
 * @param step Its log and the signal that stops it.
 * @returns How the stage ended when its work failed; nothing when it succeeded.
 */
export async function runAttempts(
  ctx: EngineContext,
  s: StageState,
  step: StepContext,
): Promise<Ending | undefined> {
  const spec = s.spec;
  const grant = ctx.o.grants.get(spec.id)!;
  const needsWorker = spec.run !== undefined || spec.checks.length > 0;
  const printed = printBufferFor(ctx, spec.id);
  const hooks = hooksFor(ctx, s, step.log, printed);
  const limits = {
    signal: step.signal,
    ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
  };
  const of = spec.retry?.attempts ?? 1;
  for (let attempt = 1;; attempt++) {
    const t0 = ctx.clock.now();
    const startedAt = new Date(t0).toISOString();
    try {
      if (needsWorker) {
        const request = requestFor(ctx, s, attempt);
        s.output = await runAttempt(() => ctx.pool.run(grant, request, hooks, limits), printed);
      }
      const durationMs = ctx.clock.since(t0);
      s.record.attempts.push({ attempt, startedAt, durationMs, status: "succeeded" });
      if (s.output !== undefined) s.record.output = reportableOutput(s.output, ctx.o.redactor);
      return undefined;
    } catch (err) {
      const ending = await attemptFailed(ctx, s, { attempt, of, startedAt, t0, err }, step);
      if (ending) return ending;
    }
  }
}
