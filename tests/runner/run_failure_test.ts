// A run failed from outside its stages (`failure`: what the kubernetes capability does when
// the deploy lock is lost): the running stage stops, nothing else ordinary starts, the
// rollback and the finally handlers run, and the run ends rolled back with that reason.
import assert from "node:assert/strict";
import { runFixture, stageOf } from "./_run.ts";

Deno.test("a run failure stops the running stage, starts nothing more, and takes the failure path", async () => {
  const failure = new AbortController();
  const run = await runFixture("run_failure.ts", {
    failure: failure.signal,
    onChange: (record, running) => {
      if (record.id === "slow" && running) {
        failure.abort(new Error("this run lost its deploy lock: another holder took it"));
      }
    },
  });
  try {
    const r = run.report;
    assert.equal(r.status, "rolled_back");
    assert.equal(r.error, "this run lost its deploy lock: another holder took it");
    assert.equal(stageOf(run, "first").status, "succeeded");
    assert.equal(stageOf(run, "slow").status, "interrupted");
    assert.match(stageOf(run, "slow").reason ?? "", /stopped: this run lost its deploy lock/);
    assert.equal(stageOf(run, "next").status, "skipped");
    assert.equal(stageOf(run, "undo").status, "succeeded");
    assert.deepEqual(stageOf(run, "undo").output, ["run", "slow"]);
    assert.equal(stageOf(run, "always").status, "succeeded");
  } finally {
    await run.cleanup();
  }
});

Deno.test("without a run failure the same pipeline is not cut short", async () => {
  const failure = new AbortController();
  const { scaledClock } = await import("../../lib/clock/mod.ts");
  const run = await runFixture("run_failure.ts", {
    failure: failure.signal,
    clock: scaledClock(10_000),
  });
  try {
    assert.equal(run.report.status, "succeeded");
    assert.equal(stageOf(run, "next").status, "succeeded");
    assert.equal(stageOf(run, "undo").status, "skipped");
  } finally {
    await run.cleanup();
  }
});
