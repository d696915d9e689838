/**
 * The run side of `resume`: what a run's journal says about how it started and how far it
 * got ({@linkcode readRunStart}), and reopening it to go on ({@linkcode reopenRun}).
 * @module
 */
import { Journal, verifyJournal } from "../journal/journal.ts";
import type { Redactor } from "../journal/redact.ts";
import type { Report } from "../report/schema.ts";
import type { Clock } from "../clock/clock.ts";
import type { JournalledStage } from "./engine_types.ts";
import { InputError } from "./errors.ts";
import { journalledStages } from "./resume.ts";
import type { RunHeader } from "./run.ts";

/** How a run started, and whether it finished, from its journal. */
export interface RunStart {
  /** The run's id. */
  readonly runId: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The environment. */
  readonly environment: string;
  /** The version, when the pipeline takes one. */
  readonly version?: string | undefined;
  /** The command line after the command's name (`deploy`), redacted. */
  readonly invocation?: readonly string[] | undefined;
  /** The runner's process id and host. */
  readonly pid?: number | undefined;
  /** Its host. */
  readonly host: string;
  /** How it finished, when it did. */
  readonly finished?: string | undefined;
  /** Why its journal's chain does not verify (a last line cut short by a kill does not count). */
  readonly broken?: string | undefined;
}

/** Verifies a journal's whole lines; a last line without its newline (a kill) is left out. */
async function brokenChain(path: string): Promise<string | undefined> {
  const text = await Deno.readTextFile(path);
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  const tmp = await Deno.makeTempFile({ prefix: "journal-check-" });
  try {
    await Deno.writeTextFile(tmp, whole);
    const v = await verifyJournal(tmp);
    return v.ok ? undefined : `line ${v.brokenAt}: ${v.reason}`;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

async function lines(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new InputError(`Cannot resume: there is no journal at ${path} (no such run)`);
    }
    throw error;
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    try {
      if (line !== "") out.push(JSON.parse(line));
    } catch { /* a last line cut short by the kill */ }
  }
  return out;
}

/**
 * Reads how a run started from its journal (`<runDir>/events.jsonl`).
 *
 * @param runDir The run's folder.
 * @returns Its pipeline, environment, version, command line, runner and ending.
 * @throws {InputError} When there is no journal, or it has no `run.started`.
 *
 * @example
 * ```ts ignore
 * const start = await readRunStart("runs/20260101T120000Z-a1b2c3");
 * console.log(start.invocation, start.finished ?? "never finished");
 * ```
 */
export async function readRunStart(runDir: string): Promise<RunStart> {
  const events = await lines(`${runDir}/events.jsonl`);
  const started = events.find((e) => e.type === "run.started");
  if (!started) throw new InputError(`Cannot resume: ${runDir}/events.jsonl has no run.started`);
  const finished = events.findLast((e) => e.type === "run.finished");
  const who = (started.who ?? {}) as { host?: string };
  const broken = await brokenChain(`${runDir}/events.jsonl`);
  return {
    runId: String(started.runId),
    pipeline: String(started.pipeline),
    environment: String(started.environment),
    ...(typeof started.version === "string" ? { version: started.version } : {}),
    ...(Array.isArray(started.invocation) ? { invocation: started.invocation.map(String) } : {}),
    ...(typeof started.pid === "number" ? { pid: started.pid } : {}),
    host: who.host ?? "",
    ...(finished ? { finished: String(finished.status) } : {}),
    ...(broken ? { broken } : {}),
  };
}

/** A run reopened to go on. */
export interface Resumed {
  /** Its journal, open for appending (`run.resumed` written). */
  readonly journal: Journal;
  /** Its header, as `run.started` recorded it. */
  readonly header: RunHeader;
  /** How each finished stage ended. */
  readonly stages: ReadonlyMap<string, JournalledStage>;
  /** Every resume so far, this one last. */
  readonly resumes: NonNullable<Report["resumes"]>;
}

/**
 * Reopens a run that never finished and records that it is resumed.
 *
 * @param runDir The run's folder.
 * @param o The redactor, the clock, and who resumes it.
 * @returns Its journal, header, finished stages and resumes.
 * @throws {InputError} When it finished, or its journal does not verify.
 *
 * @example
 * ```ts ignore
 * const { journal, stages } = await reopenRun(runDir, { redactor, clock, user: "ann" });
 * ```
 */
export async function reopenRun(
  runDir: string,
  o: { redactor: Redactor; clock: Clock; user: string },
): Promise<Resumed> {
  const start = await readRunStart(runDir);
  if (start.finished) {
    throw new InputError(
      `Cannot resume run ${start.runId}: it finished (${start.finished}); see deno task report ${start.runId}`,
    );
  }
  let opened: Awaited<ReturnType<typeof Journal.reopen>>;
  try {
    opened = await Journal.reopen(`${runDir}/events.jsonl`, {
      redactor: o.redactor,
      clock: o.clock,
    });
  } catch (error) {
    throw new InputError((error as Error).message);
  }
  const { journal, events, dropped } = opened;
  const started = events.find((e) => e.type === "run.started")!;
  const stages = journalledStages(events);
  const reused = [...stages].filter(([, s]) => s.status === "succeeded").map(([id]) => id);
  const at = new Date(o.clock.now()).toISOString();
  await journal.append({
    type: "run.resumed",
    by: o.user,
    pid: Deno.pid,
    reused,
    droppedLine: dropped,
  });
  await journal.flush();
  const resumes = [...events.filter((e) => e.type === "run.resumed"), {
    ts: at,
    by: o.user,
    reused,
    droppedLine: dropped,
  }].map((e) => ({
    at: String(e.ts),
    by: String(e.by),
    reused: (e.reused as string[]) ?? [],
    droppedLine: e.droppedLine === true,
  }));
  const who = started.who as RunHeader["who"];
  return {
    journal,
    header: {
      runId: start.runId,
      runDir,
      startedAt: String(started.ts),
      who,
      git: started.git as RunHeader["git"],
    },
    stages,
    resumes,
  };
}
