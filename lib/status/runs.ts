/**
 * The environment's latest run in a runs folder: the newest run of it that is not a dry run
 * (and, given a target kind, that went there: a sandbox rehearsal is not the last run of the
 * real cluster), with its report's status, or `unfinished` when it has no report.
 * @module
 */
import { environmentRuns } from "../audit/run_link.ts";
import type { LastRun } from "./types.ts";

interface Report {
  status?: unknown;
  version?: unknown;
  finishedAt?: unknown;
  pipeline?: { name?: unknown };
  target?: { kind?: unknown };
}

async function readReport(path: string): Promise<Report | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return value && typeof value === "object" ? value as Report : null;
  } catch {
    return null;
  }
}

/** The version a run's `run.started` names (its journal's first line, read alone). */
async function startedVersion(journal: string): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(journal);
  } catch {
    return null;
  }
  try {
    const buf = new Uint8Array(65_536);
    const n = await file.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    const line = text.slice(0, text.indexOf("\n") === -1 ? undefined : text.indexOf("\n"));
    const version = JSON.parse(line)?.version;
    return typeof version === "string" ? version : null;
  } catch {
    return null;
  } finally {
    file.close();
  }
}

/**
 * The latest run of an environment in a runs folder, dry runs left out.
 *
 * @param runsDir The runs folder (e.g. `.tracktion/runs`).
 * @param environment The environment.
 * @param o `target`: only runs that went to this kind (`sandbox`, `kubernetes`; a run that
 *   does not say is kept).
 * @returns The run, or null when there is none.
 *
 * @example
 * ```ts
 * import { lastRun } from "./runs.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/r1`);
 * const started = { type: "run.started", runId: "r1", pipeline: "deploy", environment: "staging",
 *   version: "v1.0.0", dryRun: false, ts: "2026-01-01T00:00:00.000Z", target: { kind: "sandbox" } };
 * await Deno.writeTextFile(`${dir}/r1/events.jsonl`, JSON.stringify(started) + "\n");
 * assert.equal((await lastRun(dir, "staging"))?.status, "unfinished");
 * await Deno.writeTextFile(`${dir}/r1/report.json`, JSON.stringify({ status: "succeeded" }));
 * assert.equal((await lastRun(dir, "staging"))?.reportPath, `${dir}/r1/report.json`);
 * assert.equal(await lastRun(dir, "staging", { target: "kubernetes" }), null);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lastRun(
  runsDir: string,
  environment: string,
  o: { readonly target?: string | undefined } = {},
): Promise<LastRun | null> {
  const runs = (await environmentRuns(runsDir, environment)).filter((r) => !r.dryRun).reverse();
  for (const run of runs) {
    const reportPath = `${run.runDir}/report.json`;
    const report = await readReport(reportPath);
    const target = run.target ?? report?.target?.kind;
    if (o.target !== undefined && target !== undefined && target !== o.target) continue;
    const version = typeof report?.version === "string"
      ? report.version
      : await startedVersion(`${run.runDir}/events.jsonl`);
    return {
      runId: run.runId,
      pipeline: run.pipeline,
      version,
      status: typeof report?.status === "string" ? report.status : "unfinished",
      startedAt: run.startedAt,
      finishedAt: typeof report?.finishedAt === "string" ? report.finishedAt : null,
      runDir: run.runDir,
      reportPath: report ? reportPath : null,
    };
  }
  return null;
}
