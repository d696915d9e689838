/**
 * The page of a run that has no report yet: it follows the run live (see `_run_script.ts`:
 * the stages on one time axis, a chart per gate, the traffic split per service, the last
 * events) and, while a stage is paused on a breach, offers promote and abort. Chart.js is
 * inlined (read once by `readChartLibrary`); nothing is fetched but the dashboard's own
 * event stream and decision.
 * @module
 */
import { escapeHtml as h } from "../render/mod.ts";
import { page } from "./_page.ts";
import type { Page } from "./page.ts";
import { RUN_SCRIPT } from "./_run_script.ts";
import type { RunSummary } from "./runs.ts";

/**
 * The live page of a run.
 *
 * @param run The run's summary (its id, environment, version, state).
 * @param o Chart.js's browser build, the anti-forgery value the page sends with a decision,
 * and who decisions are recorded as.
 * @returns The page and its Content-Security-Policy.
 *
 * @example
 * ```ts
 * import { runPage } from "./run_page.ts";
 * const p = runPage({
 *   id: "r1", environment: "production", pipeline: "deploy", version: "v2", user: "ada",
 *   startedAt: "2026-01-01T00:00:00.000Z", state: "paused", status: "paused", waiting: "canary-5",
 * }, { chartLibrary: "window.Chart = function () {};", csrf: "x", user: "ana" });
 * console.assert(p.html.includes('id="abort"') && p.csp.includes("frame-ancestors 'none'"));
 * ```
 */
export function runPage(
  run: RunSummary,
  o: { chartLibrary: string; csrf: string; user: string },
): Page {
  const title = `${run.pipeline} ${run.environment}${run.version ? ` ${run.version}` : ""}`;
  const body = `<p><a href="/">← all runs</a></p>
<h1>${h(title)} <span id="state" class="status s-${h(run.status)}">${h(run.status)}</span>
<span id="how" class="muted"></span></h1>
<p class="muted">run ${h(run.id)}, started ${h(run.startedAt)} by ${h(run.user)}</p>
<div id="decision" class="decision"${run.state === "paused" ? "" : " hidden"}>
<p><strong>Stage <span id="waiting">${
    h(run.waiting ?? "")
  }</span> is paused on a gate breach</strong> and waits for a decision (as
<code>deno task decide ${h(run.id)} promote|abort</code> records it, here as ${h(o.user)}).</p>
<button id="promote" type="button">Promote</button><button id="abort" type="button">Abort (roll back)</button>
<span id="decision-result"></span></div>
<div id="finished" class="finished" hidden>The run finished: <strong id="finished-status"></strong>.
<a id="report-link" href="/runs/${h(encodeURIComponent(run.id))}">Its report</a></div>
<h2>Stages</h2>
<div id="timeline-box" class="chart"><canvas id="timeline-chart" role="img"
aria-label="stages on one time axis"></canvas></div>
<details><summary>The stages as a table</summary><table><thead><tr><th>stage</th><th>status</th>
<th>start (s)</th><th>end (s)</th><th>note</th></tr></thead><tbody id="stages-body"></tbody></table></details>
<h2>Traffic</h2><p id="no-traffic" class="muted">No traffic split reported yet.</p>
<table><tbody id="traffic-body"></tbody></table>
<h2>Gates</h2><p id="no-gates" class="muted">No gate sample yet.</p><div id="gates" class="gates"></div>
<h2>Events</h2><div id="events"></div>`;
  return page({
    title: `${title}: ${run.status}`,
    body,
    data: { runId: run.id, csrf: o.csrf, user: o.user },
    scripts: [o.chartLibrary, RUN_SCRIPT],
  });
}
