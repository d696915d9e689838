/**
 * A run's report for people to read: {@linkcode renderHtml} writes one self-contained HTML
 * page (Chart.js inlined, read by {@linkcode readChartLibrary} from the installed npm
 * package; a Content-Security-Policy that allows no network), {@linkcode renderMarkdown} the
 * same content as Markdown for a pull request comment or a deployment's description. Both
 * draw the {@linkcode ReportView} that {@linkcode reportView} works out of the report: the
 * header (who, what, when, where, approvals, the verification result handed in), the stages
 * on one time axis, every gate's samples per target against its threshold, the checks with
 * their evidence, and the rollback. Everything from the report is escaped as data.
 *
 * ```ts
 * import { readChartLibrary, renderHtml, renderMarkdown } from "./mod.ts";
 * import type { Report } from "../report/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const report: Report = {
 *   schemaVersion: 1, runId: "r1", pipeline: { name: "deploy", file: "deploy.ts" },
 *   environment: "staging", version: "v1", dryRun: false, status: "succeeded",
 *   who: { user: "ada", host: "box" }, git: { commit: null, dirty: false, branch: null },
 *   target: {}, startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:02.000Z",
 *   durationMs: 2000, stages: [], rollback: { performed: false, stages: [], succeeded: null },
 *   events: { file: "events.jsonl", count: 2, digest: "0".repeat(64) },
 * };
 * const verification = [{ check: "journal chain", ok: true, detail: "2 events" }];
 * const page = renderHtml(report, { chartLibrary: await readChartLibrary(), verification });
 * assert.match(page, /✓ journal chain: 2 events/);
 * assert.match(renderMarkdown(report, { verification }), /## Gates/);
 * ```
 * @module
 */
export * from "./chart_library.ts";
export * from "./escape.ts";
export * from "./html.ts";
export * from "./markdown.ts";
export * from "./types.ts";
export * from "./view.ts";
// The report's shapes, which the renderers' signatures name.
export type * from "../report/types.ts";
export type { UndeliveredRecord } from "../report/undelivered.ts";
