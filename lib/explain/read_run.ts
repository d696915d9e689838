/**
 * Reads a run folder for `explain`, changing nothing in it: `report.json` when there is one,
 * the journal (`events.jsonl`: how the run was started, whether it finished), and the stages'
 * logs. A run whose runner died has no report: it is rebuilt in memory from the journal as
 * `report verify` would (`lib/report/derive.ts`: stage states, attempts, checks, gates), never
 * written; a journal that does not derive (a line naming one that is not there) is still read
 * as far as it goes ({@linkcode reportFromJournal}).
 * @module
 */
import type { GateRecord, Report, StageRecord } from "../report/types.ts";
import { rebuiltReport } from "../report/derive.ts";

/** One journal line, as parsed. */
export type JournalEvent = Record<string, unknown> & { type?: string; ts?: string; seq?: number };

/** A run folder, read. */
export interface RunFolder {
  /** The folder. */
  readonly dir: string;
  /** The report (from `report.json`, or put together from the journal). */
  readonly report: Report;
  /** Where the report came from. */
  readonly source: "report" | "journal";
  /** The journal's whole lines (a last line cut short by a kill is left out). */
  readonly events: readonly JournalEvent[];
  /** The runner finished the run (the journal has `run.finished`). */
  readonly finished: boolean;
  /** The command line it was started with, after the command's name's place (`deploy ...`). */
  readonly invocation?: readonly string[] | undefined;
}

/**
 * Finds a run: a folder given as is, or a run id under the runs folder. A run is a folder
 * with a `report.json` or an `events.jsonl`.
 *
 * @param which A run id, or a run folder.
 * @param runsDir Where run folders are.
 * @returns The run's folder, or undefined when there is no such run.
 *
 * @example
 * ```ts
 * import { findRun } from "./read_run.ts";
 * import assert from "node:assert/strict";
 * const runs = await Deno.makeTempDir();
 * await Deno.mkdir(`${runs}/r1`);
 * await Deno.writeTextFile(`${runs}/r1/events.jsonl`, "");
 * assert.equal(await findRun("r1", runs), `${runs}/r1`);
 * assert.equal(await findRun("r2", runs), undefined);
 * await Deno.remove(runs, { recursive: true });
 * ```
 */
export async function findRun(which: string, runsDir: string): Promise<string | undefined> {
  const candidates = which.includes("/") ? [which] : [`${runsDir}/${which}`, which];
  for (const dir of candidates) {
    for (const file of ["report.json", "events.jsonl"]) {
      const info = await Deno.stat(`${dir}/${file}`).catch(() => null);
      if (info?.isFile) return dir.replace(/\/+$/, "");
    }
  }
  return undefined;
}

function parseLines(text: string): JournalEvent[] {
  const out: JournalEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const value = JSON.parse(line);
      if (value && typeof value === "object") out.push(value as JournalEvent);
    } catch {
      // a last line cut short by a kill, or a line that is not JSON: not an event
    }
  }
  return out;
}

const NO_GRANT: StageRecord["permissions"] = {
  read: [],
  write: [],
  net: [],
  env: [],
  run: [],
  ffi: [],
  proxied: [],
  fullTrust: false,
};

/** `error_rate < 1%` → its comparison, threshold and unit (a gate string's own grammar). */
function gateParts(gate: string): Pick<GateRecord, "metric" | "operator" | "threshold" | "unit"> {
  const m = /^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(-?[0-9.]+)\s*(\S*)\s*$/.exec(gate);
  return m
    ? {
      metric: m[1]!,
      operator: m[2] as GateRecord["operator"],
      threshold: Number(m[3]),
      unit: m[4] ?? "",
    }
    : { metric: gate, operator: "<", threshold: NaN, unit: "" };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Puts a report together from a journal alone (in memory): what `run.started` says of the
 * run and its stages, each stage's state from its `stage.*` lines (a stage that started and
 * did not finish is `interrupted`, one that never started `skipped`), its approval, and its
 * gate samples; checks and calls are only in the logs.
 *
 * @param events The journal's lines.
 * @param runDir The run's folder (for the log paths' sake).
 * @returns The report, status `interrupted` unless the journal says how it finished.
 * @throws {SyntaxError} When the journal has no `run.started`.
 *
 * @example
 * ```ts
 * import { reportFromJournal } from "./read_run.ts";
 * import assert from "node:assert/strict";
 * const report = reportFromJournal([
 *   { seq: 1, ts: "2026-01-01T00:00:00Z", type: "run.started", runId: "r1", pipeline: "deploy",
 *     environment: "staging", stages: [{ id: "a" }, { id: "b" }] },
 *   { seq: 2, ts: "2026-01-01T00:00:01Z", type: "stage.started", stage: "a" },
 * ]);
 * assert.equal(report.status, "interrupted");
 * assert.deepEqual(report.stages.map((s) => s.status), ["interrupted", "skipped"]);
 * ```
 */
export function reportFromJournal(events: readonly JournalEvent[], runDir = "."): Report {
  const started = events.find((e) => e.type === "run.started");
  if (!started) throw new SyntaxError(`Cannot read the run in ${runDir}: no run.started`);
  const byId = new Map<string, StageRecord>();
  for (const g of (Array.isArray(started.stages) ? started.stages : []) as Partial<StageRecord>[]) {
    const id = String(g.id);
    byId.set(id, {
      id,
      ...(g.description ? { description: g.description } : {}),
      kind: g.kind ?? "normal",
      rollback: g.rollback ?? false,
      needs: g.needs ?? [],
      status: "skipped",
      reason: "never started",
      attempts: [],
      permissions: g.permissions ?? NO_GRANT,
      checks: [],
      gates: [],
      calls: [],
      log: `logs/${id.replace(/[^a-zA-Z0-9._-]/g, "_")}.log`,
    });
  }
  for (const e of events) {
    const r = typeof e.stage === "string" ? byId.get(e.stage) : undefined;
    if (!r) continue;
    if (e.type === "stage.started") {
      r.status = "interrupted";
      r.reason = "running when the journal stops";
      r.startedAt = String(e.ts);
    } else if (e.type === "stage.finished") {
      r.status = (str(e.status) ?? "failed") as StageRecord["status"];
      if (typeof e.reason === "string") r.reason = e.reason;
      else delete r.reason;
      r.finishedAt = String(e.ts);
      if (typeof e.durationMs === "number") r.durationMs = e.durationMs;
      if ("output" in e) r.output = e.output;
    } else if (e.type === "approval") {
      const { type: _t, stage: _s, seq: _q, ts: _ts, prev: _p, ...approval } = e;
      r.approval = approval as unknown as StageRecord["approval"];
    } else if (e.type === "gate.sample" && typeof e.gate === "string") {
      const method = str(e.method) ?? "fixed";
      let gate = r.gates.find((g) => g.gate === e.gate && (g.method ?? "fixed") === method);
      if (!gate) {
        gate = {
          gate: e.gate,
          ...gateParts(e.gate),
          failureLimit: 0,
          consecutiveErrorLimit: 0,
          inconclusivePolicy: "fail",
          verdict: "not_measured",
          method: method as GateRecord["method"],
          samples: [],
        };
        r.gates.push(gate);
      }
      const { type: _t, stage: _s, seq: _q, ts: _ts, prev: _p, gate: _g, method: _m, ...sample } =
        e;
      gate.samples.push(sample as unknown as GateRecord["samples"][number]);
      if (sample.verdict === "failed") gate.verdict = "failed";
    }
  }
  const finished = events.findLast((e) => e.type === "run.finished");
  const last = events.at(-1) ?? started;
  const rollback = finished?.rollback as Report["rollback"] | undefined;
  const ran = [...byId.values()].filter((s) => s.rollback && s.status !== "skipped");
  return {
    schemaVersion: 1,
    runId: String(started.runId),
    pipeline: { name: String(started.pipeline), file: String(started.pipelineFile ?? "") },
    environment: String(started.environment),
    ...(typeof started.version === "string" ? { version: started.version } : {}),
    dryRun: started.dryRun === true,
    status: (str(finished?.status) ?? "interrupted") as Report["status"],
    who: (started.who ?? { user: "unknown", host: "unknown" }) as Report["who"],
    git: (started.git ?? { commit: null, dirty: false, branch: null }) as Report["git"],
    target: {},
    startedAt: String(started.ts),
    finishedAt: String(last.ts),
    durationMs: Math.max(0, Date.parse(String(last.ts)) - Date.parse(String(started.ts))) || 0,
    stages: [...byId.values()],
    rollback: rollback ?? {
      performed: ran.length > 0,
      stages: ran.map((s) => s.id),
      succeeded: ran.length > 0 ? ran.every((s) => s.status === "succeeded") : null,
    },
    ...(typeof finished?.error === "string" ? { error: finished.error } : {}),
    events: { file: "events.jsonl", count: events.length, digest: "0".repeat(64) },
  };
}

/** Whether a parsed `report.json` has what `explain` reads (the rest is read defensively). */
function looksLikeReport(value: unknown): value is Report {
  const r = value as Partial<Report> | null;
  return !!r && typeof r === "object" && typeof r.runId === "string" &&
    Array.isArray(r.stages) && typeof r.status === "string";
}

/**
 * Reads a run folder: its report (or one put together from its journal), its journal, and
 * how it was started. Writes nothing.
 *
 * @param dir The run's folder (see {@linkcode findRun}).
 * @returns The folder, read.
 * @throws {SyntaxError} When neither a report nor a journal with `run.started` can be read.
 *
 * @example
 * ```ts
 * import { readRun } from "./read_run.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/events.jsonl`, JSON.stringify({
 *   seq: 1, ts: "2026-01-01T00:00:00Z", type: "run.started", runId: "r1", pipeline: "deploy",
 *   environment: "staging", invocation: ["deploy", "staging", "v1"], stages: [],
 * }) + "\n");
 * const run = await readRun(dir);
 * assert.equal(run.source, "journal");
 * assert.equal(run.finished, false);
 * assert.deepEqual(run.invocation, ["deploy", "staging", "v1"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRun(dir: string): Promise<RunFolder> {
  const journalText = await Deno.readTextFile(`${dir}/events.jsonl`).catch(() => "");
  const events = parseLines(journalText);
  let report: Report | undefined;
  const reportText = await Deno.readTextFile(`${dir}/report.json`).catch(() => undefined);
  if (reportText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(reportText);
    } catch (error) {
      throw new SyntaxError(
        `Cannot read ${dir}/report.json: ${(error as Error).message} (deno task report verify ` +
          "checks it against its journal)",
      );
    }
    if (!looksLikeReport(parsed)) {
      throw new SyntaxError(`Cannot read ${dir}/report.json: it is not a run report`);
    }
    report = parsed;
  }
  const started = events.find((e) => e.type === "run.started");
  const invocation = Array.isArray(started?.invocation)
    ? (started.invocation as unknown[]).map(String)
    : undefined;
  const finished = events.some((e) => e.type === "run.finished");
  return {
    dir,
    report: report ?? fromJournal(events, dir, finished),
    source: report ? "report" : "journal",
    events,
    // A report without a journal (copied alone) is taken at its word.
    finished: finished || (report !== undefined && events.length === 0),
    invocation,
  };
}

/**
 * The report of a run that has only its journal: rebuilt as `report verify` rebuilds a killed
 * run's (when it never finished), else read as far as the journal goes.
 */
function fromJournal(events: readonly JournalEvent[], dir: string, finished: boolean): Report {
  if (!finished) {
    try {
      return rebuiltReport(events, {
        file: "events.jsonl",
        count: events.length,
        digest: "0".repeat(64),
      });
    } catch {
      // a journal that does not hold together: read what it holds
    }
  }
  return reportFromJournal(events, dir);
}

/**
 * Reads a stage's log (relative to the run folder), or undefined when there is none.
 *
 * @param dir The run's folder.
 * @param log The log's path in it (`logs/<stage>.log`).
 * @returns The log's lines.
 *
 * @example
 * ```ts
 * import { readLog } from "./read_run.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await readLog("/nonexistent", "logs/a.log"), undefined);
 * ```
 */
export async function readLog(dir: string, log: string): Promise<string[] | undefined> {
  if (log.includes("..")) return undefined;
  const text = await Deno.readTextFile(`${dir}/${log}`).catch(() => undefined);
  return text?.split("\n").filter((l) => l.trim() !== "");
}
