/**
 * Runs chained across time: each run records the previous run of the same environment (its id
 * and its journal's final digest) in its `run.started` event, so a deleted or replaced run
 * breaks the chain; a checkpoint (a line of a journal and its hash) written outside the run
 * folder — the cluster's deployment record, GitHub's deployment status — can be checked
 * against the journal it names.
 *
 * Which runs chain: every run of the environment that changed or could have changed it, of
 * any pipeline (deploy, rollback, run) — not dry runs, which change nothing (a dry run still
 * records the run before it, so it can be placed, but no run links to one).
 * @module
 */
import { createHash } from "node:crypto";
import type { RunLink } from "../runner/run.ts";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The first line of a file (a journal's `run.started`), without reading the rest. */
async function firstLine(path: string): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65_536);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      const at = buf.subarray(0, n).indexOf(10);
      chunks.push(buf.slice(0, at === -1 ? n : at));
      if (at !== -1) break;
    }
    const bytes = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(bytes);
  } finally {
    file.close();
  }
}

/** A journal's whole lines (a last line cut short by a kill is left out). */
async function wholeLines(journalPath: string): Promise<string[]> {
  const text = await Deno.readTextFile(journalPath);
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").slice(0, -1);
}

/**
 * A journal's final digest: how many whole lines it has and the hash of the last one.
 *
 * @param journalPath The journal (`events.jsonl`).
 * @returns Its line count and final digest (64 zeros and 0 for an empty journal).
 * @throws {Deno.errors.NotFound} When there is no such file.
 *
 * @example
 * ```ts
 * import { journalHead } from "./run_link.ts";
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, '{"seq":1}\n');
 * console.assert((await journalHead(file)).events === 1);
 * await Deno.remove(file);
 * ```
 */
export async function journalHead(
  journalPath: string,
): Promise<{ events: number; digest: string }> {
  const lines = await wholeLines(journalPath);
  const last = lines.at(-1);
  return { events: lines.length, digest: last === undefined ? "0".repeat(64) : sha256(last) };
}

/**
 * Whether line `events` (counted from 1) of a journal hashes to `digest`: a checkpoint kept
 * outside the run folder (the cluster's record, a GitHub status) is on this journal.
 *
 * @param journalPath The journal (`events.jsonl`).
 * @param events The line's number (the checkpoint's `events`).
 * @param digest The hex SHA-256 the checkpoint recorded (`sha256:` prefix allowed).
 * @returns True when the line exists and hashes to it; false otherwise (also for no file).
 *
 * @example
 * ```ts
 * import { checkpointOnLine } from "./run_link.ts";
 * import { createHash } from "node:crypto";
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, '{"seq":1}\n{"seq":2}\n');
 * const hash = createHash("sha256").update('{"seq":1}').digest("hex");
 * console.assert(await checkpointOnLine(file, 1, hash));
 * console.assert(!(await checkpointOnLine(file, 2, hash)));
 * await Deno.remove(file);
 * ```
 */
export async function checkpointOnLine(
  journalPath: string,
  events: number,
  digest: string,
): Promise<boolean> {
  if (!Number.isSafeInteger(events) || events < 1) return false;
  let lines: string[];
  try {
    lines = await wholeLines(journalPath);
  } catch {
    return false;
  }
  const line = lines[events - 1];
  return line !== undefined && sha256(line) === digest.replace(/^sha256:/, "");
}

/**
 * What a run's `run.started` says of it, as the chain needs it.
 *
 * @example
 * ```ts
 * import type { ChainedRun } from "./run_link.ts";
 * const r: ChainedRun = {
 *   runId: "r1", environment: "staging", pipeline: "deploy", dryRun: false,
 *   startedAt: "2026-01-01T00:00:00.000Z", previous: null,
 * };
 * ```
 */
export interface ChainedRun {
  /** The run's id. */
  readonly runId: string;
  /** Its environment. */
  readonly environment: string;
  /** Its pipeline's name. */
  readonly pipeline: string;
  /** Whether it was a dry run. */
  readonly dryRun: boolean;
  /** When it started (its `run.started` time). */
  readonly startedAt: string;
  /** The run it recorded before it; null for the first; undefined when it recorded none. */
  readonly previous: RunLink | null | undefined;
  /** Where it ran (`run.started`'s `target.kind`: `sandbox`, `kubernetes`), when recorded. */
  readonly target?: string | undefined;
}

function runLinkOf(value: unknown): RunLink | null | undefined {
  if (value === null) return null;
  const v = value as Partial<RunLink> | undefined;
  if (typeof v?.runId !== "string" || typeof v.digest !== "string") return undefined;
  return {
    runId: v.runId,
    digest: v.digest,
    ...(typeof v.events === "number" ? { events: v.events } : {}),
  };
}

/**
 * Reads a run's `run.started` (the first line of its journal only).
 *
 * @param runDir The run's folder.
 * @returns What the chain needs of it, or null when it has no readable `run.started`.
 *
 * @example
 * ```ts
 * import { readChainedRun } from "./run_link.ts";
 * console.assert(await readChainedRun("/nonexistent") === null);
 * ```
 */
export async function readChainedRun(runDir: string): Promise<ChainedRun | null> {
  const line = await firstLine(`${runDir}/events.jsonl`);
  if (!line) return null;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line);
  } catch {
    return null;
  }
  if (e.type !== "run.started" || typeof e.runId !== "string") return null;
  return {
    runId: e.runId,
    environment: String(e.environment),
    pipeline: String(e.pipeline),
    dryRun: e.dryRun === true,
    startedAt: String(e.ts),
    previous: "previous" in e ? runLinkOf(e.previous) : undefined,
    ...(typeof (e.target as { kind?: unknown } | undefined)?.kind === "string"
      ? { target: (e.target as { kind: string }).kind }
      : {}),
  };
}

/**
 * A run's final digest: its report's `events` (count and digest) when it has a readable
 * report, else the hash of its journal's last whole line (a run whose runner died).
 *
 * @param runDir The run's folder.
 * @param runId Its id.
 * @returns Its link.
 * @throws {Deno.errors.NotFound} When it has neither report nor journal.
 *
 * @example
 * ```ts ignore
 * const link = await finalLinkOf("runs/20260101T120000Z-a1b2c3", "20260101T120000Z-a1b2c3");
 * ```
 */
export async function finalLinkOf(runDir: string, runId: string): Promise<RunLink> {
  try {
    const report = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
    const { count, digest } = report?.events ?? {};
    if (
      report?.runId === runId && Number.isSafeInteger(count) && typeof digest === "string" &&
      /^[0-9a-f]{64}$/.test(digest)
    ) {
      return { runId, digest, events: count };
    }
  } catch { /* no report: its journal */ }
  const head = await journalHead(`${runDir}/events.jsonl`);
  return { runId, digest: head.digest, events: head.events };
}

/**
 * The runs of an environment in a runs folder, oldest first (by start time, then id).
 *
 * @param runsDir The runs folder.
 * @param environment The environment.
 * @returns Each run (its folder and what its `run.started` says); none for no folder.
 *
 * @example
 * ```ts
 * import { environmentRuns } from "./run_link.ts";
 * console.assert((await environmentRuns("/nonexistent", "staging")).length === 0);
 * ```
 */
export async function environmentRuns(
  runsDir: string,
  environment: string,
): Promise<(ChainedRun & { readonly runDir: string })[]> {
  const out: (ChainedRun & { runDir: string })[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(runsDir));
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const runDir = `${runsDir}/${entry.name}`;
    const run = await readChainedRun(runDir);
    if (run && run.environment === environment) out.push({ ...run, runDir });
  }
  return chainOrder(out);
}

/**
 * The run a new run of an environment links to: the latest run of that environment in the
 * runs folder that is not a dry run (and not `exclude`, the run itself when resumed), with
 * its final digest ({@linkcode finalLinkOf}); null when there is none (the first run).
 *
 * With `target`, only runs that went there: a sandbox rehearsal of production chains to
 * the rehearsals before it, not into the history of the real production cluster (whose
 * record never saw it). A run whose target is not known (its `run.started` and its report
 * do not say) is not left out.
 *
 * @param runsDir The runs folder.
 * @param environment The environment.
 * @param o `exclude`: a run id to leave out; `target`: `sandbox` or `kubernetes`.
 * @returns The link, or null.
 *
 * @example
 * ```ts
 * import { previousRun } from "./run_link.ts";
 * console.assert(await previousRun("/nonexistent", "staging") === null);
 * ```
 */
export async function previousRun(
  runsDir: string,
  environment: string,
  o: { exclude?: string | undefined; target?: string | undefined } = {},
): Promise<RunLink | null> {
  const runs = (await environmentRuns(runsDir, environment))
    .filter((r) => !r.dryRun && r.runId !== o.exclude);
  for (const run of runs.reverse()) {
    const target = run.target ?? await reportTarget(run.runDir);
    if (o.target === undefined || target === undefined || target === o.target) {
      return await finalLinkOf(run.runDir, run.runId);
    }
  }
  return null;
}

/** Where a run went, as its report says (`target.kind`), when it has a readable one. */
async function reportTarget(runDir: string): Promise<string | undefined> {
  try {
    const kind = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`))?.target?.kind;
    return typeof kind === "string" ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs in the order they ran: by start time; runs that start at the same instant (a virtual
 * clock's zero-time step, e.g. a promotion's build and the deploy after it) so that a run comes
 * after the run it names as its previous one, and otherwise by id. A sort's comparator cannot do
 * this (the links of three runs at one instant are not a total order), so each instant's runs
 * are put in their links' order one by one.
 *
 * @param runs The runs, in any order (not changed).
 * @returns A new array, oldest first.
 *
 * @example
 * ```ts
 * import { chainOrder } from "./run_link.ts";
 * const at = "2026-03-02T10:00:00.000Z";
 * const runs = chainOrder([
 *   { runId: "a", startedAt: at, previous: { runId: "z", digest: "d" } },
 *   { runId: "z", startedAt: at, previous: null },
 * ]);
 * console.assert(runs.map((r) => r.runId).join() === "z,a");
 * ```
 */
export function chainOrder<
  T extends {
    readonly runId: string;
    readonly startedAt: string;
    readonly previous?: { readonly runId: string } | null | undefined;
  },
>(runs: readonly T[]): T[] {
  const sorted = [...runs].sort((a, b) =>
    a.startedAt < b.startedAt
      ? -1
      : a.startedAt > b.startedAt
      ? 1
      : a.runId < b.runId
      ? -1
      : a.runId > b.runId
      ? 1
      : 0
  );
  const out: T[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && sorted[j]!.startedAt === sorted[i]!.startedAt) j++;
    const group = sorted.slice(i, j);
    while (group.length > 0) {
      // The first (by id) whose previous run is not still waiting at this instant; a cycle
      // (only a forged history has one) falls back to the id order.
      const k = group.findIndex((r) =>
        !group.some((o) => o !== r && o.runId === r.previous?.runId)
      );
      out.push(...group.splice(k === -1 ? 0 : k, 1));
    }
    i = j;
  }
  return out;
}
