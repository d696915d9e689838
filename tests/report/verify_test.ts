// verifyReport(): a report re-derived from its journal verifies — a rolled-back run with
// checks, an approval, a retry, a breaching gate and an undelivered notification; a healthy
// run; a dry run; a resumed run; the report rebuilt from the journal of a killed run (and an
// edit to that one is caught); an older journal (only statuses derivable). And the command:
// `report verify` prints where the report stands, `--json` the verification.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GENESIS } from "../../lib/journal/journal.ts";
import { verifyReport } from "../../lib/report/verify.ts";
import { rebuildReport } from "../../lib/runner/rebuild.ts";
import { verifyCommand } from "../../lib/cli/report_verify.ts";
import { auditedRun, BREACH, copyRun, editReport, journalOf, type Json } from "./_audited.ts";

Deno.test("verifyReport() verifies a rolled-back run's report field by field, and its digest", async () => {
  const run = await auditedRun();
  try {
    assert.equal(run.report.status, "rolled_back");
    const v = await verifyReport(run.runDir);
    assert.equal(v.ok, true, v.mismatch?.message ?? "");
    assert.equal(v.derived, "finished");
    assert.equal(v.digest, "matched");
    assert.equal(v.digestLine, run.report.events.count, "run.finished is the last line");
    assert.equal(v.journal.ok, true);
    // What the brief names, each compared with the journal.
    for (
      const field of [
        "status",
        "target.approvals.approvals[].comment",
        "stages[].status",
        "stages[].reason",
        "stages[].attempts[].error",
        "stages[].checks[].evidence.usedPct",
        "stages[].checks[].message",
        "stages[].gates[].verdict",
        "stages[].gates[].samples[].value",
        "stages[].gates[].samples[].verdict",
        "stages[].gates[].samples[].evidence.requests",
        "stages[].approval.by",
        "rollback.performed",
        "rollback.stages[]",
        "rollback.succeeded",
        "error",
        "undelivered[].channel",
      ]
    ) assert.ok(v.checked.includes(field), `${field} is checked`);
    const samples = run.report.stages.flatMap((s) => s.gates.flatMap((g) => g.samples));
    assert.ok(samples.some((s) => s.value === BREACH));
    assert.ok(v.fields > samples.length * 5, `${v.fields} fields compared`);
  } finally {
    await run.cleanup();
  }
});

Deno.test("verifyReport() verifies a succeeded run and a dry run", async () => {
  const ok = await auditedRun({ mode: "ok" });
  const dry = await auditedRun({ mode: "ok", dryRun: true, runsDir: ok.runsDir });
  try {
    assert.equal(ok.report.status, "succeeded");
    assert.equal((await verifyReport(ok.runDir)).ok, true);
    assert.equal(
      dry.report.stages.find((s) => s.id === "canary")!.gates[0]!.verdict,
      "not_measured",
    );
    const v = await verifyReport(dry.runDir);
    assert.equal(v.ok, true, v.mismatch?.message ?? "");
    assert.ok(v.checked.includes("stages[].gates[].reason"));
  } finally {
    await ok.cleanup();
  }
});

/** The run folder cut after the journal's line `keep` (as a kill leaves it), no report. */
async function killedAt(runDir: string, keep: (events: Json[]) => number) {
  const dir = await copyRun(runDir);
  const lines = (await Deno.readTextFile(`${dir}/events.jsonl`)).split("\n");
  const n = keep(await journalOf(dir));
  // What was being written when the runner died: half a line.
  await Deno.writeTextFile(`${dir}/events.jsonl`, lines.slice(0, n).join("\n") + '\n{"seq":');
  await Deno.remove(`${dir}/report.json`);
  return dir;
}

Deno.test("the report rebuilt from a killed run's journal verifies; an edit to it is caught", async () => {
  const run = await auditedRun();
  // Killed during the canary's analysis, its deploy retried and its checks done.
  const dir = await killedAt(
    run.runDir,
    (events) => events.findIndex((e) => e.type === "gate.sample") + 2,
  );
  try {
    const rebuilt = await rebuildReport(dir);
    assert.equal(rebuilt.status, "interrupted");
    const canary = rebuilt.stages.find((s) => s.id === "canary")!;
    assert.equal(canary.status, "interrupted");
    const preflight = rebuilt.stages.find((s) => s.id === "preflight")!;
    assert.deepEqual(preflight.checks.map((c) => c.evidence), [
      { nodes: 3, latencyMs: 12 },
      { usedPct: 91 },
    ]);
    assert.deepEqual(rebuilt.stages.find((s) => s.id === "deploy")!.attempts.map((a) => a.status), [
      "failed",
      "succeeded",
    ]);
    assert.equal(rebuilt.target.namespace, "audit", "the target is in run.started");
    const v = await verifyReport(dir);
    assert.equal(v.ok, true, v.mismatch?.message ?? "");
    assert.equal(v.derived, "rebuilt");
    assert.equal(v.digest, "none");

    await editReport(dir, (r) => r.stages[0].checks[1].evidence.usedPct = 40);
    const edited = await verifyReport(dir);
    assert.equal(edited.ok, false);
    assert.equal(
      edited.mismatch?.message,
      "report.json stages[0].checks[1].evidence.usedPct is 40, the journal (line 4) says 91",
    );
    await editReport(dir, (r) => {
      r.stages[0].checks[1].evidence.usedPct = 91;
      r.stages[0].calls.push({
        resource: "k",
        method: "m",
        at: r.startedAt,
        durationMs: 1,
        ok: true,
      });
    });
    assert.match(
      (await verifyReport(dir)).mismatch!.message,
      /^report\.json stages\[0\]\.calls\[0\] is \{/,
    );
    await editReport(dir, (r) => {
      r.stages[0].calls = [];
      r.status = "succeeded";
      delete r.rebuilt;
    });
    assert.match(
      (await verifyReport(dir)).mismatch!.message,
      /^report\.json status is "succeeded", the journal \(line \d+\) says "interrupted"$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await run.cleanup();
  }
});

Deno.test("a resumed run's report verifies: the journal before and after the resume", async () => {
  const run = await auditedRun({ mode: "ok", runId: "audited-resumed" });
  try {
    // Killed while the canary was being measured; resumed in the same runs folder.
    const cut = await killedAt(
      run.runDir,
      (events) => events.findIndex((e) => e.type === "gate.sample") + 1,
    );
    await Deno.remove(run.runDir, { recursive: true });
    await Deno.rename(cut, run.runDir);
    const resumed = await auditedRun({ mode: "ok", runsDir: run.runsDir, resume: run.runId });
    assert.equal(resumed.report.status, "succeeded");
    assert.equal(resumed.report.resumes?.length, 1);
    assert.match(resumed.report.stages[0]!.reason ?? "", /before the runner died/);
    const v = await verifyReport(run.runDir);
    assert.equal(v.ok, true, v.mismatch?.message ?? "");
    assert.equal(v.digest, "matched");
    // The resuming runner's graph (its grants) is journalled after run.resumed.
    const events = await journalOf(run.runDir);
    const graph = events.findIndex((e) => e.type === "run.graph") + 1;
    assert.equal(events[graph - 2]?.type, "run.resumed");
    await editReport(run.runDir, (r) => r.stages[2].permissions.net = ["evil.example:443"]);
    assert.equal(
      (await verifyReport(run.runDir)).mismatch?.message,
      `report.json stages[2].permissions.net[0] is "evil.example:443", the journal (line ${graph}) has none`,
    );
    await editReport(run.runDir, (r) => {
      r.stages[2].permissions.net = [];
      r.stages[0].attempts = [{ ...r.stages[3].attempts[0] }];
    });
    assert.match(
      (await verifyReport(run.runDir)).mismatch!.message,
      /^report\.json stages\[0\]\.attempts\[0\]/,
    );
  } finally {
    await run.cleanup();
  }
});

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

Deno.test("an older journal (no journal format) verifies what it carries: the statuses", async () => {
  const run = await auditedRun();
  const dir = await copyRun(run.runDir);
  try {
    // As an older runner wrote it: no format, no report digest; chained again.
    const events = await journalOf(dir);
    delete events[0]!.journal;
    delete events.at(-1)!.reportDigest;
    let prev = GENESIS;
    const lines = events.map((e) => {
      const line = JSON.stringify({ ...e, prev });
      prev = sha256(line);
      return line;
    });
    await Deno.writeTextFile(`${dir}/events.jsonl`, lines.join("\n") + "\n");
    await editReport(dir, (r) => r.events.digest = prev);
    const v = await verifyReport(dir);
    assert.equal(v.ok, true, v.mismatch?.message ?? "");
    assert.equal(v.derived, "legacy");
    assert.equal(v.digest, "none");
    await editReport(dir, (r) => r.stages[3].status = "succeeded");
    assert.match(
      (await verifyReport(dir)).mismatch!.message,
      /^report\.json stages\[3\]\.status is "succeeded"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await run.cleanup();
  }
});

function capture() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
    },
  };
}

Deno.test("report verify prints the verification; exit 1 naming the first field that disagrees", async () => {
  const run = await auditedRun();
  try {
    const clean = capture();
    assert.equal(await verifyCommand([run.runDir], clean.io), 0, clean.out.stdout);
    assert.match(clean.out.stdout, /^audited-breach: audited → development rolled_back/);
    assert.match(clean.out.stdout, /journal: \d+ events, chain verified/);
    assert.match(
      clean.out.stdout,
      /report: verified, \d+ fields re-derived from the journal; the rest matches the digest run\.finished recorded \(line \d+\)/,
    );
    const json = capture();
    assert.equal(await verifyCommand([run.runId, "--runs-dir", run.runsDir, "--json"], json.io), 0);
    const parsed = JSON.parse(json.out.stdout);
    assert.equal(parsed.verification.ok, true);
    assert.ok(parsed.verification.checked.includes("stages[].gates[].samples[].value"));
    assert.equal(parsed.report.runId, run.runId);

    await editReport(run.runDir, (r) => r.status = "succeeded");
    const bad = capture();
    assert.equal(await verifyCommand([run.runDir], bad.io), 1);
    assert.match(
      bad.out.stdout,
      /report: DOES NOT VERIFY: report\.json status is "succeeded", the journal \(line \d+\) says "rolled_back"/,
    );
    const badJson = capture();
    assert.equal(await verifyCommand([run.runDir, "--json"], badJson.io), 1);
    const mismatch = JSON.parse(badJson.out.stdout).verification.mismatch;
    assert.deepEqual(
      { field: mismatch.field, report: mismatch.report, journal: mismatch.journal },
      { field: "status", report: "succeeded", journal: "rolled_back" },
    );
  } finally {
    await run.cleanup();
  }
});
