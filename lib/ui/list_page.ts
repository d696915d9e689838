/**
 * The dashboard's first page: the runs, newest first, with a form that narrows them by
 * environment and status (plain GET parameters: `/?environment=production&status=paused`).
 * The table is in the markup; a small script re-reads `/api/runs` with the same parameters
 * every two seconds and redraws it, so a run started meanwhile appears and a running one
 * changes state without a reload.
 * @module
 */
import { escapeHtml as h } from "../render/mod.ts";
import { page } from "./_page.ts";
import type { Page } from "./page.ts";
import type { RunFilter, RunSummary } from "./runs.ts";

/**
 * The statuses the form offers: a finished run's report status, or an unfinished run's state.
 *
 * @example
 * ```ts
 * import { STATUSES } from "./list_page.ts";
 * console.assert(STATUSES.includes("paused") && STATUSES.includes("rolled_back"));
 * ```
 */
export const STATUSES: readonly string[] = [
  "running",
  "paused",
  "killed",
  "succeeded",
  "failed",
  "rolled_back",
  "interrupted",
];

const LIST_SCRIPT = `
(function () {
  "use strict";
  var root = document.documentElement;
  var body = document.getElementById("runs-body");
  var refreshed = 0;
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) {
      var span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      td.appendChild(span);
    } else td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  function draw(runs) {
    var rows = document.createDocumentFragment();
    runs.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-run", r.id);
      tr.setAttribute("data-status", r.status);
      var a = document.createElement("a");
      a.href = "/runs/" + encodeURIComponent(r.id);
      a.textContent = r.id;
      var td = document.createElement("td");
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, r.environment);
      cell(tr, r.pipeline + (r.version ? " " + r.version : ""));
      cell(tr, r.status + (r.waiting ? " (" + r.waiting + ")" : ""), "status s-" + r.status);
      cell(tr, r.startedAt);
      cell(tr, r.user);
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
    document.getElementById("count").textContent = String(runs.length);
    root.setAttribute("data-refreshed", String(++refreshed));
  }
  function refresh() {
    fetch("/api/runs" + location.search, { headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(draw)
      .catch(function (e) { root.setAttribute("data-refresh-error", String(e.message || e)); })
      .finally(function () { setTimeout(refresh, 2000); });
  }
  setTimeout(refresh, 2000);
})();
`;

function options(values: readonly string[], selected: string | undefined): string {
  return [
    `<option value="">any</option>`,
    ...values.map((v) =>
      `<option value="${h(v)}"${v === selected ? " selected" : ""}>${h(v)}</option>`
    ),
  ].join("");
}

/**
 * The run list page.
 *
 * @param runs The runs to show (already filtered, newest first).
 * @param o The filter applied, and every environment seen (for the form).
 * @returns The page and its Content-Security-Policy.
 *
 * @example
 * ```ts
 * import { listPage } from "./list_page.ts";
 * const p = listPage([{
 *   id: "r<1>", environment: "staging", pipeline: "deploy", user: "ada",
 *   startedAt: "2026-01-01T00:00:00.000Z", state: "running", status: "running",
 * }], { filter: {}, environments: ["staging"] });
 * console.assert(p.html.includes("r&lt;1&gt;") && !p.html.includes("r<1>"));
 * console.assert(p.csp.includes("connect-src 'self'"));
 * ```
 */
export function listPage(
  runs: readonly RunSummary[],
  o: { filter: RunFilter; environments: readonly string[] },
): Page {
  const rows = runs.map((r) =>
    `<tr data-run="${h(r.id)}" data-status="${h(r.status)}"><td><a href="/runs/${
      h(encodeURIComponent(r.id))
    }">${h(r.id)}</a></td><td>${h(r.environment)}</td><td>${
      h(r.pipeline + (r.version ? ` ${r.version}` : ""))
    }</td><td><span class="status s-${h(r.status)}">${
      h(r.status + (r.waiting ? ` (${r.waiting})` : ""))
    }</span></td><td>${h(r.startedAt)}</td><td>${h(r.user)}</td></tr>`
  ).join("\n");
  const body = `<h1>Runs <span class="muted">(<span id="count">${runs.length}</span>)</span></h1>
<form class="filters" method="get" action="/">
<label>environment<select name="environment">${
    options(o.environments, o.filter.environment)
  }</select></label>
<label>status<select name="status">${options(STATUSES, o.filter.status)}</select></label>
<button type="submit">Filter</button></form>
<table id="runs"><thead><tr><th>run</th><th>environment</th><th>pipeline</th><th>status</th>
<th>started</th><th>by</th></tr></thead><tbody id="runs-body">${rows}</tbody></table>`;
  return page({ title: "Runs", body, data: {}, scripts: [LIST_SCRIPT] });
}
