/**
 * The live run page's script (private to `run_page.ts`). It follows the run's server-sent
 * events and redraws, with Chart.js, the stages on one time axis (floating bars, a running
 * stage's bar growing to the latest event) and a line chart per gate (a line per target, the
 * threshold dashed); the traffic split per service as a bar; the last events as text. When
 * the run pauses it shows promote/abort, which post the decision with the page's
 * anti-forgery header. What it has seen goes on the root element for tests:
 * `data-sse-events` (journal events received), `data-last-type`, `data-state`,
 * `data-charts`.
 * @module
 */

/** The script. */
export const RUN_SCRIPT = `
(function () {
  "use strict";
  var root = document.documentElement;
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var STATUS = { succeeded: "#2e7d32", failed: "#c62828", skipped: "#9e9e9e",
    interrupted: "#ef6c00", running: "#1565c0", paused: "#ef6c00", pending: "#bdbdbd" };
  var PALETTE = ["#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#558b2f"];
  var t0 = null, latest = 0, received = 0, stages = [], byId = {}, gates = {}, gateCount = 0;
  var timelineChart = null, dirty = false;
  function $(id) { return document.getElementById(id); }
  function secs(ts) { return t0 === null ? 0 : (Date.parse(ts) - t0) / 1000; }
  function stage(id) {
    if (!byId[id]) { byId[id] = { id: id, status: "pending" }; stages.push(byId[id]); }
    return byId[id];
  }
  function text(el, t) { el.textContent = t; return el; }
  function badge(el, s) { el.className = "status s-" + s; el.textContent = s; }
  function gateOf(e) {
    var key = e.stage + " | " + e.gate + (e.method === "baseline" ? " (vs baseline)" : "");
    if (gates[key]) return gates[key];
    var m = /^\\S+\\s*(<=|>=|<|>)\\s*([0-9.]+)/.exec(e.gate);
    var fig = document.createElement("figure");
    var cap = text(document.createElement("figcaption"), key);
    var box = document.createElement("div");
    box.className = "chart";
    var canvas = document.createElement("canvas");
    canvas.id = "gate-" + gateCount++;
    canvas.className = "gate-chart";
    box.appendChild(canvas);
    fig.appendChild(cap);
    fig.appendChild(box);
    $("gates").appendChild(fig);
    $("no-gates").hidden = true;
    var threshold = m ? Number(m[2]) : null;
    var g = { key: key, series: {}, names: [], looks: 1, threshold: threshold, chart: null };
    g.chart = new Chart(canvas, { type: "line", data: { datasets: [] }, options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
      plugins: { legend: { position: "bottom" } },
      scales: { x: { type: "linear", min: 0.5, ticks: { stepSize: 1 },
        title: { display: true, text: "look (sample) at each target" } },
        y: { beginAtZero: true, suggestedMax: threshold === null ? undefined : threshold * 1.2 } } } });
    gates[key] = g;
    root.setAttribute("data-charts", String(gateCount + 1));
    return g;
  }
  function sample(e) {
    var g = gateOf(e);
    var name = (e.labels && e.labels.service) || JSON.stringify(e.labels || {});
    if (!g.series[name]) { g.series[name] = []; g.names.push(name); }
    g.series[name].push({ x: g.series[name].length + 1, y: e.value });
    g.looks = Math.max(g.looks, g.series[name].length);
    g.dirty = true;
  }
  function drawGate(g) {
    var sets = g.names.map(function (n, k) {
      var c = PALETTE[k % PALETTE.length];
      return { label: n, data: g.series[n], borderColor: c, backgroundColor: c, pointRadius: 3 };
    });
    if (g.threshold !== null) sets.push({ label: "threshold " + g.threshold, borderColor: "#c62828",
      backgroundColor: "#c62828", borderDash: [6, 4], pointRadius: 0,
      data: [{ x: 0.5, y: g.threshold }, { x: g.looks + 0.5, y: g.threshold }] });
    g.chart.data.datasets = sets;
    g.chart.options.scales.x.max = g.looks + 0.5;
    g.chart.update("none");
    g.dirty = false;
  }
  function drawTimeline() {
    var rows = stages;
    var bars = rows.map(function (s) {
      if (s.start === undefined) return null;
      return [s.start, s.end === undefined ? Math.max(s.start, latest) : s.end];
    });
    $("timeline-box").style.height = Math.max(120, rows.length * 20 + 60) + "px";
    if (!timelineChart) {
      timelineChart = new Chart($("timeline-chart"), { type: "bar", data: { labels: [],
        datasets: [{ label: "stages", data: [], borderSkipped: false, minBarLength: 3 }] },
        options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { type: "linear", min: 0, title: { display: true,
            text: "seconds after the run started (the run's clock)" } },
            y: { ticks: { autoSkip: false } } } } });
    }
    timelineChart.data.labels = rows.map(function (s) { return s.id; });
    timelineChart.data.datasets[0].data = bars;
    timelineChart.data.datasets[0].backgroundColor = rows.map(function (s) {
      return STATUS[s.status] || "#9e9e9e"; });
    timelineChart.update("none");
    var body = document.createDocumentFragment();
    rows.forEach(function (s) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-stage", s.id);
      text(tr.appendChild(document.createElement("td")), s.id);
      badge(tr.appendChild(document.createElement("td")).appendChild(document.createElement("span")), s.status);
      text(tr.appendChild(document.createElement("td")), s.start === undefined ? "" : s.start.toFixed(1));
      text(tr.appendChild(document.createElement("td")), s.end === undefined ? "" : s.end.toFixed(1));
      text(tr.appendChild(document.createElement("td")), s.note || "");
      body.appendChild(tr);
    });
    $("stages-body").replaceChildren(body);
  }
  function redraw() {
    dirty = false;
    drawTimeline();
    Object.keys(gates).forEach(function (k) { if (gates[k].dirty) drawGate(gates[k]); });
  }
  function later() { if (!dirty) { dirty = true; setTimeout(redraw, 50); } }
  function journal(e) {
    received++;
    root.setAttribute("data-sse-events", String(received));
    root.setAttribute("data-last-type", e.type);
    root.setAttribute("data-last-seq", String(e.seq));
    if (e.type === "run.started") {
      t0 = Date.parse(e.ts);
      (e.stages || []).forEach(function (s) { stage(s.id).kind = s.kind; });
    }
    latest = Math.max(latest, secs(e.ts));
    if (e.type === "stage.started") { var s = stage(e.stage); s.status = "running"; s.start = secs(e.ts); s.end = undefined; }
    if (e.type === "stage.finished") { var f = stage(e.stage); f.status = e.status; f.end = secs(e.ts);
      if (f.start === undefined) f.start = f.end; f.note = e.reason || f.note || ""; }
    if (e.type === "stage.paused") { var p = stage(e.stage); p.status = "paused"; p.note = e.reason; }
    if (e.type === "stage.decision") { var d = stage(e.stage); d.status = "running";
      d.note = e.action + " by " + e.by + " (" + e.method + ")"; }
    if (e.type === "gate.sample") sample(e);
    var line = document.createElement("div");
    text(line, "#" + e.seq + " " + e.ts + " " + e.type + (e.stage ? " " + e.stage : "") +
      (e.type === "gate.sample" ? " " + e.gate + " = " + e.value + " (" + e.verdict + ")" : ""));
    var log = $("events");
    log.appendChild(line);
    while (log.childNodes.length > 200) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
    later();
  }
  function traffic(t) {
    var id = "traffic-" + t.service;
    var row = document.querySelector('[data-service="' + CSS.escape(t.service) + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.setAttribute("data-service", t.service);
      text(row.appendChild(document.createElement("td")), t.service);
      row.appendChild(document.createElement("td")).appendChild(document.createElement("div")).className = "bar";
      row.appendChild(document.createElement("td"));
      $("traffic-body").appendChild(row);
      $("no-traffic").hidden = true;
    }
    var bar = row.querySelector(".bar");
    bar.replaceChildren();
    t.split.forEach(function (s) {
      var span = document.createElement("span");
      span.className = "slot-" + (s.slot === "blue" || s.slot === "green" ? s.slot : "other");
      span.style.width = s.percent + "%";
      span.textContent = s.percent >= 10 ? s.slot : "";
      bar.appendChild(span);
    });
    row.lastChild.textContent = t.split.map(function (s) { return s.slot + " " + s.percent + "%"; })
      .join(" / ") + " (" + t.stage + ", " + t.at + ")";
    row.id = id;
  }
  function state(s) {
    root.setAttribute("data-state", s.state);
    badge($("state"), s.status);
    text($("how"), s.how ? "(" + s.how + ")" : "");
    var panel = $("decision");
    panel.hidden = s.state !== "paused";
    if (s.state === "paused") text($("waiting"), s.waiting || "a stage");
  }
  function decide(action) {
    var stageName = $("waiting").textContent;
    if (!confirm(action + " stage " + stageName + " of run " + data.runId + "?")) return;
    ["promote", "abort"].forEach(function (a) { $(a).disabled = true; });
    fetch("/runs/" + encodeURIComponent(data.runId) + "/decision", { method: "POST",
      headers: { "content-type": "application/json", "x-dashboard-csrf": data.csrf },
      body: JSON.stringify({ action: action }) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (r) {
        text($("decision-result"), r.ok ? r.body.message : "refused: " + r.body.error);
        root.setAttribute("data-decision", r.ok ? action : "refused");
        if (!r.ok) ["promote", "abort"].forEach(function (a) { $(a).disabled = false; });
      })
      .catch(function (e) { text($("decision-result"), "failed: " + e); });
  }
  $("promote").addEventListener("click", function () { decide("promote"); });
  $("abort").addEventListener("click", function () { decide("abort"); });
  var es = new EventSource("/runs/" + encodeURIComponent(data.runId) + "/events");
  es.addEventListener("journal", function (m) { journal(JSON.parse(m.data)); });
  es.addEventListener("traffic", function (m) { traffic(JSON.parse(m.data)); });
  es.addEventListener("state", function (m) { state(JSON.parse(m.data)); });
  es.addEventListener("finished", function (m) {
    es.close();
    var f = JSON.parse(m.data);
    root.setAttribute("data-state", "finished");
    badge($("state"), f.status);
    $("decision").hidden = true;
    $("finished").hidden = false;
    text($("finished-status"), f.status);
  });
  es.addEventListener("problem", function (m) { root.setAttribute("data-problem", m.data); });
  es.onerror = function () { root.setAttribute("data-stream-error", String(Date.now())); };
})();
`;
