// A stage's time limit on a scaled clock gives at least MIN_REAL_STAGE_LIMIT_MS of real time
// (a rehearsal's 15-minute limit at ×240 would be 3.75 real seconds: a busy machine would
// time out stages that pass on an idle one); on a virtual clock the limit is the limit
// (tests/runner/clock_test.ts).
import assert from "node:assert/strict";
import { scaledClock } from "../../lib/clock/mod.ts";
import { MIN_REAL_STAGE_LIMIT_MS } from "../../lib/runner/worker_attempt.ts";
import { runFixture, stageOf } from "./_run.ts";

Deno.test("scaled clock: a 10 m limit is at least a real minute, so an hour's sleep at ×100,000 finishes", async () => {
  // 10 min at ×100,000 is 6 real ms (it would fire before the Worker is up); the hour's
  // sleep is 36 real ms, far below the real floor.
  const scale = 100_000;
  assert.ok(60 * 60_000 / scale < MIN_REAL_STAGE_LIMIT_MS);
  const run = await runFixture("clock.ts", {
    options: { mode: "timeout" },
    clock: scaledClock(scale),
  });
  try {
    const slow = stageOf(run, "slow");
    assert.equal(slow.status, "succeeded", slow.reason ?? "");
  } finally {
    await run.cleanup();
  }
});
