/**
 * The journal is the source of truth: what a run's `events.jsonl` says its report must
 * state ({@linkcode deriveReport}), field by field with the line that says it, and the report
 * of a run whose runner died, rebuilt from the journal alone ({@linkcode rebuiltReport}).
 *
 * What the runner journals for it (journal format {@linkcode JOURNAL_FORMAT}): `run.started`
 * (the run, its graph with each stage's permissions, its target with the plan's approval
 * evidence, when it started), `run.graph` (a resumed run's graph, as its resuming runner
 * granted it), `stage.started`, `stage.attempt` (a failed attempt),
 * `check` (with its evidence), `approval`, `gate.sample`, `gate.verdict` (a gate's record
 * without its samples, and the lines of its samples), `stage.decision`, `stage.finished`
 * (status, reason, times, the attempt that succeeded, the output) and `run.finished` (the
 * status, the rollback, the error, when it finished, and `reportDigest`: the digest of the
 * report without its `events` (`reportDigest` in `verify.ts`), which covers what no event
 * states: the calls, the log paths).
 * @module
 */
import type { Report, StageRecord } from "./schema.ts";
import { undeliveredOf } from "./undelivered.ts";
import {
  fieldPath,
  JOURNAL_FORMAT,
  JournalInconsistencyError,
  type JournalLine,
  num,
  StageFacts,
  stagesOf,
  text,
} from "./_stage_facts.ts";

export {
  fieldPath,
  JOURNAL_FORMAT,
  JournalInconsistencyError,
  type JournalLine,
} from "./_stage_facts.ts";

/**
 * What a journal says a report must state.
 *
 * @example
 * ```ts
 * import type { Derivation } from "./derive.ts";
 * const statusOf = (d: Derivation) => d.expected.status;
 * ```
 */
export interface Derivation {
  /**
   * How much the journal states: `finished` (a run that finished: every fact, and the
   * digest of the rest), `rebuilt` (no `run.finished`: the whole report, rebuilt), or
   * `legacy` (an older journal that finished: the run's and its stages' status and reason).
   */
  readonly kind: "finished" | "rebuilt" | "legacy";
  /** The report's fields, shaped as the report, but for `events`. */
  readonly expected: Record<string, unknown>;
  /** Objects of `expected` of which only the keys given are stated, by path (`""`: the report). */
  readonly partial: ReadonlySet<string>;
  /** The line (1-based) that states each field, by path (`stages[3].gates[0].samples[2]`). */
  readonly lines: ReadonlyMap<string, number>;
  /** `run.finished`: its line, and the report digest it recorded. */
  readonly finished?: { readonly line: number; readonly reportDigest?: string | undefined };
}

function rollbackOf(stages: readonly StageRecord[]): Report["rollback"] {
  const rollbacks = stages.filter((s) => s.rollback && s.status !== "skipped");
  return {
    performed: rollbacks.length > 0,
    stages: rollbacks.map((s) => s.id),
    succeeded: rollbacks.length > 0 ? rollbacks.every((s) => s.status === "succeeded") : null,
  };
}

/** The journal's `run.started`, its format, and its lines by seq. */
function basics(events: readonly JournalLine[]) {
  const at = events.findIndex((e) => e.type === "run.started");
  if (at < 0) throw new JournalInconsistencyError("the journal has no run.started", 1);
  const started = { event: events[at]!, line: at + 1 };
  const format = num(started.event.journal) ?? 1;
  const bySeq = new Map(
    events.map((event, i) => [num(event.seq) ?? i + 1, { line: i + 1, event }] as const),
  );
  return { started, format, bySeq };
}

/** Each undelivered message, and the line of the stage that gave up on it. */
function undeliveredFacts(facts: readonly StageFacts[], lines: Map<string, number>) {
  const found = [];
  for (const f of facts) {
    for (const u of undeliveredOf([f.record])) {
      lines.set(fieldPath("undelivered", found.length), f.lines.get("output") ?? 0);
      found.push(u);
    }
  }
  return found.length > 0 ? found : undefined;
}

/**
 * The report of a run whose runner died before writing one: status `interrupted`,
 * `rebuilt: true`, each stage as far as the journal took it (a stage that was running is
 * `interrupted`, one that never started `skipped`); a journal of format 2 gives each stage's
 * attempts, checks and gates too (calls are only in the logs).
 *
 * @param events The journal's lines, parsed, in order (whole lines only).
 * @param journal The journal's file (relative to the run folder), line count and digest.
 * @returns The report.
 * @throws {JournalInconsistencyError} When the journal has no `run.started`, or a line
 * names one that is not what it says.
 *
 * @example
 * ```ts
 * import { rebuiltReport } from "./derive.ts";
 * import assert from "node:assert/strict";
 * const report = rebuiltReport([
 *   { seq: 1, ts: "2026-01-01T12:00:00.000Z", type: "run.started", runId: "r1", pipeline: "p",
 *     environment: "dev", who: { user: "ann", host: "h" },
 *     git: { commit: null, dirty: false, branch: null }, stages: [{ id: "lock" }] },
 *   { seq: 2, ts: "2026-01-01T12:00:01.000Z", type: "stage.started", stage: "lock" },
 * ], { file: "events.jsonl", count: 2, digest: "0".repeat(64) });
 * assert.equal(report.status, "interrupted");
 * assert.equal(report.stages[0]!.status, "interrupted");
 * ```
 */
export function rebuiltReport(
  events: readonly JournalLine[],
  journal: Report["events"],
): Report {
  return rebuild(events, journal).report;
}

/** A rebuilt report, and the line of each of its stages' fields. */
function rebuild(
  events: readonly JournalLine[],
  journal: Report["events"],
): { report: Report; lines: Map<string, number> } {
  const { started, format, bySeq } = basics(events);
  const s = started.event;
  const facts = stagesOf(events, started, { rebuilt: true, format, bySeq });
  const stages = facts.map((f) => f.record);
  const last = events.at(-1)!;
  const resumes = events.filter((e) => e.type === "run.resumed").map((e) => ({
    at: String(e.ts),
    by: String(e.by),
    reused: (e.reused as string[]) ?? [],
    droppedLine: e.droppedLine === true,
  }));
  const report: Report = {
    schemaVersion: 1,
    runId: String(s.runId),
    pipeline: { name: String(s.pipeline), file: String(s.pipelineFile ?? "") },
    environment: String(s.environment),
    ...(typeof s.version === "string" ? { version: s.version } : {}),
    dryRun: s.dryRun === true,
    status: "interrupted",
    who: s.who as Report["who"],
    git: s.git as Report["git"],
    target: (s.target ?? {}) as Report["target"],
    startedAt: String(s.ts),
    finishedAt: String(last.ts),
    durationMs: Math.max(0, Date.parse(String(last.ts)) - Date.parse(String(s.ts))),
    stages,
    rollback: rollbackOf(stages),
    error: `the runner died (no run.finished after line ${events.length}); resume it: ` +
      `deno task resume ${String(s.runId)}`,
    ...(resumes.length > 0 ? { resumes } : {}),
    rebuilt: true,
    events: journal,
  };
  // Every field of the run is run.started's, but how it ended: no run.finished after the last.
  const lines = stageLines(facts, new Map([["", started.line]]));
  for (const k of ["status", "finishedAt", "durationMs", "rollback", "error", "rebuilt"]) {
    lines.set(k, events.length);
  }
  return { report, lines };
}

/** The lines of the stages' fields (`stages[i].…`), added to `lines`. */
function stageLines(facts: readonly StageFacts[], lines: Map<string, number>) {
  for (const [i, f] of facts.entries()) {
    const path = fieldPath("stages", i);
    for (const [k, line] of f.lines) lines.set(k === "" ? path : `${path}.${k}`, line);
  }
  return lines;
}

/**
 * What a run's journal says its report must state, and which line says each field.
 *
 * @param events The journal's lines, parsed, in order.
 * @returns The derivation: expected fields, their lines, and `run.finished`'s digest.
 * @throws {JournalInconsistencyError} When the journal has no `run.started`, or a line
 * names one that is not what it says.
 *
 * @example
 * ```ts
 * import { deriveReport } from "./derive.ts";
 * import assert from "node:assert/strict";
 * const d = deriveReport([
 *   { seq: 1, ts: "2026-01-01T12:00:00.000Z", type: "run.started", runId: "r1", pipeline: "p",
 *     environment: "dev", stages: [{ id: "lock" }], journal: 2, target: {} },
 *   { seq: 2, type: "stage.finished", stage: "lock", status: "succeeded" },
 *   { seq: 3, type: "run.finished", status: "succeeded", reportDigest: "sha256:00" },
 * ]);
 * assert.equal(d.kind, "finished");
 * assert.equal(d.expected.status, "succeeded");
 * assert.equal(d.lines.get("stages[0].status"), 2);
 * ```
 */
export function deriveReport(events: readonly JournalLine[]): Derivation {
  const { started, format, bySeq } = basics(events);
  const at = events.findLastIndex((e) => e.type === "run.finished");
  if (at < 0) {
    const { report, lines } = rebuild(events, {
      file: "events.jsonl",
      count: events.length,
      digest: "",
    });
    const { events: _events, ...expected } = report;
    return { kind: "rebuilt", expected, partial: new Set(), lines };
  }
  const fin = events[at]!;
  const finished = { line: at + 1, reportDigest: text(fin.reportDigest) };
  const s = started.event;
  const resumed = events.some((e) => e.type === "run.resumed");
  const facts = stagesOf(events, started, { rebuilt: false, format, bySeq });
  // Only the fields given of the report and of each stage are stated (not calls, logs...).
  const partial = new Set(["", ...facts.map((_, i) => fieldPath("stages", i))]);
  const lines = stageLines(facts, new Map([["", started.line]]));
  for (const k of ["status", "finishedAt", "durationMs", "rollback", "error", "rebuilt"]) {
    lines.set(k, finished.line);
  }
  if (format < JOURNAL_FORMAT) {
    const expected = {
      runId: s.runId,
      environment: s.environment,
      status: fin.status,
      stages: facts.map(({ record: r }) => ({ id: r.id, status: r.status, reason: r.reason })),
      rollback: fin.rollback,
      error: text(fin.error),
    };
    return { kind: "legacy", expected, partial, lines, finished };
  }
  if ("target" in fin) lines.set("target", finished.line);
  // A resumed run's report names the pipeline file as the resuming runner found it.
  if (resumed) partial.add("pipeline");
  const expected: Record<string, unknown> = {
    runId: s.runId,
    pipeline: resumed ? { name: s.pipeline } : { name: s.pipeline, file: s.pipelineFile },
    environment: s.environment,
    version: text(s.version),
    dryRun: s.dryRun === true,
    status: fin.status,
    who: s.who,
    git: s.git,
    target: "target" in fin ? fin.target : s.target,
    // A resumed run's report starts when its journal does.
    startedAt: resumed ? s.ts : s.startedAt,
    finishedAt: fin.finishedAt,
    durationMs: fin.durationMs,
    stages: facts.map(({ record: { calls: _c, log: _l, ...r } }) => r),
    rollback: fin.rollback,
    error: text(fin.error),
    rebuilt: undefined,
    undelivered: undeliveredFacts(facts, lines),
  };
  return { kind: "finished", expected, partial, lines, finished };
}
