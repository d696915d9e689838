/**
 * A run's report as Markdown (GitHub's), for a pull request comment or a deployment's
 * description: the same content as the HTML page — header, verification, approvals, the
 * stages' table, each gate's samples against its threshold as a table, the checks with their
 * evidence, the rollback — with every value from the report escaped (no markup, no HTML, no
 * one `@mentioned`).
 * @module
 */
import type { Report } from "../report/types.ts";
import { escapeMarkdown as md, fenced } from "./escape.ts";
import type { GateView, VerificationLine } from "./types.ts";
import { formatNumber, reportView } from "./view.ts";

function table(head: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(head.map(md)), line(head.map(() => "---")), ...rows.map(line)].join("\n") + "\n";
}

function seconds(x: number | undefined): string {
  return x === undefined ? "" : formatNumber(Math.round(x * 1000) / 1000);
}

function gate(g: GateView): string {
  const head = `#### ${md(g.title)}: ${md(g.verdict)}\n\nthreshold ${
    md(`${g.operator} ${formatNumber(g.threshold)} ${g.unit}`)
  }, ${g.samples} samples${g.reason ? `: ${md(g.reason)}` : ""}${
    g.decision ? `  \n${md(g.decision)}` : ""
  }\n\n`;
  if (g.samples === 0) return `${head}No sample was measured for this gate.\n`;
  const rows = g.series.flatMap((s) =>
    s.points.map((p) => [
      md(s.name),
      String(p.look),
      p.value === null ? "none" : md(formatNumber(p.value)),
      md(`${g.operator} ${formatNumber(g.threshold)}`),
      p.verdict === "successful" ? md(p.verdict) : `**${md(p.verdict)}**`,
      md(p.requests),
      md(p.events),
      md(p.window),
      md(p.detail),
    ])
  );
  return head + table(
    [
      "target",
      "look",
      `value (${g.unit})`,
      "threshold",
      "verdict",
      "requests",
      "errors/over",
      "window",
      "detail",
    ],
    rows,
  );
}

function evidence(e: Record<string, unknown>): string {
  return Object.entries(e).map(([k, v]) =>
    `${md(k)}: ${md(typeof v === "string" ? v : JSON.stringify(v) ?? "")}`
  ).join("; ");
}

/**
 * Renders a run's report as Markdown.
 *
 * @param report The run's report (validated against its schema).
 * @param options `verification`: the run's verification result (none: shown as not verified).
 * @returns The Markdown text.
 *
 * @example
 * ```ts
 * import { renderMarkdown } from "./markdown.ts";
 * import type { Report } from "../report/types.ts";
 * import assert from "node:assert/strict";
 *
 * const report: Report = {
 *   schemaVersion: 1, runId: "r1", pipeline: { name: "deploy", file: "deploy.ts" },
 *   environment: "staging", dryRun: false, status: "succeeded",
 *   who: { user: "ada", host: "box" }, git: { commit: null, dirty: false, branch: null },
 *   target: {}, startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:02.000Z",
 *   durationMs: 2000, stages: [], rollback: { performed: false, stages: [], succeeded: null },
 *   events: { file: "events.jsonl", count: 2, digest: "0".repeat(64) },
 * };
 * assert.match(renderMarkdown(report), /^# deploy → staging: succeeded/);
 * ```
 */
export function renderMarkdown(
  report: Report,
  options: { verification?: readonly VerificationLine[] | undefined } = {},
): string {
  const v = reportView(report, { verification: options.verification ?? [] });
  const out: string[] = [];
  out.push(`# ${md(v.title)}: ${md(v.status)}\n`);
  out.push(table(["", ""], v.facts.map((f) => [`**${md(f.label)}**`, md(f.value)])));
  for (const n of v.notes) out.push(`> ${md(n)}\n`);
  out.push("## Verification\n");
  out.push(
    v.verification.map((l) =>
      `- ${l.ok === true ? "✓" : l.ok === false ? "✗ **FAILED**" : "–"} ${md(l.check)}: ${
        md(l.detail)
      }`
    ).join("\n") + "\n",
  );
  out.push("## Approvals\n");
  out.push(
    v.approvals.length
      ? v.approvals.map((a) => `- ${md(a)}`).join("\n") + "\n"
      : "No approval was required.\n",
  );
  out.push("## Stages\n");
  out.push(table(
    ["stage", "kind", "status", "start (s)", "end (s)", "duration", "attempts", "reason"],
    v.timeline.map((r) => [
      md(r.id),
      md(r.kind),
      r.status === "succeeded" || r.status === "skipped" ? md(r.status) : `**${md(r.status)}**`,
      seconds(r.start),
      `${seconds(r.end)}${r.open ? " (open)" : ""}`,
      md(r.duration),
      String(r.attempts),
      md(r.reason),
    ]),
  ));
  out.push("## Gates\n");
  if (!v.gates.length) out.push("No gate was recorded.\n");
  let stage: string | undefined;
  for (const g of v.gates) {
    if (g.stage !== stage) out.push(`### ${md(g.stage)}\n`);
    stage = g.stage;
    out.push(gate(g));
  }
  out.push("## Checks\n");
  if (!v.checks.length) out.push("No check was recorded.\n");
  for (const s of v.checks) {
    out.push(`### ${md(s.stage)}\n`);
    out.push(table(
      ["check", "required", "status", "message", "evidence"],
      s.checks.map((c) => [
        md(c.name),
        c.required ? "yes" : "no",
        c.status === "failed" ? `**${md(c.status)}**` : md(c.status),
        md(c.message),
        evidence(c.evidence),
      ]),
    ));
  }
  out.push("## Rollback\n");
  out.push(`${md(v.rollback.summary)}\n`);
  for (const s of v.rollback.stages) {
    out.push(`### ${md(s.id)}: ${md(s.status)}\n`);
    if (s.reason) out.push(`${md(s.reason)}\n`);
    if (s.output) {
      out.push(
        `<details><summary>Its output</summary>\n\n${fenced(s.output, "json")}\n</details>\n`,
      );
    }
  }
  return out.join("\n");
}
