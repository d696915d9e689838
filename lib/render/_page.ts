/**
 * The HTML report's own style sheet and script (private to `html.ts`). The script reads the
 * charts' data from the page's `application/json` element (never from markup) and draws,
 * with Chart.js, the stages' timeline as floating bars and each gate as a line chart of its
 * samples per target against its threshold. When every chart is drawn it sets
 * `data-charts` on the root element to their count; on an error, `data-render-error`.
 * @module
 */

/**
 * The style sheet.
 *
 * @example
 * ```ts
 * import { PAGE_STYLE } from "./_page.ts";
 * console.assert(PAGE_STYLE.includes("body"));
 * ```
 */
export const PAGE_STYLE = `
:root { color-scheme: light; --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; --muted: #757575; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  max-width: 1200px; padding: 16px 24px 48px; color: #212121; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #e0e0e0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #fafafa; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f5f5f5; padding: 8px; overflow: auto; max-height: 480px; white-space: pre-wrap;
  word-break: break-word; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.s-succeeded, .s-passed, .s-successful { background: var(--ok); }
.s-failed, .s-rolled_back, .s-error { background: var(--bad); }
.s-interrupted, .s-warned, .s-inconclusive, .s-not_measured { background: var(--warn); }
.s-skipped, .s-null { background: var(--muted); }
.verify-true { color: var(--ok); } .verify-false { color: var(--bad); font-weight: 700; }
.verify-null { color: var(--muted); }
.chart { position: relative; height: 260px; margin: 8px 0; }
.notes { color: #424242; background: #fff8e1; padding: 6px 10px; border-left: 3px solid #ffb300; }
figure { margin: 12px 0 20px; } figcaption { font-size: 13px; color: #424242; }
details summary { cursor: pointer; color: #1565c0; }
`;

/**
 * The script that draws the charts (it needs `window.Chart`).
 *
 * @example
 * ```ts
 * import { PAGE_SCRIPT } from "./_page.ts";
 * console.assert(PAGE_SCRIPT.includes("report-data"));
 * ```
 */
export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var root = document.documentElement;
  var STATUS = { succeeded: "#2e7d32", failed: "#c62828", skipped: "#9e9e9e",
    interrupted: "#ef6c00" };
  var VERDICT = { successful: "#2e7d32", failed: "#c62828", inconclusive: "#ef6c00",
    error: "#212121" };
  var PALETTE = ["#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#558b2f", "#283593",
    "#f9a825"];
  function num(v) { return Number(Number(v).toPrecision(4)); }
  function timeline(data) {
    var canvas = document.getElementById("timeline-chart");
    var rows = data.timeline;
    canvas.parentNode.style.height = Math.max(120, rows.length * 22 + 70) + "px";
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r.id; }),
        datasets: [{
          label: "stages",
          data: rows.map(function (r) {
            return r.start === undefined || r.end === undefined ? null : [r.start, r.end];
          }),
          backgroundColor: rows.map(function (r) { return STATUS[r.status] || "#9e9e9e"; }),
          borderSkipped: false,
          minBarLength: 3,
          barPercentage: 0.8,
        }],
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (ctx) {
            var r = rows[ctx.dataIndex];
            return r.status + (r.open ? " (no finish recorded)" : "") + ", " +
              num(r.start) + " s → " + num(r.end) + " s" + (r.duration ? ", " + r.duration : "") +
              (r.reason ? ": " + r.reason : "");
          } } },
        },
        scales: {
          x: { type: "linear", min: 0, suggestedMax: data.span,
            title: { display: true, text: "seconds after the run started" } },
          y: { ticks: { autoSkip: false } },
        },
      },
    });
  }
  function gate(g, i) {
    var canvas = document.getElementById("gate-" + i);
    var looks = 1;
    g.series.forEach(function (s) { looks = Math.max(looks, s.points.length); });
    var datasets = g.series.map(function (s, k) {
      var colour = PALETTE[k % PALETTE.length];
      return {
        label: s.name,
        data: s.points.map(function (p) { return { x: p.look, y: p.value }; }),
        borderColor: colour,
        backgroundColor: colour,
        pointBackgroundColor: s.points.map(function (p) { return VERDICT[p.verdict] || colour; }),
        pointBorderColor: colour,
        pointRadius: 4,
        spanGaps: false,
      };
    });
    datasets.push({
      label: "threshold " + g.operator + " " + g.threshold + " " + g.unit,
      data: [{ x: 0.5, y: g.threshold }, { x: looks + 0.5, y: g.threshold }],
      borderColor: "#c62828",
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 0,
      backgroundColor: "#c62828",
    });
    return new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: true,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { type: "linear", min: 0.5, max: looks + 0.5,
            afterBuildTicks: function (axis) {
              axis.ticks = [];
              for (var n = 1; n <= looks; n++) axis.ticks.push({ value: n });
            },
            title: { display: true, text: "look (sample) at each target" } },
          y: { beginAtZero: true, suggestedMax: g.threshold * 1.1, title: { display: true, text: g.metric + " (" + g.unit + ")" } },
        },
      },
    });
  }
  try {
    var data = JSON.parse(document.getElementById("report-data").textContent);
    var drawn = 0;
    if (document.getElementById("timeline-chart")) { timeline(data); drawn++; }
    data.gates.forEach(function (g, i) {
      if (document.getElementById("gate-" + i)) { gate(g, i); drawn++; }
    });
    root.setAttribute("data-charts", String(drawn));
  } catch (err) {
    root.setAttribute("data-render-error", String(err && err.message || err));
    throw err;
  }
})();
`;
