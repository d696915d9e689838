/** The counts from constructed runs: detection from onset, missed vs late faults, targets. */
import assert from "node:assert/strict";
import {
  faultOnsetAt,
  type Observation,
  type RunResult,
  summarize,
  trafficOutcome,
} from "../../lib/simulate/mod.ts";

const at = (atMs: number, green: number) => ({
  atMs,
  services: {
    web: { weights: { blue: 100 - green, green }, selector: green === 100 ? "green" : "blue" },
  },
});
const observation = (history: Observation["history"]): Observation => ({
  history,
  deployedAt: { web: { "1.1.0": 1_000 } },
  slots: [],
  leases: [],
  secrets: [],
  endMs: history.at(-1)?.atMs ?? 0,
});

Deno.test("traffic outcome: first traffic, full, and the last return to the old slot", () => {
  const slots = [{ web: "green" }, { web: "blue" }] as const;
  const back = observation([at(0, 0), at(10, 5), at(20, 20), at(30, 0)]);
  assert.deepEqual(trafficOutcome(back, ...slots), { firstAtMs: 10, fullAtMs: null, backAtMs: 30 });
  const promoted = observation([at(0, 0), at(10, 5), at(20, 100)]);
  assert.deepEqual(trafficOutcome(promoted, ...slots), {
    firstAtMs: 10,
    fullAtMs: 20,
    backAtMs: null,
  });
  // Back once, then sent again: not back at the end.
  const again = observation([at(0, 0), at(10, 5), at(15, 0), at(20, 5)]);
  assert.equal(trafficOutcome(again, ...slots).backAtMs, null);
  assert.equal(faultOnsetAt({ kind: "healthy" }, back, "1.1.0"), null);
  assert.equal(
    faultOnsetAt({ kind: "errors", errorRate: 0.03, onsetMs: 5_000 }, back, "1.1.0"),
    6_000,
  );
  assert.equal(faultOnsetAt({ kind: "errors", errorRate: 0.03, onsetMs: 0 }, back, "9.9.9"), null);
});

function run(over: Partial<RunResult>): RunResult {
  return {
    seed: 1,
    gates: "sequential",
    drawn: { kind: "healthy" },
    injected: { kind: "healthy" },
    exitCode: 0,
    status: "succeeded",
    startMs: 0,
    reachedFull: true,
    rolledBack: false,
    onsetAtMs: null,
    shareAtOnset: null,
    inCanary: false,
    detectionMs: null,
    breach: null,
    violations: [],
    runDir: "",
    wallMs: 1000,
    timings: {},
    ...over,
  };
}

Deno.test("summary: false rollbacks by gate, missed vs late faults, the target's faults", () => {
  const errors = { kind: "errors" as const, errorRate: 0.03, onsetMs: 0 };
  const s = summarize([
    run({}),
    run({
      seed: 2,
      reachedFull: false,
      rolledBack: true,
      exitCode: 1,
      breach: "canary-5: error_rate < 1%",
    }),
    run({
      seed: 3,
      injected: errors,
      reachedFull: false,
      rolledBack: true,
      inCanary: true,
      shareAtOnset: 5,
      detectionMs: 20_000,
      exitCode: 1,
    }),
    run({ seed: 4, injected: errors, reachedFull: true, inCanary: true, shareAtOnset: 20 }),
    run({ seed: 5, injected: { kind: "latency", latencyMs: 500, onsetMs: 0 }, inCanary: false }),
    // No gate failed: the cause is the run's error, its first clause.
    run({
      seed: 6,
      reachedFull: false,
      rolledBack: true,
      exitCode: 1,
      status: "rolled_back",
      error: "this run lost its deploy lock: the lock tracktion-prod/tracktion-deploy was not " +
        "renewed for 20 s (the renew deadline is 20 s of a 30 s lease)",
    }),
    run({ seed: 7, reachedFull: false, exitCode: 1, status: "failed" }),
  ]);
  assert.equal(s.healthy_runs, 4);
  assert.equal(s.false_rollbacks, 3);
  assert.deepEqual(s.false_rollback_gates, {
    "canary-5: error_rate < 1%": 1,
    "this run lost its deploy lock": 1,
    failed: 1,
  });
  assert.equal(s.faulty_runs, 2);
  assert.equal(s.missed_faults, 1);
  assert.deepEqual(s.missed_seeds, [4]);
  assert.equal(s.late_faults, 1);
  assert.deepEqual(s.target_faults, { runs: 2, missed: 1 });
  assert.deepEqual(s.detection_seconds_errors_3pct_at_5pct, { median: 20, p95: 20, count: 1 });
});
