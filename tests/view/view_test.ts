import assert from "node:assert/strict";
import { RunView } from "../../lib/cli/view.ts";
import { RunModel } from "../../lib/cli/view_model.ts";
import { renderRegion } from "../../lib/cli/view_render.ts";
import { parseGate } from "../../lib/dsl/gate.ts";
import type { GateSpec } from "../../lib/dsl/stage.ts";
import type { GateRecord, SampleRecord, StageRecord } from "../../lib/report/schema.ts";

const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const ERR = { gate: parseGate("error_rate < 1%") } as unknown as GateSpec;
const AT = "2026-01-01T00:00:10.000Z";

function sample(service: string, value: number, breach: boolean): SampleRecord {
  return {
    at: AT,
    value,
    verdict: breach ? "failed" : "successful",
    labels: { namespace: "shop", service, slot: "green" },
    evidence: { requests: 2_987, windowMs: 10_000, errors: Math.round(value * 29.87) },
    decision: { state: breach ? "breach" : "undecided" },
  } as unknown as SampleRecord;
}

function failedStage(samples: SampleRecord[]): StageRecord {
  const gate: GateRecord = {
    gate: "error_rate < 1%",
    metric: "error_rate",
    operator: "<",
    threshold: 1,
    unit: "%",
    failureLimit: 0,
    consecutiveErrorLimit: 3,
    inconclusivePolicy: "fail",
    verdict: "failed",
    method: "sequential",
    samples,
  };
  return {
    id: "canary-5",
    status: "failed",
    reason: "gate failed",
    durationMs: 10_000,
    checks: [],
    gates: [gate],
    attempts: [],
  } as unknown as StageRecord;
}

Deno.test("RunView (plain) shows a look a line with its place, and every service that breached", () => {
  let out = "";
  const view = new RunView({ write: (t) => out += t }, { tty: false, colour: false, json: false });
  const samples = SERVICES.map((s, i) => sample(s, i === 2 ? 0.2 : 3 + i, i !== 2));
  for (const s of samples) {
    view.sample("canary-5", ERR, s.labels!, s, { look: 7, of: 90, everyMs: 10_000 });
  }
  view.stage(failedStage(samples), false);
  view.close();
  const lines = out.split("\n");
  assert.ok(
    lines.some((l) => /^ {4}✗ canary-5 #7 of 90 error_rate < 1%: analysis-service 3%/.test(l)),
  );
  const at = lines.findIndex((l) => l.includes("breached for 3 of 4 service(s):"));
  assert.ok(at >= 0, out);
  assert.deepEqual(lines.slice(at + 1, at + 4).map((l) => l.trim()), [
    "analysis-service 3% (90 of 2,987 in 10s)",
    "file-watcher 4% (119 of 2,987 in 10s)",
    "notification-service 6% (179 of 2,987 in 10s)",
  ]);
  assert.ok(!out.includes("\x1b["), "no escape without colour and a terminal");
});

Deno.test("RunView (--json) writes nothing of its own: the journal's lines are the output", () => {
  let out = "";
  const view = new RunView({ write: (t) => out += t }, { tty: true, colour: true, json: true });
  view.line("hello");
  view.notice("canary-5", "web: blue 95% / green 5%");
  view.stage(failedStage([sample("web", 3, true)]), false);
  view.close();
  assert.equal(out, "");
});

Deno.test("renderRegion() fits the terminal: no line wider than it, no more lines than its rows", () => {
  const stages = Array.from({ length: 40 }, (_, i) => ({ id: `stage-with-a-long-name-${i}` }));
  const m = new RunModel({ title: "deploy → production", runId: "r1", stages }, 0);
  m.started("stage-with-a-long-name-3", AT, 0);
  for (const s of SERVICES) {
    m.sample("stage-with-a-long-name-3", ERR, sample(s, 3, true), {
      look: 1,
      of: 90,
      everyMs: 10_000,
    }, 0);
  }
  for (const s of SERVICES) m.notice("stage-with-a-long-name-3", `${s}: blue 95% / green 5%`);
  for (const [width, rows] of [[80, 24], [160, 50], [40, 10]] as const) {
    const lines = renderRegion(m, { width, rows, colour: false, wall: 1_000 });
    assert.ok(lines.length <= rows - 2, `${lines.length} lines for ${rows} rows`);
    for (const l of lines) assert.ok([...l].length <= width - 1, `wider than ${width - 1}: ${l}`);
  }
  const tall = renderRegion(m, { width: 160, rows: 50, colour: false, wall: 1_000 }).join("\n");
  assert.match(tall, /sample 1 of 90 · 0ms elapsed, 14m50s left/);
  for (const s of SERVICES) {
    assert.match(tall, new RegExp(`^ {2}${s} +✗ 3% +2,987$`, "m"));
    // 95/5 of a bar: the two parts in their proportions.
    const bar = new RegExp(`^ {2}${s} +(█+)(▒+) blue 95% / green 5%$`, "m").exec(tall);
    assert.ok(bar, tall);
    assert.equal(Math.round(bar[1]!.length / (bar[1]!.length + bar[2]!.length) * 100), 95);
  }
  // Short of rows: the stages are counted on one line, the running one still named.
  const short = renderRegion(m, { width: 80, rows: 12, colour: false, wall: 1_000 });
  assert.match(short[1]!, /39 waiting/);
  assert.ok(short.some((l) => l.includes("stage-with-a-long-name-3")));
});
