/**
 * A whole run: the run folder, the journal, the engine, and the report. Everything is
 * stamped and timed on the run's clock; the run's own real work (the folder, `git`, the
 * report) holds it, so a virtual clock moves only while stages wait.
 * @module
 */
import { hostname } from "node:os";
import { relative } from "node:path";
import { Journal } from "../journal/journal.ts";
import {
  type ApprovalRecord,
  type Report,
  reportSchema,
  type StageRecord,
} from "../report/schema.ts";
import {
  type CapabilityProvider,
  type EngineOptions,
  type EngineResult,
  type GateAnalyzer,
  runGraph,
} from "./engine.ts";
import { actor } from "./identity.ts";
import { undeliveredOf } from "../report/undelivered.ts";
import type { JournalledStage } from "./engine_types.ts";
import { reopenRun, type Resumed } from "./resume_run.ts";
import { RUNS_DIR } from "../product/mod.ts";
import type { PreparedRun } from "./prepare.ts";
import { type Clock, realClock } from "../clock/clock.ts";
import { JOURNAL_FORMAT } from "../report/derive.ts";
import { reportDigest } from "../report/verify.ts";

/** How to run a prepared pipeline. */
export interface ExecuteOptions {
  /** Where run folders go (default {@linkcode RUNS_DIR}). */
  readonly runsDir?: string;
  /** Stages that may run at once (default 4). */
  readonly concurrency?: number;
  /** Describe, change nothing. */
  readonly dryRun?: boolean;
  /** Resources the main thread holds, by name. */
  readonly capabilities?: Readonly<Record<string, CapabilityProvider>>;
  /** Gives approvals (a TTY prompt, `--confirm`, ...). */
  readonly approve: (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord>;
  /** Measures gates. Without it, gated stages fail closed. */
  readonly analyze?: GateAnalyzer;
  /** Where the run went, for the report. */
  readonly target?: Readonly<Record<string, unknown>>;
  /**
   * Who runs it, for the journal and the report (default {@linkcode actor}: the
   * `DEPLOY_ACTOR` variable, `git config user.email`, or the OS user).
   */
  readonly user?: string;
  /** Interrupts the run (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * Fails the run from outside its stages (aborted with an `Error`: e.g. the deploy lock
   * was lost): see `EngineOptions.failure`.
   */
  readonly failure?: AbortSignal | undefined;
  /** Told what a stage's code printed, redacted (default: standard error). */
  readonly onPrint?: (stageId: string, stream: "stdout" | "stderr", text: string) => void;
  /** Told of every stage state change. */
  readonly onChange?: (record: StageRecord, running: boolean) => void;
  /** Told of a stage's notices. */
  readonly onNotice?: (stageId: string, message: string) => void;
  /** Told the run folder as soon as it exists. */
  readonly onStart?: (runId: string, runDir: string) => void;
  /**
   * The run's clock (default {@linkcode realClock}): the journal's and the report's times,
   * stage durations, retry backoffs, stage time limits and `ctx.sleep` are on it. On a
   * virtual clock stages' code runs one delivery at a time, in a deterministic order.
   */
  readonly clock?: Clock;
  /**
   * The run's id (default: the clock's time and 6 random hex digits,
   * `20260101T120000Z-a1b2c3`). Give one for a run that must be reproducible. It names
   * the run folder: letters, digits, `.`, `_` and `-` only.
   */
  readonly runId?: string;
  /**
   * Capabilities that hold the clock only around their own real I/O (default
   * `["kubernetes"]`); any other capability's call holds the clock from start to end.
   */
  readonly clockAwareCapabilities?: readonly string[];
  /**
   * The command line that started the run (after the command's name), kept in the
   * journal's `run.started` (redacted) so that `resume` can start it again the same way.
   */
  readonly invocation?: readonly string[];
  /**
   * Resume this run (its folder under `runsDir`) instead of starting one: its journal is
   * reopened and appended to, and the stages it finished are not run again. Refused when
   * the run finished.
   */
  readonly resume?: string;
  /**
   * Told the stages the journal says ended, before a resumed run goes on (e.g. to re-take
   * the lock a finished stage holds); throwing stops the resume before anything runs.
   */
  readonly onResume?: (stages: ReadonlyMap<string, JournalledStage>) => Promise<void>;
  /**
   * The previous run of the same environment (its id and its journal's final digest), or
   * null for the first: recorded in `run.started` (`previous`), so that runs chain across
   * time and a deleted or replaced run shows (`deno task report audit`).
   */
  readonly previous?: RunLink | null;
}

/**
 * A link to a run: its id and its journal's digest (the hash of its last line).
 *
 * @example
 * ```ts
 * import type { RunLink } from "./run.ts";
 * const link: RunLink = { runId: "20260101T120000Z-a1b2c3", digest: "0".repeat(64) };
 * ```
 */
export interface RunLink {
  /** The run's id. */
  readonly runId: string;
  /** The hex SHA-256 of its journal's last line. */
  readonly digest: string;
  /** How many events the digest covers (the line it is the hash of). */
  readonly events?: number;
}

/**
 * The built-in `run` capability's name: a stage that `.uses("run")` may call
 * `checkpoint()`, the journal's digest so far (e.g. to write it into the cluster's record).
 */
export const RUN_CAPABILITY = "run";

/** A finished run. */
export interface RunOutcome {
  /** The run's id, e.g. `20260101T120000Z-a1b2c3`. */
  readonly runId: string;
  /** The run folder (journal, logs, report). */
  readonly runDir: string;
  /** The report's path, `<runDir>/report.json`. */
  readonly reportPath: string;
  /** The report, as written. */
  readonly report: Report;
}

async function git(clock: Clock, args: string[]): Promise<string | null> {
  try {
    const out = await clock.track(
      "git",
      new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output(),
    );
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

function runIdAt(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `${stamp}-${[...rand].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Who ran it, from which commit, since when: the run's header in the journal and report. */
export interface RunHeader {
  readonly runId: string;
  readonly runDir: string;
  readonly startedAt: string;
  readonly who: { user: string; host: string };
  readonly git: { commit: string | null; dirty: boolean; branch: string | null };
}

/** The graph as the report states it: each stage's kind, needs and permissions. */
function graphOf(prepared: PreparedRun) {
  return [...prepared.dag.stages.values()].map((spec) => ({
    id: spec.id,
    ...(spec.description ? { description: spec.description } : {}),
    kind: spec.kind,
    rollback: spec.rollback,
    needs: [...spec.needs],
    permissions: prepared.grants.get(spec.id),
  }));
}

/** Opens the run's journal and writes `run.started`. */
async function startRun(
  prepared: PreparedRun,
  o: ExecuteOptions,
  h: Omit<RunHeader, "who" | "git">,
): Promise<{ journal: Journal; header: RunHeader }> {
  const clock = o.clock ?? realClock;
  const journal = await Journal.open(`${h.runDir}/events.jsonl`, {
    redactor: prepared.redactor,
    clock,
  });
  const [commit, porcelain, branch] = await Promise.all([
    git(clock, ["rev-parse", "HEAD"]),
    git(clock, ["status", "--porcelain"]),
    git(clock, ["rev-parse", "--abbrev-ref", "HEAD"]),
  ]);
  const header: RunHeader = {
    ...h,
    who: { user: o.user ?? await clock.track("actor", actor()), host: hostname() },
    git: { commit, dirty: porcelain !== null && porcelain !== "", branch },
  };
  await journal.append({
    type: "run.started",
    runId: h.runId,
    pipeline: prepared.definition.name,
    environment: prepared.env.name,
    version: prepared.version?.tag,
    dryRun: o.dryRun ?? false,
    who: header.who,
    git: header.git,
    // Which process runs it (resume refuses while it lives); not on a virtual clock, whose
    // replays must write the same bytes.
    ...(clock.kind === "virtual" ? {} : { pid: Deno.pid }),
    pipelineFile: relative(Deno.cwd(), prepared.pipelineFile),
    // The graph, so that a report can be rebuilt from the journal alone.
    stages: graphOf(prepared),
    ...(o.invocation ? { invocation: o.invocation } : {}),
    ...(o.previous !== undefined ? { previous: o.previous } : {}),
    // What the report states that the events do not: where the run went (with the plan's
    // approval evidence) and when it started; `journal: 2` says the journal carries every
    // fact of the report (lib/report/derive.ts).
    target: { ...(o.target ?? {}) },
    startedAt: h.startedAt,
    journal: JOURNAL_FORMAT,
  });
  return { journal, header };
}

/** The engine's options for a prepared run. */
function engineOptions(
  prepared: PreparedRun,
  o: ExecuteOptions,
  run: { header: RunHeader; journal: Journal; resumed?: Resumed | undefined },
): EngineOptions {
  return {
    definition: prepared.definition,
    pipelineUrl: prepared.pipelineUrl,
    nodeGuard: prepared.nodeGuard,
    runId: run.header.runId,
    user: run.header.who.user,
    dag: prepared.dag,
    grants: prepared.grants,
    env: prepared.env,
    environmentName: prepared.env.name,
    version: prepared.version,
    options: prepared.options,
    concurrency: o.concurrency ?? 4,
    dryRun: o.dryRun ?? false,
    capabilities: {
      ...(o.capabilities ?? {}),
      [RUN_CAPABILITY]: {
        // The journal so far: the run's id, how many events, the digest of the last one, and
        // the run before it (as run.started recorded it; a resumed run's is in its journal,
        // not said again here).
        checkpoint: (): RunLink & { previous?: RunLink | null } => ({
          runId: run.header.runId,
          events: run.journal.length,
          digest: run.journal.digest,
          ...(o.previous !== undefined
            ? { previous: o.previous }
            : o.resume === undefined
            ? { previous: null }
            : {}),
        }),
      },
    },
    approve: o.approve,
    ...(o.analyze ? { analyze: o.analyze } : {}),
    journal: run.journal,
    redactor: prepared.redactor,
    runDir: run.header.runDir,
    signal: o.signal ?? new AbortController().signal,
    ...(o.failure ? { failure: o.failure } : {}),
    ...(run.resumed ? { resume: run.resumed.stages } : {}),
    clock: o.clock ?? realClock,
    ...(o.clockAwareCapabilities ? { clockAwareCapabilities: o.clockAwareCapabilities } : {}),
    ...(o.onPrint ? { onPrint: o.onPrint } : {}),
    ...(o.onChange ? { onChange: o.onChange } : {}),
    ...(o.onNotice ? { onNotice: o.onNotice } : {}),
  };
}

/** The report, redacted, but for `events` (the journal is not closed yet). */
function reportOf(
  prepared: PreparedRun,
  o: ExecuteOptions,
  run: {
    header: RunHeader;
    result: EngineResult;
    startedMs: number;
    resumes?: Report["resumes"];
  },
): Omit<Report, "events"> {
  const { header, result } = run;
  const clock = o.clock ?? realClock;
  const finishedAt = new Date(clock.now()).toISOString();
  const undelivered = undeliveredOf(result.stages);
  return prepared.redactor.redactValue({
    schemaVersion: 1 as const,
    runId: header.runId,
    pipeline: { name: prepared.definition.name, file: relative(Deno.cwd(), prepared.pipelineFile) },
    environment: prepared.env.name,
    ...(prepared.version ? { version: prepared.version.tag } : {}),
    dryRun: o.dryRun ?? false,
    status: result.status,
    who: header.who,
    git: header.git,
    target: { ...(o.target ?? {}) },
    startedAt: header.startedAt,
    finishedAt,
    durationMs: run.resumes
      ? Math.max(0, clock.now() - Date.parse(header.startedAt))
      : clock.since(run.startedMs),
    stages: result.stages,
    rollback: result.rollback,
    ...(result.error ? { error: result.error } : {}),
    ...(run.resumes && run.resumes.length > 0 ? { resumes: run.resumes } : {}),
    ...(undelivered.length > 0 ? { undelivered } : {}),
  });
}

/** Writes `report.json` (validated, atomically). */
async function writeReport(clock: Clock, runDir: string, report: Report): Promise<string> {
  reportSchema.parse(report);
  const reportPath = `${runDir}/report.json`;
  await clock.track(
    "report",
    Deno.writeTextFile(`${reportPath}.tmp`, JSON.stringify(report, null, 2) + "\n")
      .then(() => Deno.rename(`${reportPath}.tmp`, reportPath)),
  );
  return reportPath;
}

/**
 * Runs a prepared pipeline and writes its report. A failed or interrupted run still
 * leaves a valid report.
 *
 * @param prepared From {@linkcode prepareRun}.
 * @param o How to run it.
 * @returns Where the report is, and the report.
 *
 * @example
 * ```ts ignore
 * const prepared = await prepareRun({ pipelineFile: "pipelines/deploy.ts", environment: "staging" });
 * const { report, reportPath } = await executeRun(prepared, { approve: askOnTerminal });
 * console.log(report.status, reportPath);
 * ```
 */
export async function executeRun(prepared: PreparedRun, o: ExecuteOptions): Promise<RunOutcome> {
  const clock = o.clock ?? realClock;
  const startedMs = clock.now();
  if (o.resume !== undefined) return await resumeRun(prepared, o, o.resume);
  const runId = o.runId ?? runIdAt(startedMs);
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === "." || runId === "..") {
    throw new TypeError(
      `Cannot use run id "${runId}": it names the run folder, so only letters, digits, ".", "_" and "-"`,
    );
  }
  const runDir = `${o.runsDir ?? RUNS_DIR}/${runId}`;
  await clock.track("run folder", Deno.mkdir(`${runDir}/logs`, { recursive: true }));
  o.onStart?.(runId, runDir);
  const startedAt = new Date(startedMs).toISOString();
  const { journal, header } = await startRun(prepared, o, { runId, runDir, startedAt });
  return await runToEnd(prepared, o, { header, journal, startedMs });
}

/** Goes on with a run whose runner died: its journal reopened, its finished stages kept. */
async function resumeRun(prepared: PreparedRun, o: ExecuteOptions, runId: string) {
  const clock = o.clock ?? realClock;
  const startedMs = clock.now();
  const runDir = `${o.runsDir ?? RUNS_DIR}/${runId}`;
  const resumed = await reopenRun(runDir, {
    redactor: prepared.redactor,
    clock,
    user: o.user ?? await clock.track("actor", actor()),
  });
  const { journal, header } = resumed;
  try {
    await o.onResume?.(resumed.stages);
  } catch (error) {
    await journal.close();
    throw error;
  }
  // The graph as this runner prepared it: what its stages are granted now (a stand-in's
  // port, a permission changed since) is what the report states.
  await journal.append({ type: "run.graph", stages: graphOf(prepared) });
  o.onStart?.(runId, runDir);
  return await runToEnd(prepared, o, { header, journal, startedMs, resumed });
}

/**
 * Runs the graph, records `run.finished` (with the digest of the report to be written, so
 * that no field of it can be changed unseen), closes the journal and writes the report.
 */
async function runToEnd(
  prepared: PreparedRun,
  o: ExecuteOptions,
  run: { header: RunHeader; journal: Journal; startedMs: number; resumed?: Resumed },
): Promise<RunOutcome> {
  const { header, journal, resumed } = run;
  const clock = o.clock ?? realClock;
  const result = await runGraph(engineOptions(prepared, o, { header, journal, resumed }));
  const body = reportOf(prepared, o, {
    header,
    result,
    startedMs: run.startedMs,
    ...(resumed ? { resumes: resumed.resumes } : {}),
  });
  await journal.append({
    type: "run.finished",
    status: result.status,
    rollback: result.rollback,
    ...(result.error ? { error: result.error } : {}),
    finishedAt: body.finishedAt,
    durationMs: body.durationMs,
    // A resumed run's report says where the resuming invocation went.
    ...(resumed ? { target: body.target } : {}),
    reportDigest: await clock.track("report digest", reportDigest(body)),
  });
  await journal.close();
  const report: Report = {
    ...body,
    events: { file: "events.jsonl", count: journal.length, digest: journal.digest },
  };
  const reportPath = await writeReport(clock, header.runDir, report);
  return { runId: header.runId, runDir: header.runDir, reportPath, report };
}
