/**
 * A run's report as one self-contained HTML page: the header (who, what, when, where,
 * approvals, the verification result), the stages' timeline, every gate's chart of its
 * samples per target against its threshold, the checks with their evidence, and the
 * rollback. The charting library is inlined; a Content-Security-Policy allows no network at
 * all and only the page's own scripts (by their hashes), so nothing from the report, even
 * were it to escape, could run or fetch anything. Every table is in the markup as well, so
 * the page reads without its script.
 * @module
 */
import { createHash } from "node:crypto";
import type { Report } from "../report/types.ts";
import { escapeHtml as h, scriptJson } from "./escape.ts";
import { PAGE_SCRIPT, PAGE_STYLE } from "./_page.ts";
import type { GateView, ReportView, VerificationLine } from "./types.ts";
import { formatNumber, reportView } from "./view.ts";

/**
 * How to render the HTML report.
 *
 * @example
 * ```ts
 * import type { HtmlOptions } from "./html.ts";
 * const options: HtmlOptions = { chartLibrary: "window.Chart = function () {};" };
 * console.assert(options.verification === undefined);
 * ```
 */
export interface HtmlOptions {
  /** Chart.js's browser build (`readChartLibrary()`), inlined in the page. */
  readonly chartLibrary: string;
  /** The run's verification result (none: shown as not verified). */
  readonly verification?: readonly VerificationLine[] | undefined;
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

function status(value: string | null): string {
  return `<span class="status s-${h(String(value))}">${h(String(value))}</span>`;
}

function table(head: readonly string[], rows: readonly string[][], numeric: number[] = []): string {
  const cells = (r: readonly string[], tag: string) =>
    r.map((c, i) => `<${tag}${numeric.includes(i) ? ' class="num"' : ""}>${c}</${tag}>`).join("");
  const thead = head.some((c) => c !== "")
    ? `<thead><tr>${cells(head.map(h), "th")}</tr></thead>`
    : "";
  return `<table>${thead}<tbody>${
    rows.map((r) => `<tr>${cells(r, "td")}</tr>`).join("")
  }</tbody></table>`;
}

function header(v: ReportView): string {
  const verification = v.verification.map((l) =>
    `<li class="verify-${String(l.ok)}">${l.ok === true ? "✓" : l.ok === false ? "✗" : "–"} ${
      h(l.check)
    }: ${h(l.detail)}</li>`
  ).join("");
  return `<header><h1>${h(v.title)} ${status(v.status)}</h1>
${table(["", ""], v.facts.map((f) => [h(f.label), h(f.value)]))}
<h2 id="verification">Verification</h2><ul>${verification}</ul>
<h2 id="approvals">Approvals</h2>${
    v.approvals.length
      ? `<ul>${v.approvals.map((a) => `<li>${h(a)}</li>`).join("")}</ul>`
      : "<p>No approval was required.</p>"
  }
${v.notes.length ? `<div class="notes">${v.notes.map((n) => `<p>${h(n)}</p>`).join("")}</div>` : ""}
</header>`;
}

function seconds(x: number | undefined): string {
  return x === undefined ? "" : formatNumber(Math.round(x * 1000) / 1000);
}

function timeline(v: ReportView): string {
  const rows = v.timeline.map((r) => [
    h(r.id),
    h(r.kind),
    status(r.status),
    seconds(r.start),
    `${seconds(r.end)}${r.open ? " (open)" : ""}`,
    h(r.duration),
    String(r.attempts),
    h(r.reason),
  ]);
  return `<section id="timeline"><h2>Timeline</h2>
<div class="chart"><canvas id="timeline-chart" role="img" aria-label="stages on one time axis"></canvas></div>
<p class="legend">Bars: ${status("succeeded")} ${status("failed")} ${status("interrupted")}; a stage
with no bar never started (${status("skipped")}).</p>
<details><summary>The stages as a table</summary>${
    table(
      ["stage", "kind", "status", "start (s)", "end (s)", "duration", "attempts", "reason"],
      rows,
      [
        3,
        4,
        6,
      ],
    )
  }</details></section>`;
}

function gate(g: GateView, i: number): string {
  const rows = g.series.flatMap((s) =>
    s.points.map((p) => [
      h(s.name),
      String(p.look),
      h(p.at),
      p.value === null ? "none" : h(formatNumber(p.value)),
      h(`${g.operator} ${formatNumber(g.threshold)}`),
      status(p.verdict),
      h(p.requests),
      h(p.events),
      h(p.window),
      h(p.detail),
    ])
  );
  const caption = `<figcaption><strong>${h(g.title)}</strong> ${status(g.verdict)} threshold ${
    h(`${g.operator} ${formatNumber(g.threshold)} ${g.unit}`)
  }, ${g.samples} samples${g.reason ? `: ${h(g.reason)}` : ""}${
    g.decision ? `<br>${h(g.decision)}` : ""
  }</figcaption>`;
  const chart = g.samples > 0
    ? `<div class="chart"><canvas id="gate-${i}" class="gate-chart" role="img" aria-label="${
      h(`${g.stage}: ${g.title}`)
    }"></canvas></div>`
    : "<p>No sample was measured for this gate.</p>";
  return `<figure>${caption}${chart}${
    rows.length
      ? `<details><summary>Samples (${rows.length})</summary>${
        table(
          [
            "target",
            "look",
            "at",
            "value",
            "threshold",
            "verdict",
            "requests",
            "errors/over",
            "window",
            "detail",
          ],
          rows,
          [1, 3, 6, 7],
        )
      }</details>`
      : ""
  }</figure>`;
}

function gates(v: ReportView): string {
  if (!v.gates.length) {
    return `<section id="gates"><h2>Gates</h2><p>No gate was recorded.</p></section>`;
  }
  const out: string[] = [];
  let stage: string | undefined;
  v.gates.forEach((g, i) => {
    if (g.stage !== stage) out.push(`<h3>${h(g.stage)}</h3>`);
    stage = g.stage;
    out.push(gate(g, i));
  });
  return `<section id="gates"><h2>Gates</h2>${out.join("\n")}</section>`;
}

function evidence(e: Record<string, unknown>): string {
  const entries = Object.entries(e);
  if (!entries.length) return "";
  return entries.map(([k, val]) =>
    `<code>${h(k)}</code>: ${h(typeof val === "string" ? val : JSON.stringify(val) ?? "")}`
  ).join("<br>");
}

function checks(v: ReportView): string {
  if (!v.checks.length) {
    return `<section id="checks"><h2>Checks</h2><p>No check was recorded.</p></section>`;
  }
  return `<section id="checks"><h2>Checks</h2>${
    v.checks.map((s) =>
      `<h3>${h(s.stage)}</h3>${
        table(
          ["check", "required", "status", "message", "evidence"],
          s.checks.map((c) => [
            h(c.name),
            c.required ? "yes" : "no",
            status(c.status),
            h(c.message),
            evidence(c.evidence),
          ]),
        )
      }`
    ).join("\n")
  }</section>`;
}

function rollback(v: ReportView): string {
  return `<section id="rollback"><h2>Rollback</h2><p>${h(v.rollback.summary)}</p>${
    v.rollback.stages.map((s) =>
      `<h3>${h(s.id)} ${status(s.status)}</h3>${s.reason ? `<p>${h(s.reason)}</p>` : ""}${
        s.output ? `<details><summary>Its output</summary><pre>${h(s.output)}</pre></details>` : ""
      }`
    ).join("\n")
  }</section>`;
}

/** What the page's script draws: the timeline and each gate's series, values only. */
function chartData(v: ReportView) {
  return {
    span: v.span,
    timeline: v.timeline,
    gates: v.gates.map((g) => ({
      metric: g.metric,
      operator: g.operator,
      threshold: g.threshold,
      unit: g.unit,
      series: g.series.map((s) => ({
        name: s.name,
        points: s.points.map((p) => ({ look: p.look, value: p.value, verdict: p.verdict })),
      })),
    })),
  };
}

/**
 * Renders a run's report as one self-contained HTML page.
 *
 * @param report The run's report (validated against its schema).
 * @param options The charting library to inline, and the verification result.
 * @returns The page.
 *
 * @example
 * ```ts
 * import { readChartLibrary, renderHtml } from "./mod.ts";
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
 * const page = renderHtml(report, { chartLibrary: await readChartLibrary() });
 * assert.match(page, /^<!doctype html>/);
 * assert.match(page, /default-src 'none'/);
 * ```
 */
export function renderHtml(report: Report, options: HtmlOptions): string {
  const v = reportView(report, { verification: options.verification ?? [] });
  const scripts = [options.chartLibrary, PAGE_SCRIPT];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(" ")}`,
    `style-src ${sha256(PAGE_STYLE)}`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; "); // Our own text and base64 hashes only: nothing to escape in the attribute.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(`${v.title}: ${v.status}`)}</title>
<style>${PAGE_STYLE}</style></head>
<body>
${header(v)}
${timeline(v)}
${gates(v)}
${checks(v)}
${rollback(v)}
<script type="application/json" id="report-data">${scriptJson(chartData(v))}</script>
<script>${options.chartLibrary}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
