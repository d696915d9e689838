/** The fault schedule is a pure function of the seed. */
import assert from "node:assert/strict";
import {
  API_CHAOS_SHARE,
  FAULT_MIX,
  type FaultKind,
  inject,
  planRun,
  runScenario,
  runSeeds,
} from "../../lib/simulate/mod.ts";
import { splitApiChaos } from "../../lib/sandbox/scenarios.ts";

Deno.test("the same seed gives the same runs, another seed other runs", () => {
  assert.deepEqual(runSeeds("7", 50), runSeeds("7", 50));
  assert.deepEqual(
    runSeeds("7", 50).map((s) => planRun(s)),
    runSeeds("7", 50).map((s) => planRun(s)),
  );
  assert.notDeepEqual(runSeeds("7", 50), runSeeds("8", 50));
  // A prefix of a longer simulation is the shorter one: run i does not depend on N.
  assert.deepEqual(runSeeds("7", 10), runSeeds("7", 50).slice(0, 10));
  assert.equal(new Set(runSeeds("7", 1000)).size, 1000);
});

Deno.test("a run's plan is drawn from its seed alone, in range", () => {
  const plans = runSeeds("mix", 4000).map((s) => planRun(s));
  for (const p of plans) {
    assert.deepEqual(planRun(p.seed), p);
    assert.equal(p.startMs % 1000, 0);
    assert.ok(p.startMs >= Date.UTC(2026, 0, 1) && p.startMs < Date.UTC(2027, 0, 1));
    const f = p.fault;
    if (f.kind === "errors") assert.ok(f.errorRate! >= 0.005 && f.errorRate! <= 0.08 + 1e-9);
    if (f.kind === "latency") assert.ok(f.latencyMs! >= 200 && f.latencyMs! <= 2000);
    if (f.kind === "metrics-gap") assert.ok(f.durationMs! >= 60_000 && f.durationMs! <= 600_000);
    if (f.kind !== "healthy") assert.ok(f.onsetMs! >= 0 && f.onsetMs! <= 55 * 60_000);
  }
  // Each kind's share is near its mix (4000 draws: 4 standard deviations at most).
  for (const [kind, share] of Object.entries(FAULT_MIX) as [FaultKind, number][]) {
    const n = plans.filter((p) => p.fault.kind === kind).length;
    const sd = Math.sqrt(4000 * share * (1 - share));
    assert.ok(
      Math.abs(n - 4000 * share) < 4 * sd,
      `${kind}: ${n} of 4000, expected ~${4000 * share}`,
    );
  }
});

Deno.test("--fault: every run gets the kind and size, its onset drawn in the range; the rest as drawn", async () => {
  const { parseFaultSpec } = await import("../../lib/simulate/fault_spec.ts");
  const forced = parseFaultSpec("errors:3%@0s..10m");
  for (let seed = 1; seed <= 200; seed++) {
    const free = planRun(seed), plan = planRun(seed, forced);
    assert.equal(plan.startMs, free.startMs);
    assert.equal(plan.trafficSeed, free.trafficSeed);
    assert.equal(plan.fault.kind, "errors");
    assert.equal(plan.fault.errorRate, 0.03);
    assert.ok(plan.fault.onsetMs! >= 0 && plan.fault.onsetMs! <= 600_000, `${plan.fault.onsetMs}`);
    assert.deepEqual(planRun(seed, forced), plan, "a pure function of the seed");
  }
  const onsets = new Set(Array.from({ length: 50 }, (_, i) => planRun(i, forced).fault.onsetMs));
  assert.ok(onsets.size > 20, "onsets are drawn, not fixed");
  assert.equal(planRun(5, parseFaultSpec("latency:1s@4m")).fault.onsetMs, 240_000);
  assert.deepEqual(planRun(5, parseFaultSpec("healthy")).fault, { kind: "healthy" });
  for (
    const [bad, why] of [
      ["errors", /errors takes a percentage/],
      ["errors:0%", /errors takes a percentage/],
      ["latency:fast", /not a duration/],
      ["chaos", /unknown kind/],
      ["crash@5m", /takes no size or onset/],
      ["errors:3%@10m..5m", /ends before it starts/],
    ] as const
  ) assert.throws(() => parseFaultSpec(bad), why, bad);
});

Deno.test("api-chaos: a quarter of the runs drawn flaky at 1-5%, on a stream of its own; --api-chaos forces or turns it off", () => {
  const seeds = runSeeds("api", 4000);
  const plans = seeds.map((s) => planRun(s));
  const flaky = plans.filter((p) => p.apiChaos !== null);
  const sd = Math.sqrt(4000 * API_CHAOS_SHARE * (1 - API_CHAOS_SHARE));
  assert.ok(Math.abs(flaky.length - 4000 * API_CHAOS_SHARE) < 4 * sd, `${flaky.length} flaky`);
  const rates = new Set(flaky.map((p) => p.apiChaos));
  for (const rate of rates) {
    assert.ok(rate! >= 0.01 && rate! <= 0.05, String(rate));
    // whole steps of 0.5%, as the sandbox's scenario text writes them
    assert.equal(Math.abs(rate! * 1000 - Math.round(rate! * 1000)) < 1e-9, true, String(rate));
  }
  assert.ok(rates.has(0.01) && rates.has(0.05), [...rates].join());
  for (const p of plans.slice(0, 500)) {
    // Drawing the API's faults changes nothing else of the run.
    const off = planRun(p.seed, undefined, "off");
    assert.equal(off.apiChaos, null);
    assert.deepEqual({ ...p, apiChaos: null }, off);
    assert.equal(planRun(p.seed, undefined, 0.2).apiChaos, 0.2);
    assert.deepEqual(planRun(p.seed, undefined, "drawn"), p);
  }
  // The scenario the sandbox is given: the version's fault, then the API's.
  assert.equal(
    runScenario(inject({ kind: "errors", errorRate: 0.03, onsetMs: 60_000 }), 0.035),
    "high-error-rate:3.00%@60s,api-chaos:3.5%",
  );
  assert.equal(runScenario(inject({ kind: "healthy" }), 0.01), "api-chaos:1%");
  assert.equal(runScenario(inject({ kind: "healthy" }), null), undefined);
  // What the sandbox reads back is the rate drawn.
  assert.deepEqual(splitApiChaos("crashloop,api-chaos:3.5%"), {
    chaos: { rate: 0.035 },
    rest: "crashloop",
  });
});
