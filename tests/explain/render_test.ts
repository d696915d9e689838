// renderExplanation() on more than a screen holds: it stays within 40 lines of 100 columns
// (or the width asked), gives up detail first (the why of each command, handlers' lines, the
// gate's healthy targets), never the cause's breaching targets or a command, and a command
// wider than the screen goes on over lines a shell reads as one.
import assert from "node:assert/strict";
import { type Explanation, type GateTarget, renderExplanation } from "../../lib/explain/mod.ts";
import { nextCommands } from "./_explain.ts";

function target(i: number, verdict: GateTarget["verdict"]): GateTarget {
  return {
    target: `service-${String(i).padStart(2, "0")}/green`,
    labels: { service: `service-${i}`, slot: "green" },
    last: verdict === "breached" ? 4.5 : 0.2,
    worst: verdict === "breached" ? 6.25 : 0.3,
    samples: 12,
    badSamples: verdict === "breached" ? 3 : 0,
    requests: 123_456,
    events: verdict === "breached" ? 5_000 : 12,
    verdict,
  };
}

const LONG = "/var/lib/ci/workspaces/a-very-long-project-name/with/nested/folders/.state/runs";

/** More than a screen of everything. */
function crowded(): Explanation {
  return {
    runId: "20260101T000000Z-abcdef",
    runDir: `${LONG}/20260101T000000Z-abcdef`,
    source: "report",
    headline: "rolled back: canary-20: gate error_rate < 0.5% breached for 3 of 30 targets; " +
      "rolled back",
    run: {
      pipeline: "deploy",
      environment: "production",
      version: "v9.9.9",
      status: "rolled_back",
      died: false,
      dryRun: false,
      startedAt: "2026-01-01T00:00:00.000Z",
      durationMs: 2_712_000,
      who: "someone.with.a.long.name@example.com@build-host-17",
      commit: { sha: "0123456789abcdef0123456789abcdef01234567", dirty: false },
      target: { kind: "kubeconfig", cluster: "prod-eu-1", namespace: "shop", clock: "real" },
      approvedBy: ["Ann Approver", "Bob Approver"],
      resumes: 0,
    },
    cause: {
      kind: "gate",
      stage: "canary-20",
      stageDescription: "20% of traffic on the new slot for 30m",
      gate: "error_rate < 0.5%",
      method: "sequential",
      confidence: 0.99,
      threshold: "< 0.5%",
      reason: "error_rate < 0.5% breached for service=service-7,slot=green: ".repeat(4),
      targets: [
        ...[7, 12, 29].map((i) => target(i, "breached")),
        ...Array.from({ length: 27 }, (_, i) => target(100 + i, "ok")),
      ],
      otherGates: ["p95_latency < 1500ms (vs baseline)"],
    },
    alsoFailed: [{ stage: "canary-20b", reason: "x".repeat(300) }],
    rollback: { performed: true, succeeded: true, stages: ["rollback"] },
    actions: Array.from({ length: 6 }, (_, i) => ({
      stage: `handler-${i}`,
      kind: i === 0 ? "rollback" as const : "finally" as const,
      status: "succeeded",
      lines: [`line one of ${i} ${"y".repeat(120)}`, `line two of ${i}`, `line three of ${i}`],
      more: 4,
      log: `logs/handler-${i}.log`,
    })),
    undelivered: [{
      stage: "notify",
      channel: "pagerduty",
      what: "notification: rolled_back",
      attempts: 5,
      error: "HTTP 502",
    }],
    notified: ["slack"],
    notes: ["a note", "another note", "a third note"],
    next: Array.from({ length: 5 }, (_, i) => ({
      command: `deno task rollback production --run 20260101T000000Z-abcdef --runs-dir ${LONG} ` +
        `--sandbox-dir ${LONG}/../sandbox-${i}`,
      why: `reason ${i}`,
    })),
    more: ["report.json", "logs/canary-20.log"],
  };
}

for (const width of [100, 60]) {
  Deno.test(`renderExplanation() fits more than a screen into 40 lines of ${width} columns, keeping the cause and every command whole`, () => {
    const e = crowded();
    const text = renderExplanation(e, { width });
    const lines = text.trimEnd().split("\n");
    assert.ok(lines.length <= 40, `${lines.length} lines:\n${text}`);
    for (const l of lines) {
      // A command's one word wider than the screen (a long path) keeps its line whole.
      const word = /^ {6}\S+( \\)?$/.test(l) || /^ {2}\S+\/:$/.test(l);
      assert.ok([...l].length <= width || word, `${[...l].length} columns: ${l}`);
    }
    // The cause stays: its gate, and the breaching targets first; the healthy ones gave way.
    assert.match(text, /\n {4}gate error_rate < 0\.5% \(sequential, 99% confidence\)\n/);
    if (width === 100) {
      for (const i of ["07", "12", "29"]) {
        assert.match(text, new RegExp(`\\n {4}service-${i}/green +BREACHED `));
      }
    }
    assert.ok(lines.filter((l) => /service-1\d\d\/green/.test(l)).length < 27);
    // The commands shown are the first ones, each whole (its continuation lines read back as
    // the command); the rest are counted.
    const shown = nextCommands(text);
    assert.ok(shown.length >= 1);
    assert.deepEqual(shown, e.next.slice(0, shown.length).map((n) => n.command));
    if (shown.length < e.next.length) {
      assert.match(
        text,
        new RegExp(`… ${e.next.length - shown.length} more command\\(s\\) \\(--json\\)`),
      );
    }
    // Where the rest is, whole.
    assert.ok(lines.some((l) => l.trim() === `${e.runDir}/:`), text);
    assert.match(text, /✗ UNDELIVERED pagerduty: notification: rolled_back/);
  });
}

Deno.test("renderExplanation() with room to spare gives everything: the why of each command, every target", () => {
  const e = crowded();
  e.cause = {
    ...e.cause!,
    targets: (e.cause as { targets: GateTarget[] }).targets.slice(0, 4),
  } as Explanation["cause"];
  e.actions = e.actions.slice(0, 1);
  e.next = [
    { command: "deno task resume 20260101T000000Z-abcdef", why: "reason 0" },
    { command: "deno task report render 20260101T000000Z-abcdef --html", why: "reason 1" },
  ];
  e.notes = [];
  e.alsoFailed = [];
  const text = renderExplanation(e);
  assert.match(
    text,
    /\$ deno task resume \S+\n {6}reason 0\n {2}\$ deno task report render \S+ --html\n {6}reason 1\n/,
  );
  assert.equal(text.match(/service-\d+\/green/g)?.length, 4);
  assert.match(text, /gate error_rate < 0\.5% \(sequential, 99% confidence\)/);
  assert.match(text, /also failed: p95_latency < 1500ms \(vs baseline\)/);
});
