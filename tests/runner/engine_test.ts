// The engine on fixture pipelines: concurrency, outputs handed on, skips spread through
// needs (and when(false) skips that do not), failure handlers, retries, timeouts.
import assert from "node:assert/strict";
import { reportSchema } from "../../lib/report/schema.ts";
import { runFixture, stageOf } from "./_run.ts";

Deno.test("runGraph() runs independent stages at the same time and hands outputs on", async () => {
  // left and right each wait to hear the other over a BroadcastChannel: both can only
  // succeed in meeting if they are running at once.
  const run = await runFixture("basic.ts", { options: { mode: "meet" } });
  try {
    assert.equal(run.report.status, "succeeded");
    const log = await Deno.readTextFile(`${run.runDir}/${stageOf(run, "join").log}`);
    assert.match(log, /left and right ran at the same time: true/);
  } finally {
    await run.cleanup();
  }
});

Deno.test("runGraph() with concurrency 1 runs one stage at a time", async () => {
  const run = await runFixture("basic.ts", { concurrency: 1 });
  try {
    const left = stageOf(run, "left");
    const right = stageOf(run, "right");
    const [first, second] = Date.parse(left.startedAt!) < Date.parse(right.startedAt!)
      ? [left, right]
      : [right, left];
    assert.ok(Date.parse(second.startedAt!) >= Date.parse(first.finishedAt!));
  } finally {
    await run.cleanup();
  }
});

Deno.test("runGraph() skips the dependents of a failed stage while rollback and finally run", async () => {
  const run = await runFixture("basic.ts", { options: { mode: "fail-right" } });
  try {
    assert.equal(run.report.status, "rolled_back");
    assert.equal(stageOf(run, "right").status, "failed");
    assert.match(stageOf(run, "right").reason!, /right broke on purpose/);
    assert.equal(stageOf(run, "join").status, "skipped");
    assert.match(stageOf(run, "join").reason!, /needs "right", which failed/);
    assert.equal(stageOf(run, "after").status, "skipped");
    assert.equal(stageOf(run, "rollback").status, "succeeded");
    assert.equal(stageOf(run, "notify").status, "succeeded");
    assert.deepEqual(run.report.rollback, {
      performed: true,
      stages: ["rollback"],
      succeeded: true,
    });
    const log = await Deno.readTextFile(`${run.runDir}/${stageOf(run, "rollback").log}`);
    assert.match(log, /rolling back after: right/);
    reportSchema.parse(JSON.parse(await Deno.readTextFile(run.reportPath)));
  } finally {
    await run.cleanup();
  }
});

Deno.test("runGraph() records when(false) skips with their reason, and their dependents still run", async () => {
  const run = await runFixture("basic.ts");
  try {
    assert.equal(stageOf(run, "prod-only").status, "skipped");
    assert.equal(stageOf(run, "prod-only").reason, "only in production");
    assert.equal(stageOf(run, "after-skip").status, "succeeded");
    assert.equal(stageOf(run, "rollback").reason, "no failure in the stages it watches");
  } finally {
    await run.cleanup();
  }
});

Deno.test("runGraph() retries with backoff and records every attempt", async () => {
  const run = await runFixture("basic.ts", { options: { mode: "retry" } });
  try {
    const flaky = stageOf(run, "flaky");
    assert.equal(flaky.status, "succeeded");
    assert.deepEqual(flaky.attempts.map((a) => a.status), ["failed", "succeeded"]);
    assert.match(flaky.attempts[0]!.error!, /attempt 1 fails/);
  } finally {
    await run.cleanup();
  }
});

Deno.test("runGraph() times an attempt out, fails the stage and stops the others (fail fast)", async () => {
  const run = await runFixture("basic.ts", { options: { mode: "timeout" } });
  try {
    const slow = stageOf(run, "slow");
    assert.equal(slow.status, "failed");
    assert.equal(slow.attempts[0]!.status, "timed_out");
    assert.match(slow.reason!, /timed out after 300 ms/);
    assert.ok(slow.durationMs! < 3_000, `the timeout took ${slow.durationMs} ms`);
    assert.equal(run.report.status, "rolled_back");
  } finally {
    await run.cleanup();
  }
});

Deno.test("an interrupted run stops running stages, runs the failure path and says interrupted", async () => {
  const controller = new AbortController();
  const started = runFixture("basic.ts", {
    options: { mode: "interrupt" },
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 1_500);
  const run = await started;
  try {
    assert.equal(run.report.status, "interrupted");
    assert.equal(stageOf(run, "long").status, "interrupted");
    assert.equal(stageOf(run, "rollback").status, "succeeded");
    assert.equal(stageOf(run, "notify").status, "succeeded");
    reportSchema.parse(JSON.parse(await Deno.readTextFile(run.reportPath)));
  } finally {
    await run.cleanup();
  }
});

Deno.test("a dry run says so in the report and measures no gate", async () => {
  const run = await runFixture("basic.ts", { dryRun: true });
  try {
    assert.equal(run.report.dryRun, true);
    assert.equal(run.report.status, "succeeded");
  } finally {
    await run.cleanup();
  }
});
