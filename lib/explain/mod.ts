/**
 * The runbook's missing Troubleshooting section, as code: a run explained from its folder
 * alone — offline, after the fact. {@linkcode explainRun} reads `report.json` (or the journal
 * of a run whose runner died before writing one), `events.jsonl` and `logs/`, and says what
 * happened (pipeline, environment, version, status, duration, who), the first cause of a
 * failure (the breaching gate with its values and threshold per target, the failing check with
 * its evidence, the pod that would not run with its reason and last log lines, a migration, a
 * lost lock, an interrupted run), what the runner did about it (rollback, notifications,
 * statuses, what did not arrive), and the commands to run next. {@linkcode renderExplanation}
 * puts it on one screen; the {@linkcode Explanation} itself is the `--json` form.
 *
 * ```ts
 * import { explainRun, renderExplanation } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/events.jsonl`, JSON.stringify({
 *   seq: 1, ts: "2026-01-01T00:00:00Z", type: "run.started", runId: "r1", pipeline: "deploy",
 *   environment: "staging", version: "v2", stages: [{ id: "deploy" }],
 * }) + "\n");
 * const explanation = await explainRun(dir);
 * assert.match(renderExplanation(explanation), /UNFINISHED \(the runner died\)/);
 * assert.equal(explanation.next[0]?.command, "deno task resume r1");
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./explain.ts";
export * from "./render.ts";
export { findRun, readLog, readRun, reportFromJournal, type RunFolder } from "./read_run.ts";
export type { JournalEvent } from "./read_run.ts";
// The report's shapes these signatures name.
export type * from "../report/types.ts";
export type { UndeliveredRecord } from "../report/undelivered.ts";
