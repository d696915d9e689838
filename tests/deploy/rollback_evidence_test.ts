// A rollback finishes the job with evidence: before the failed slot's pods are stopped, each
// pod's last log lines and the Events about it (and about its ReplicaSet and Deployment) are
// read into the scale-down's output, so the report keeps them — bounded, whole (not
// summarised away for its size), and with nothing secret. End to end through the real CLI:
// the deploy's own rollback of a crash-looping version, and `deno task rollback`. The first
// runs its own sandbox on the virtual clock (its evidence is read in that run); the second
// needs one sandbox alive from the deploy to the rollback (a pod's log lines are kept in the
// running sandbox, as a node keeps them: a restarted one starts a pod's log afresh).
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { MAX_REPORTED_OUTPUT } from "../../lib/runner/stage_records.ts";
import { type Deployment, Rehearsal, stage, VIRTUAL_LEASE } from "./_deploy.ts";
import { baseline } from "./_baseline.ts";
import { CONFIRM, SERVICES } from "./_canary.ts";
import type { LeftSlot } from "../../pipelines/stages/scale_down.ts";
import { EVIDENCE_LIMITS } from "../../pipelines/stages/evidence.ts";

async function sandboxAt(r: Rehearsal, scenario?: string) {
  return await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: r.sandboxDir,
    timeScale: 240,
    maxRealRate: 400,
    ...(scenario ? { scenario } : {}),
  });
}

/** Each pod of `slot` in the namespace, by name, read with kubectl (the sandbox running). */
async function podNames(r: Rehearsal, slot: string): Promise<string[]> {
  const out = await r.kubectl(
    "get",
    "pods",
    "-n",
    "tracktion-prod",
    "-l",
    `slot=${slot}`,
    "-o",
    "jsonpath={.items[*].metadata.name}",
  );
  return out.trim() ? out.trim().split(/\s+/).sort() : [];
}

/** The slots of a stage's output, asserting the output was kept whole (not summarised). */
function slotsOf(d: Deployment, id: string): LeftSlot[] {
  const s = stage(d, id) as unknown as { output: unknown };
  assert.equal(typeof s.output, "object", `${id}'s output was not kept: ${String(s.output)}`);
  assert.ok(JSON.stringify(s.output).length <= MAX_REPORTED_OUTPUT);
  return (s.output as { slots: LeftSlot[] }).slots;
}

/** Every failed-slot pod has its state, last lines and events, within the bounds. */
function assertEvidence(
  slots: LeftSlot[],
  expect: {
    line: (service: string) => RegExp;
    podReason: RegExp;
    deploymentReason: RegExp;
    pods: string[];
  },
) {
  assert.deepEqual(slots.map((s) => s.deployment), SERVICES.map((s) => `${s}-green`));
  const seen: string[] = [];
  for (const s of slots) {
    const e = s.evidence;
    assert.ok(e, `${s.deployment}: no evidence`);
    assert.equal(e.error, undefined, e.error ?? "");
    assert.equal(e.deployment, s.deployment);
    assert.equal(e.pods.length, s.replicasBefore, `${s.deployment}: one entry per pod`);
    for (const p of e.pods) {
      seen.push(p.pod);
      assert.ok(p.pod.startsWith(`${s.deployment}-`), p.pod);
      assert.equal(p.logError, undefined, p.logError ?? "");
      assert.ok(p.logs.length >= 1 && p.logs.length <= EVIDENCE_LIMITS.lines, p.pod);
      assert.ok(
        p.logs.some((l) => expect.line(s.service).test(l)),
        `${p.pod}: ${JSON.stringify(p.logs)}`,
      );
      assert.ok(p.logs.every((l) => l.length <= EVIDENCE_LIMITS.lineChars));
      assert.ok(p.events.length >= 1 && p.events.length <= EVIDENCE_LIMITS.eventsPerObject);
      assert.ok(
        p.events.some((ev) => expect.podReason.test(ev.reason)),
        `${p.pod}: ${JSON.stringify(p.events)}`,
      );
    }
    // The Deployment's latest Event (a Warning first, when it has one, e.g. its deadline).
    const deployment = e.objects.find((o) => o.object === `Deployment/${s.deployment}`);
    assert.ok(
      deployment?.events.some((ev) => expect.deploymentReason.test(ev.reason)),
      `${s.deployment}: ${JSON.stringify(e.objects)}`,
    );
    for (const o of e.objects) assert.ok(o.events.length <= EVIDENCE_LIMITS.eventsPerObject);
  }
  assert.deepEqual(seen.sort(), expect.pods, "the failed slot's pods, each once");
  const size = JSON.stringify(slots.map((s) => s.evidence)).length;
  assert.ok(size <= EVIDENCE_LIMITS.budgetBytes, `evidence of ${size} bytes`);
}

Deno.test({
  name:
    "production: a crash-looping version is rolled back; its pods' last lines and BackOff events are in the report",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const d = await r.deploy("production", "v1.1.0", [
        ...CONFIRM,
        ...VIRTUAL_LEASE,
        "--scenario",
        "crashloop",
      ]);
      assert.equal(d.code, 1, d.stdout + d.stderr);
      assert.equal(d.report.status, "rolled_back", d.stdout);
      // Read before the run ended: the pods the failed slot had (now gone, scaled to 0).
      const slots = slotsOf(d, "rollback");
      const pods = slots.flatMap((s) => s.evidence?.pods.map((p) => p.pod) ?? []).sort();
      assert.deepEqual(
        await r.inspect(() => podNames(r, "green")),
        [],
        "the failed slot was scaled down",
      );
      assertEvidence(slots, {
        line: () => /crashed on start-up \(exit code 1\)/,
        podReason: /^BackOff$/,
        // its rollout may have passed its deadline before the rollback (a Warning), or not
        deploymentReason: /^(ProgressDeadlineExceeded|ScalingReplicaSet)$/,
        pods,
      });
      for (const s of slots) {
        for (const p of s.evidence!.pods) {
          assert.equal(p.state, "CrashLoopBackOff", p.pod);
          assert.equal(p.ready, false, p.pod);
        }
      }
      // The whole last lines are in the stage's log too.
      const logFile = (stage(d, "rollback") as unknown as { log: string }).log;
      const log = await Deno.readTextFile(`${d.reportPath.replace(/report\.json$/, "")}${logFile}`);
      for (const p of pods) assert.match(log, new RegExp(`evidence: ${p}: last \\d+ log line`));
      const report = await Deno.readTextFile(d.reportPath);
      assert.ok(!/password=(?!\*\*\*)/i.test(report), "a password in the report");
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "deno task rollback: the slot it leaves is scaled to 0 with its pods' last lines and events in the report",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    const sandbox = await sandboxAt(r);
    try {
      const d = await r.deploy("production", "v1.1.0", CONFIRM);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      const pods = await podNames(r, "green");
      assert.ok(pods.length > 0);
      const back = await r.rollback("production", CONFIRM);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      const slots = slotsOf(back, "scale-down");
      assert.deepEqual(slots.map((s) => s.outcome), SERVICES.map(() => "scaled-down"));
      assertEvidence(slots, {
        // what a healthy pod of the version logs last (the sandbox's kubelet writes it)
        line: () => /listening, version 1\.1\.0 ready|starting \S+ version 1\.1\.0/,
        podReason: /^(Started|Scheduled)$/,
        deploymentReason: /^ScalingReplicaSet$/,
        pods,
      });
      assert.deepEqual(await podNames(r, "green"), [], "scaled to 0");
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});

Deno.test("evidence: secret-looking values are masked, lines cut, and the whole fits its budget, least telling first", async () => {
  const { fitEvidence, lastLines, maskLine } = await import("../../pipelines/stages/evidence.ts");
  for (
    const [line, hidden] of [
      ['{"msg":"db connect","password":"hunter2hunter2"}', "hunter2hunter2"],
      ["connecting to postgres://tracktion:S3cretPw@db:5432/prod", "S3cretPw"],
      ["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"],
      ["REDIS_TOKEN=abcd1234efgh retrying", "abcd1234efgh"],
    ]
  ) {
    const masked = maskLine(line!);
    assert.ok(!masked.includes(hidden!), masked);
    assert.match(masked, /\*\*\*/);
  }
  assert.equal(maskLine("x".repeat(1_000)).length, EVIDENCE_LIMITS.lineChars);
  // The last lines, at most EVIDENCE_LIMITS.lines of them, within the bytes given.
  const log = Array.from({ length: 80 }, (_, i) => `line ${i}`).join("\n") + "\n";
  const all = lastLines(log, 1_000_000);
  assert.equal(all.lines.length, EVIDENCE_LIMITS.lines);
  assert.equal(all.lines.at(-1), "line 79");
  const few = lastLines(log, 30);
  assert.deepEqual(few.lines, ["line 77", "line 78", "line 79"]);
  assert.equal(few.cut, EVIDENCE_LIMITS.lines - 3);
  // Fitting: older lines go first, each pod keeps its last line and its Warning.
  const warning = { type: "Warning", reason: "BackOff", message: "Back-off restarting", count: 9 };
  const normal = { type: "Normal", reason: "Started", message: "Started container", count: 1 };
  const pod = (n: number) => ({
    pod: `web-green-${n}`,
    phase: "Running",
    ready: false,
    restarts: 9,
    logs: Array.from({ length: 20 }, (_, i) => `pod ${n} line ${i} ${"x".repeat(60)}`),
    logsCut: 0,
    events: [warning, normal],
  });
  const slots = () => [{
    deployment: "web-green",
    pods: [pod(1), pod(2), pod(3)],
    objects: [{ object: "Deployment/web-green", events: [normal, normal] }],
  }];
  const some = slots();
  const size = fitEvidence(some, 1_500);
  assert.ok(size <= 1_500 && size === JSON.stringify(some).length, `${size}`);
  for (const p of some[0]!.pods) {
    assert.ok(p.logs.length >= 1 && p.logs.length < 20, p.pod);
    assert.equal(p.logs.at(-1), `${p.pod.replace("web-green-", "pod ")} line 19 ${"x".repeat(60)}`);
    assert.equal(p.logsCut, 20 - p.logs.length);
    assert.equal(p.events.length, 2, "lines go before events");
  }
  assert.equal(some[0]!.objects[0]!.events.length, 2);
  // Tighter: each pod keeps its last line and its Warning, the Deployment its latest Event.
  const expected = slots();
  for (const p of expected[0]!.pods) {
    p.logs = p.logs.slice(-1);
    p.logsCut = 19;
    p.events = [warning];
  }
  expected[0]!.objects[0]!.events = [normal];
  const tight = slots();
  fitEvidence(tight, JSON.stringify(expected).length);
  assert.deepEqual(tight, expected);
  // Nothing can fit a budget of 0: everything goes, and it stops.
  const none = slots();
  fitEvidence(none, 0);
  assert.deepEqual(none[0]!.objects, []);
  assert.ok(none[0]!.pods.every((p) => p.logs.length === 0 && p.events.length === 0));
});
