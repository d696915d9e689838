import assert from "node:assert/strict";
import { reportView } from "../../lib/render/mod.ts";
import { EVIL_STAGE, smallReport } from "./_report.ts";

Deno.test("reportView() places every stage on one axis from the run's start", () => {
  const v = reportView(smallReport());
  const row = (id: string) => v.timeline.find((r) => r.id === id)!;
  assert.deepEqual(v.timeline.map((r) => r.id), [
    "lock",
    "preflight:a",
    EVIL_STAGE,
    "confirm",
    "canary-5",
    "promote",
    "rollback",
  ]);
  assert.deepEqual([row("preflight:a").start, row("preflight:a").end], [1, 5]);
  // Two stages that ran at once overlap on the axis.
  assert.ok(row(EVIL_STAGE).start! < row("preflight:a").end!);
  assert.equal(row("promote").start, undefined, "a skipped stage has no bar");
  assert.equal(row("promote").reason, 'needs "canary-5", which failed');
  assert.equal(v.span, 30);
  assert.equal(row("canary-5").duration, "4 s");
});

Deno.test("reportView() gives each gate one series per target, named by what tells them apart", () => {
  const v = reportView(smallReport());
  assert.equal(v.gates.length, 2);
  const [errors, latency] = v.gates;
  assert.equal(errors!.stage, "canary-5");
  assert.deepEqual(errors!.series.map((s) => s.name), ["api", "worker"]);
  assert.equal(errors!.series[0]!.labels, "namespace=prod,service=api,slot=green");
  assert.deepEqual(errors!.series[0]!.points.map((p) => [p.look, p.value, p.verdict]), [
    [1, 0.25, "successful"],
    [2, null, "inconclusive"],
    [3, 0.5, "successful"],
  ]);
  assert.equal(errors!.series[1]!.points[2]!.verdict, "failed");
  assert.equal(errors!.series[0]!.points[1]!.detail, "no traffic in the window");
  assert.equal(latency!.samples, 0);
  assert.deepEqual(latency!.series, []);
  assert.equal(latency!.verdict, "not_measured");
});

Deno.test("reportView() names one target by its labels and a gate sampled without labels as all targets", () => {
  const report = smallReport();
  const gate = report.stages.find((s) => s.id === "canary-5")!.gates[0]!;
  gate.samples = gate.samples.filter((s) => s.labels?.service === "api");
  const one = reportView(report).gates[0]!;
  assert.deepEqual(one.series.map((s) => s.name), ["namespace=prod,service=api,slot=green"]);
  for (const s of gate.samples) delete s.labels;
  assert.deepEqual(reportView(report).gates[0]!.series.map((s) => s.name), ["all targets"]);
});

Deno.test("reportView() header: who, what, when, where, approvals, and unverified unless told", () => {
  const v = reportView(smallReport());
  const fact = (label: string) => v.facts.find((f) => f.label === label)?.value;
  assert.equal(fact("who"), "ada@example.com on laptop");
  assert.equal(fact("where: namespace"), "prod");
  assert.match(fact("when")!, /^2026-01-01T12:00:00\.000Z → 2026-01-01T12:00:30\.000Z \(30 s\)$/);
  assert.deepEqual(v.approvals, [
    'stage confirm: "DEPLOY" given by ada@example.com at 2026-01-01T12:00:07.000Z (flag)',
  ]);
  assert.deepEqual(v.verification, [
    { check: "verification", ok: null, detail: "not verified when this was rendered" },
  ]);
  const told = [{ check: "journal chain", ok: false, detail: "BROKEN at line 3" }];
  assert.deepEqual(reportView(smallReport(), { verification: told }).verification, told);
  assert.equal(v.rollback.summary, "rollback ran (rollback): succeeded");
  assert.match(v.rollback.stages[0]!.output, /back on blue/);
});

Deno.test("reportView() shows a report with no target recorded, no stage times and a failed rollback", () => {
  const report = smallReport();
  report.target = {};
  report.rollback = { performed: true, stages: ["rollback"], succeeded: false };
  for (const s of report.stages) {
    delete s.startedAt;
    delete s.finishedAt;
  }
  const v = reportView(report);
  assert.equal(v.facts.find((f) => f.label === "where")?.value, "not recorded");
  assert.ok(v.timeline.every((r) => r.start === undefined && r.end === undefined));
  assert.equal(v.span, 30);
  assert.equal(v.rollback.summary, "rollback ran (rollback): FAILED");
});
