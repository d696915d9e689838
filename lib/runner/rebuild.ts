/**
 * A report rebuilt from the journal alone, for a run whose runner died before writing one
 * (`kill -9`, a lost machine): so that no run ever lacks a report. Its status is
 * `interrupted`, `rebuilt: true`; each stage's record is what the journal holds (status,
 * times, attempts, approval, output; a stage that was running is `interrupted`, one that
 * never started `skipped`); checks, gates and calls are only in the logs. The chain is
 * verified and its digest recorded, as for any report.
 * @module
 */
import { relative } from "node:path";
import { verifyJournal } from "../journal/journal.ts";
import { type Report, reportSchema, type StageRecord } from "../report/schema.ts";

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

type Event = Record<string, unknown> & { type?: string; ts?: string; stage?: string };

function records(started: Event, events: readonly Event[]): StageRecord[] {
  const graph = (started.stages ?? []) as Partial<StageRecord>[];
  const byId = new Map<string, StageRecord>();
  for (const g of graph) {
    const id = String(g.id);
    byId.set(id, {
      id,
      ...(g.description ? { description: g.description } : {}),
      kind: g.kind ?? "normal",
      rollback: g.rollback ?? false,
      needs: g.needs ?? [],
      status: "skipped",
      reason: "never started: the runner died",
      attempts: [],
      permissions: g.permissions ?? NO_GRANT,
      checks: [],
      gates: [],
      calls: [],
      log: `logs/${id.replace(/[^a-zA-Z0-9._-]/g, "_")}.log`,
    });
  }
  for (const e of events) {
    const r = e.stage === undefined ? undefined : byId.get(e.stage);
    if (!r) continue;
    if (e.type === "stage.started") {
      r.status = "interrupted";
      r.reason = "running when the runner died";
      r.startedAt = String(e.ts);
      delete r.finishedAt;
      delete r.durationMs;
    } else if (e.type === "stage.finished") {
      r.status = e.status as StageRecord["status"];
      if (typeof e.reason === "string") r.reason = e.reason;
      else delete r.reason;
      r.finishedAt = String(e.ts);
      if (typeof e.durationMs === "number") r.durationMs = e.durationMs;
      if ("output" in e) r.output = e.output;
    } else if (e.type === "approval") {
      const { type: _t, stage: _s, seq: _q, ts: _ts, prev: _p, ...approval } = e;
      r.approval = approval as unknown as StageRecord["approval"];
    }
  }
  return [...byId.values()];
}

/**
 * Rebuilds the report of a run that has a journal and no report, and writes it.
 *
 * @param runDir The run's folder.
 * @returns The report, as written to `<runDir>/report.json`.
 * @throws {Error} When the journal has no `run.started`, or its chain does not verify.
 *
 * @example
 * ```ts ignore
 * const report = await rebuildReport("runs/20260101T120000Z-a1b2c3");
 * console.log(report.status); // "interrupted"
 * ```
 */
export async function rebuildReport(runDir: string): Promise<Report> {
  const path = `${runDir}/events.jsonl`;
  const text = await Deno.readTextFile(path);
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  if (whole.length < text.length) {
    // A last line cut short by the kill: not part of the chain.
    await Deno.truncate(path, new TextEncoder().encode(whole).length);
  }
  const chain = await verifyJournal(path);
  if (!chain.ok) {
    throw new Error(
      `Cannot rebuild the report of ${runDir}: the journal is broken at line ${chain.brokenAt}: ${chain.reason}`,
    );
  }
  const events = whole.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Event);
  const started = events.find((e) => e.type === "run.started");
  if (!started) throw new Error(`Cannot rebuild the report of ${runDir}: no run.started`);
  const stages = records(started, events);
  const last = events.at(-1)!;
  const rollbacks = stages.filter((s) => s.rollback && s.status !== "skipped");
  const resumes = events.filter((e) => e.type === "run.resumed").map((e) => ({
    at: String(e.ts),
    by: String(e.by),
    reused: (e.reused as string[]) ?? [],
    droppedLine: e.droppedLine === true,
  }));
  const report: Report = {
    schemaVersion: 1,
    runId: String(started.runId),
    pipeline: { name: String(started.pipeline), file: String(started.pipelineFile ?? "") },
    environment: String(started.environment),
    ...(typeof started.version === "string" ? { version: started.version } : {}),
    dryRun: started.dryRun === true,
    status: "interrupted",
    who: started.who as Report["who"],
    git: started.git as Report["git"],
    target: {},
    startedAt: String(started.ts),
    finishedAt: String(last.ts),
    durationMs: Math.max(0, Date.parse(String(last.ts)) - Date.parse(String(started.ts))),
    stages,
    rollback: {
      performed: rollbacks.length > 0,
      stages: rollbacks.map((s) => s.id),
      succeeded: rollbacks.length > 0 ? rollbacks.every((s) => s.status === "succeeded") : null,
    },
    error: `the runner died (no run.finished after line ${events.length}); resume it: ` +
      `deno task resume ${String(started.runId)}`,
    ...(resumes.length > 0 ? { resumes } : {}),
    rebuilt: true,
    events: { file: relative(runDir, path), count: chain.lines, digest: chain.digest },
  };
  reportSchema.parse(report);
  await Deno.writeTextFile(`${runDir}/report.json.tmp`, JSON.stringify(report, null, 2) + "\n");
  await Deno.rename(`${runDir}/report.json.tmp`, `${runDir}/report.json`);
  return report;
}
