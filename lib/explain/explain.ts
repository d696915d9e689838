/**
 * Explains a run from its folder alone (offline, after the fact): what happened, the first
 * cause of a failure, what the runner did about it, and the next commands —
 * {@linkcode explainRun}. Reads `report.json` (or the journal, when the runner died before
 * writing one), `events.jsonl` and `logs/`; writes nothing.
 * @module
 */
import { formatDuration } from "../dsl/duration.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import type { Report, StageRecord } from "../report/types.ts";
import { undeliveredOf } from "../report/undelivered.ts";
import { handlerActions, notifiedChannels } from "./actions.ts";
import { failedStages, firstCause, stageError } from "./cause.ts";
import { type CommandContext, nextSteps } from "./next.ts";
import { readLog, readRun, type RunFolder } from "./read_run.ts";
import type { Cause, Explanation, RunSummary } from "./types.ts";

/** Options of {@linkcode explainRun}. */
export interface ExplainOptions {
  /**
   * `--runs-dir <dir>` for the commands that find the run again (`resume`, `report`): give it
   * when the run is not under the default runs folder.
   */
  readonly runsDirFlag?: readonly string[];
  /** The sandbox's state folder when the run's command line does not name one. */
  readonly defaultSandboxDir?: string;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function summary(run: RunFolder): RunSummary {
  const r = run.report;
  const t = r.target ?? {};
  const approvals = [
    ...(t.approvals?.approvals ?? []),
    ...r.stages.flatMap((s) => s.approval?.evidence?.approvals ?? []),
  ];
  const names = [...new Set(approvals.map((a) => a.name))];
  const died = !run.finished || r.rebuilt === true;
  return {
    pipeline: r.pipeline?.name ?? "?",
    environment: r.environment,
    ...(r.version ? { version: r.version } : {}),
    status: died ? "interrupted" : r.status,
    died,
    dryRun: r.dryRun === true,
    startedAt: r.startedAt,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    who: `${r.who?.user ?? "unknown"}@${r.who?.host ?? "unknown"}`,
    ...(r.git ? { commit: { sha: r.git.commit ?? null, dirty: r.git.dirty === true } } : {}),
    target: {
      ...(str(t.kind) ? { kind: str(t.kind) } : {}),
      ...(str(t.cluster) ? { cluster: str(t.cluster) } : {}),
      ...(str(t.namespace) ? { namespace: str(t.namespace) } : {}),
      ...(str(t.scenario) ? { scenario: str(t.scenario) } : {}),
      ...(str(t.clock) ? { clock: str(t.clock) } : {}),
    },
    approvedBy: names,
    resumes: r.resumes?.length ?? 0,
  };
}

/** What the gate cause says of its targets, in a few words. */
function gateWords(cause: Extract<Cause, { kind: "gate" }>): string {
  const breached = cause.targets.filter((t) => t.verdict === "breached").map((t) => t.target);
  if (breached.length > 2) {
    return `breached for ${breached.length} of ${cause.targets.length} targets`;
  }
  if (breached.length > 0) return `breached for ${breached.join(", ")}`;
  if (cause.targets.some((t) => t.verdict === "no value")) return "could not be measured";
  return "failed";
}

/**
 * One line for a cause: what failed, where.
 *
 * @param cause The cause.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { causeLine } from "./explain.ts";
 * console.assert(causeLine({ kind: "stage", stage: "build", message: "exit 2", logTail: [] }) === "build failed: exit 2");
 * ```
 */
export function causeLine(cause: Cause): string {
  switch (cause.kind) {
    case "gate":
      return `${cause.stage}: gate ${cause.gate} ${gateWords(cause)}`;
    case "check":
      return `${cause.stage}: required check "${cause.check}" failed: ${cause.message}`;
    case "pod": {
      const what = cause.deployment?.split("/")[1] ?? "the new pods";
      return `${cause.stage}: ${what} would not run${cause.reason ? ` (${cause.reason})` : ""}`;
    }
    case "migration":
      return `${cause.stage}: migration ${cause.migration ?? ""} failed`.replace("  ", " ");
    case "lock":
      return `the run lost its lock${
        cause.stopped.length ? ` (stopped: ${cause.stopped.join(", ")})` : ""
      }`;
    case "interrupted":
      return cause.died
        ? `the runner died${cause.running.length ? ` during ${cause.running.join(", ")}` : ""}`
        : `interrupted${cause.running.length ? ` during ${cause.running.join(", ")}` : ""}`;
    case "stage":
      return `${cause.stage} failed: ${cause.message}`;
  }
}

function headline(r: Report, s: RunSummary, cause: Cause | undefined): string {
  if (!cause && s.status === "succeeded") {
    const took = s.durationMs !== undefined ? ` in ${formatDuration(s.durationMs)}` : "";
    return `succeeded${took}${s.dryRun ? " (a dry run: nothing was changed)" : ""}`;
  }
  const status = s.died ? "unfinished" : s.status.replace("_", " ");
  const rollback = r.rollback?.performed
    ? r.rollback.succeeded === false ? "; the rollback FAILED" : "; rolled back"
    : s.died
    ? ""
    : "; nothing was rolled back";
  return `${status}: ${cause ? causeLine(cause) : r.error ?? "no cause recorded"}${rollback}`;
}

/** The longest stages of a run, and its checks that warned: a line each. */
function notes(r: Report, s: RunSummary): string[] {
  const out: string[] = [];
  if (s.dryRun) out.push("a dry run: nothing was changed");
  if (s.resumes > 0) out.push(`resumed ${s.resumes} time(s) after its runner died`);
  // A failed run's notes are about its cause; a good one's, about where its time went.
  const longest = r.status !== "succeeded"
    ? []
    : r.stages.filter((x) => (x.durationMs ?? 0) >= 1_000)
      .sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0)).slice(0, 3);
  if (longest.length > 0) {
    out.push(
      `longest stages: ${
        longest.map((x) => `${x.id} ${formatDuration(x.durationMs ?? 0)}`).join(", ")
      }`,
    );
  }
  const warned = r.stages.flatMap((x) => (x.checks ?? []).filter((c) => c.status === "warned"));
  if (warned.length > 0) {
    out.push(
      `${warned.length} check(s) warned: ${warned[0]!.name}: ${warned[0]!.message}${
        warned.length > 1 ? ` (+${warned.length - 1} more)` : ""
      }`,
    );
  }
  return out;
}

function sandboxDirOf(invocation: readonly string[] | undefined, fallback: string): string {
  const args = invocation ?? [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--sandbox-dir" && args[i + 1] !== undefined) return args[i + 1]!;
    if (args[i]!.startsWith("--sandbox-dir=")) return args[i]!.slice("--sandbox-dir=".length);
  }
  return fallback;
}

function causeStage(
  cause: Cause | undefined,
  stages: readonly StageRecord[],
): StageRecord | undefined {
  if (!cause) return undefined;
  const id = "stage" in cause
    ? cause.stage
    : cause.kind === "interrupted"
    ? cause.running[0]
    : cause.stopped[0];
  return stages.find((s) => s.id === id);
}

/**
 * Explains a run from its folder: reads it (nothing is written) and says what happened, the
 * first cause of a failure, what the runner did, and what to run next.
 *
 * @param dir The run's folder.
 * @param options Where the commands point.
 * @returns The explanation.
 * @throws {SyntaxError} When the folder holds neither a readable report nor a journal.
 *
 * @example
 * ```ts
 * import { explainRun } from "./explain.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const line = (e: Record<string, unknown>) => JSON.stringify(e) + "\n";
 * await Deno.writeTextFile(`${dir}/events.jsonl`,
 *   line({ seq: 1, ts: "2026-01-01T00:00:00Z", type: "run.started", runId: "r1", pipeline: "deploy",
 *     environment: "staging", version: "v2", stages: [{ id: "deploy" }] }) +
 *   line({ seq: 2, ts: "2026-01-01T00:00:05Z", type: "stage.started", stage: "deploy" }));
 * const e = await explainRun(dir);
 * assert.equal(e.run.died, true);
 * assert.equal(e.next[0]?.command, "deno task resume r1");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function explainRun(dir: string, options: ExplainOptions = {}): Promise<Explanation> {
  const run = await readRun(dir);
  const r = run.report;
  const read = (log: string) => readLog(dir, log);
  const cause = await firstCause(r, { finished: run.finished, events: run.events, readLog: read });
  const s = summary(run);
  const first = causeStage(cause, r.stages);
  const alsoFailed = failedStages(r).filter((x) => x !== first).map((x) => ({
    stage: x.id,
    reason: stageError(x),
  }));
  const context: CommandContext = {
    runId: r.runId,
    environment: r.environment,
    ...(r.version ? { version: r.version } : {}),
    runsDirFlag: options.runsDirFlag ?? [],
    ...(run.invocation ? { invocation: run.invocation } : {}),
    sandbox: s.target.kind === "sandbox" || (run.invocation ?? []).includes("--sandbox"),
    sandboxDir: sandboxDirOf(run.invocation, options.defaultSandboxDir ?? SANDBOX_DIR),
    ...(s.target.namespace ? { namespace: s.target.namespace } : {}),
  };
  const notified = notifiedChannels(r.stages);
  const undelivered = r.undelivered ?? undeliveredOf(r.stages);
  return {
    runId: r.runId,
    runDir: dir,
    source: run.source,
    run: s,
    headline: headline(r, s, cause),
    ...(cause ? { cause } : {}),
    alsoFailed,
    rollback: {
      performed: r.rollback?.performed === true,
      succeeded: r.rollback?.succeeded ?? null,
      stages: r.rollback?.stages ?? [],
    },
    // A run that went well: its handlers are worth a line only when something did not arrive.
    actions: s.status === "succeeded" && !cause && undelivered.length === 0
      ? []
      : await handlerActions(r.stages, read),
    undelivered,
    ...(notified ? { notified: notified.channels, notifiedBy: notified.stage } : {}),
    notes: notes(r, s),
    next: nextSteps({ ...r, status: s.status }, cause, context),
    more: [
      run.source === "report" ? "report.json" : "events.jsonl",
      ...(first ? [first.log] : []),
    ],
  };
}
