/**
 * An environment's runs, read back from their folders for an audit: each run's journal
 * (`events.jsonl`, the source of truth) is read whole and its hash chain checked, keeping
 * the digest of every line (a checkpoint the cluster recorded names a line), and what the
 * audit needs is taken from its events: `run.started` (pipeline, environment, version,
 * commit, dry run, the previous run's link), `run.finished` (status, rollback), which
 * stages wrote a checkpoint (they used the `run` capability) and what a rollback run
 * rolled back. `report.json`, when there is one, is only compared with the journal (its
 * `events.digest`); `deno task report verify` checks the rest of it.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { GENESIS } from "../journal/journal.ts";
import { chainOrder } from "./run_link.ts";

/** A link to a run as `run.started`'s `previous` records it: its id and final digest. */
export interface AuditLink {
  /** The run's id. */
  readonly runId: string;
  /** The hex SHA-256 of its journal's last line when the next run started. */
  readonly digest: string;
  /** How many lines that digest covers, when recorded. */
  readonly events?: number | undefined;
}

/** How a run ended, from its journal (`unfinished`: no `run.finished`, its runner died). */
export type AuditedStatus = "succeeded" | "failed" | "rolled_back" | "interrupted" | "unfinished";

/**
 * One run as the audit sees it.
 *
 * @example
 * ```ts
 * import type { AuditedRun } from "./history.ts";
 * const first = (runs: readonly AuditedRun[]) => runs[0]?.runId;
 * console.assert(first([]) === undefined);
 * ```
 */
export interface AuditedRun {
  /** The run's id (its folder's name). */
  readonly runId: string;
  /** The run's folder. */
  readonly dir: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The environment it ran in. */
  readonly environment: string;
  /** The version it deployed (e.g. `v1.2.4`), when its pipeline takes one. */
  readonly version: string | undefined;
  /** Whether it was a dry run (dry runs are not chained). */
  readonly dryRun: boolean;
  /** When it started (`run.started`'s time), ISO 8601. */
  readonly startedAt: string;
  /** When it finished (`run.finished`'s time), when it did. */
  readonly finishedAt: string | undefined;
  /** How it ended. */
  readonly status: AuditedStatus;
  /** Whether its rollback stages ran, and whether they succeeded (null: none ran). */
  readonly rollback: { readonly performed: boolean; readonly succeeded: boolean | null };
  /** The commit it ran from. */
  readonly commit: string | null;
  /** Where it went (`sandbox`, `kubernetes`: `run.started`'s or the report's `target.kind`). */
  readonly target: string | undefined;
  /**
   * The previous run of the environment as it recorded it: null for the first,
   * undefined when its journal predates chaining (no `previous` at all).
   */
  readonly previous: AuditLink | null | undefined;
  /** The journal: lines, whether the chain holds, where it breaks. */
  readonly journal: {
    readonly ok: boolean;
    readonly lines: number;
    /** The digest of the last line (of the last line that chains, when broken). */
    readonly digest: string;
    readonly brokenAt?: number | undefined;
    readonly reason?: string | undefined;
  };
  /** The digest of each line (1-based line `n` is index `n - 1`) up to where it breaks. */
  readonly lineDigests: readonly string[];
  /** The report's recorded digest (null: no report; `invalid`: not readable JSON). */
  readonly reportDigest: string | null | "invalid";
  /** The stages that wrote a checkpoint: they used the `run` capability and succeeded. */
  readonly checkpointStages: readonly string[];
  /** The run ids named as `runId` in its succeeded stages' outputs (a rollback's target). */
  readonly outputRunIds: readonly string[];
}

/** A folder in the runs folder that could not be read as a run. */
export interface UnreadableRun {
  /** The folder. */
  readonly dir: string;
  /** The run id its report names, when it has a readable one. */
  readonly runId: string | undefined;
  /** Why. */
  readonly reason: string;
}

/** What {@linkcode readRunHistory} found. */
export interface RunHistory {
  /** The environment's runs, in the order they started (then by id). */
  readonly runs: readonly AuditedRun[];
  /** Folders of this environment (by their report) that could not be read as runs. */
  readonly unreadable: readonly UnreadableRun[];
}

/** The built-in capability a checkpointing stage uses (the runner's `RUN_CAPABILITY`). */
const RUN_RESOURCE = "run";

type Event = Record<string, unknown>;

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function linkOf(value: unknown): AuditLink | null | undefined {
  if (value === null) return null;
  const v = value as Record<string, unknown> | undefined;
  if (typeof v?.runId !== "string" || typeof v.digest !== "string") return undefined;
  return {
    runId: v.runId,
    digest: v.digest,
    ...(typeof v.events === "number" ? { events: v.events } : {}),
  };
}

/** The chain of a journal's text: each line's digest, and where it breaks. */
function chainOf(source: string) {
  const lines = source.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const digests: string[] = [];
  const events: Event[] = [];
  let prev = GENESIS;
  for (const [i, line] of lines.entries()) {
    let parsed: Event;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { lines: lines.length, digests, events, brokenAt: i + 1, reason: "not JSON" };
    }
    if (parsed?.prev !== prev) {
      const reason = i === 0
        ? "the first line does not start the chain"
        : `line ${i + 1} does not carry the hash of line ${i}`;
      return { lines: lines.length, digests, events, brokenAt: i + 1, reason };
    }
    prev = sha256(line);
    digests.push(prev);
    events.push(parsed);
  }
  return { lines: lines.length, digests, events };
}

/**
 * The stages that wrote a checkpoint: those that used the `run` capability (it is in their
 * grant's `proxied` resources in `run.started`'s graph) and succeeded, and any stage a
 * `run.checkpoint` event names.
 */
function checkpointStagesOf(started: Event, events: readonly Event[]): string[] {
  const graph = Array.isArray(started.stages) ? started.stages as Event[] : [];
  const users = new Set(
    graph.filter((s) => {
      const proxied = (s.permissions as { proxied?: unknown } | undefined)?.proxied;
      return Array.isArray(proxied) && proxied.includes(RUN_RESOURCE);
    }).map((s) => String(s.id)),
  );
  const done = events.filter((e) =>
    (e.type === "stage.finished" && e.status === "succeeded" && users.has(String(e.stage))) ||
    // A checkpoint the journal itself records, should the runner write one.
    e.type === "run.checkpoint"
  );
  return [...new Set(done.map((e) => String(e.stage ?? "run")))];
}

function outputRunIdsOf(events: readonly Event[], own: string): string[] {
  const ids = new Set<string>();
  for (const e of events) {
    if (e.type !== "stage.finished" || e.status !== "succeeded") continue;
    const id = (e.output as { runId?: unknown } | undefined)?.runId;
    if (typeof id === "string" && id !== own) ids.add(id);
  }
  return [...ids];
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** The report's environment, run id and digest (undefined: no report; null fields: unreadable). */
function reportOf(source: string | undefined) {
  if (source === undefined) return undefined;
  try {
    const r = JSON.parse(source) as {
      environment?: unknown;
      runId?: unknown;
      events?: { digest?: unknown };
    };
    return {
      environment: text(r.environment),
      runId: text(r.runId),
      digest: text(r.events?.digest),
    };
  } catch {
    return { environment: undefined, runId: undefined, digest: undefined, target: undefined };
  }
}

/**
 * Reads one run folder.
 *
 * @param dir The run's folder.
 * @returns The run, or why it cannot be read as one (with the environment its report
 * names, if any), or undefined when the folder holds neither a journal nor a report.
 */
async function readRun(
  dir: string,
): Promise<
  | { run: AuditedRun }
  | { unreadable: UnreadableRun; environment: string | undefined }
  | undefined
> {
  const [journal, reportText] = await Promise.all([
    readText(join(dir, "events.jsonl")),
    readText(join(dir, "report.json")),
  ]);
  const report = reportOf(reportText);
  if (journal === undefined) {
    if (!report) return undefined;
    return {
      unreadable: { dir, runId: report.runId, reason: "it has a report.json and no events.jsonl" },
      environment: report.environment,
    };
  }
  const chain = chainOf(journal);
  const started = chain.events[0];
  if (started?.type !== "run.started") {
    return {
      unreadable: {
        dir,
        runId: report?.runId,
        reason: chain.brokenAt === 1
          ? `its journal's first line is broken (${chain.reason})`
          : "its journal does not start with run.started",
      },
      environment: report?.environment,
    };
  }
  const finished = chain.events.findLast((e) => e.type === "run.finished");
  const rollback = finished?.rollback as { performed?: unknown; succeeded?: unknown } | undefined;
  const runId = text(started.runId) ?? dir.split("/").at(-1)!;
  const git = started.git as { commit?: unknown } | undefined;
  const digest = chain.digests.at(-1) ?? GENESIS;
  return {
    run: {
      runId,
      dir,
      pipeline: text(started.pipeline) ?? "unknown",
      environment: text(started.environment) ?? "unknown",
      version: text(started.version),
      dryRun: started.dryRun === true,
      startedAt: text(started.ts) ?? "",
      finishedAt: text(finished?.ts),
      status: (text(finished?.status) as AuditedStatus | undefined) ?? "unfinished",
      rollback: {
        performed: rollback?.performed === true,
        succeeded: typeof rollback?.succeeded === "boolean" ? rollback.succeeded : null,
      },
      commit: text(git?.commit) ?? null,
      target: text((started.target as { kind?: unknown } | undefined)?.kind) ?? report?.target,
      previous: "previous" in started ? linkOf(started.previous) : undefined,
      journal: {
        ok: chain.brokenAt === undefined,
        lines: chain.lines,
        digest,
        ...(chain.brokenAt !== undefined ? { brokenAt: chain.brokenAt, reason: chain.reason } : {}),
      },
      lineDigests: chain.digests,
      reportDigest: report === undefined ? null : report.digest ?? "invalid",
      checkpointStages: checkpointStagesOf(started, chain.events),
      outputRunIds: outputRunIdsOf(chain.events, runId),
    },
  };
}

/** Runs `work` over `items`, `limit` at a time, keeping their order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads the runs of an environment from a runs folder: every sub-folder with a journal
 * whose `run.started` names the environment, in the order they started (then by id).
 * Folders of other environments are left out; a folder that cannot be read as a run is
 * listed as unreadable when its report names the environment (or it names none).
 *
 * @param runsDir The runs folder (the CLI's default is `RUNS_DIR`).
 * @param options The environment.
 * @returns The runs and the unreadable folders (none when the runs folder does not exist:
 * nothing ran here yet).
 *
 * @example
 * ```ts
 * import { readRunHistory } from "./history.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const { runs, unreadable } = await readRunHistory(dir, { environment: "staging" });
 * assert.deepEqual([runs.length, unreadable.length], [0, 0]);
 * await Deno.remove(dir);
 * ```
 */
export async function readRunHistory(
  runsDir: string,
  options: { readonly environment: string },
): Promise<RunHistory> {
  const dirs: string[] = [];
  try {
    for await (const entry of Deno.readDir(runsDir)) {
      if (entry.isDirectory) dirs.push(join(runsDir, entry.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  dirs.sort();
  const read = await mapLimited(dirs, 16, readRun);
  const runs: AuditedRun[] = [];
  const unreadable: UnreadableRun[] = [];
  for (const r of read) {
    if (r === undefined) continue;
    if ("run" in r) {
      if (r.run.environment === options.environment) runs.push(r.run);
    } else if (r.environment === undefined || r.environment === options.environment) {
      unreadable.push(r.unreadable);
    }
  }
  return { runs: chainOrder(runs), unreadable };
}
