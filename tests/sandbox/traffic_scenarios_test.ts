// Scenarios as shifts from a healthy version, with onsets: the text forms, their errors,
// random onsets drawn from the seed, and the pods' behaviour (the kubelet's view).
import assert from "node:assert/strict";
import {
  checkScenario,
  faultedProfile,
  HEALTHY_PROFILE,
  parseScenario,
  podBehaviour,
  SCENARIO_FORMS,
  SCENARIOS,
} from "../../lib/sandbox/scenarios.ts";

const p95 = (b: { medianMs: number; sigma: number }) => b.medianMs * Math.exp(1.6449 * b.sigma);

Deno.test("scenarios: the existing names keep their meaning; the new names are shifts", () => {
  for (const name of Object.keys(SCENARIOS)) assert.equal(checkScenario(name), name);
  assert.equal(Object.keys(SCENARIOS)[0], "canary-errors", "listed first, as before");
  assert.equal(podBehaviour("canary-errors", true).errorRate, 0.03);
  assert.equal(podBehaviour("high-error-rate", true).errorRate, 0.03);
  assert.equal(podBehaviour("high-error-rate", false).errorRate, 0, "only the new version");
  assert.ok(Math.abs(p95(podBehaviour("slow", true)) - 2500) < 1);
  assert.ok(Math.abs(p95(podBehaviour("latency", true)) - (HEALTHY_PROFILE.p95Ms + 500)) < 1);
  assert.ok(Math.abs(p95(podBehaviour("latency:1s", true)) - (HEALTHY_PROFILE.p95Ms + 1000)) < 1);
  assert.equal(podBehaviour("crash-loop", true).crashes, true);
  assert.equal(podBehaviour("crashloop", false).crashes, false);
  assert.equal(podBehaviour("slow-rollout", true).startupMs, 180_000);
  assert.equal(podBehaviour("slow-rollout:30s", true).startupMs, 30_000);
  assert.equal(podBehaviour("metrics-down", false).metricsDown, true);
  assert.equal(podBehaviour(undefined, true).errorRate, 0, "real pods: no baseline errors");
  const profile = { errorRate: 0.0005, medianMs: 100, p95Ms: 400 };
  const healthy = podBehaviour(undefined, true, { profile });
  assert.equal(healthy.errorRate, 0.0005);
  assert.ok(Math.abs(p95(healthy) - 400) < 1);
});

Deno.test("scenarios: sizes, onsets and services are read; several faults join with a comma", () => {
  assert.deepEqual(parseScenario("high-error-rate:5%@4m/api+search, latency:1s@90s"), [
    {
      kind: "errors",
      name: "high-error-rate",
      size: 0.05,
      onsetMs: 240_000,
      services: ["api", "search"],
    },
    { kind: "latency", name: "latency", size: 1000, onsetMs: 90_000 },
  ]);
  assert.deepEqual(parseScenario("slow"), [
    { kind: "latency", name: "slow", size: 0, p95Ms: 2500, onsetMs: 0 },
  ]);
  assert.deepEqual(parseScenario("none"), []);
  assert.deepEqual(parseScenario(undefined), []);
  assert.equal(checkScenario(" none "), undefined);
});

Deno.test("scenarios: a random onset is drawn from the seed, within its range", () => {
  const onset = (text: string, seed: number) => parseScenario(text, { seed })[0]!.onsetMs;
  const seeds = Array.from({ length: 50 }, (_, i) => i);
  const draws = seeds.map((s) => onset("high-error-rate@random", s));
  assert.deepEqual(draws, seeds.map((s) => onset("high-error-rate@random", s)), "reproducible");
  assert.ok(draws.every((d) => d >= 0 && d < 900_000), "in [0, 15m)");
  assert.ok(new Set(draws).size > 45, "different seeds, different moments");
  // Uniform over 15 minutes: the mean of 50 draws is 450 s ± 5 × 260/sqrt(50) s.
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  assert.ok(Math.abs(mean - 450_000) < 5 * 259_808 / Math.sqrt(50), `mean ${mean}`);
  const ranged = seeds.map((s) => onset("latency@2m..3m", s));
  assert.ok(ranged.every((d) => d >= 120_000 && d < 180_000), ranged.join());
  const [a, b] = parseScenario("latency@random,high-error-rate@random", { seed: 3 });
  assert.notEqual(a!.onsetMs, b!.onsetMs, "each fault draws its own");
});

Deno.test("scenarios: bad text is refused naming the part at fault and the valid forms", () => {
  const cases: [string, RegExp][] = [
    ["chaos-monkey", /unknown scenario "chaos-monkey"; known scenarios are canary-errors, /],
    ["high-error-rate:lots", /size of high-error-rate is a percentage .* not "lots"/],
    ["high-error-rate:150%", /size of high-error-rate is a percentage/],
    ["latency:fast", /size of latency is a duration like "500ms" or "1s"/],
    ["crashloop:3", /crashloop takes no size/],
    ["high-error-rate@soon", /onset of high-error-rate is a duration like "4m", "random"/],
    ["latency@5m..1m", /onset range 5m\.\.1m must end after it starts/],
    ["slow-rollout@2m", /slow-rollout has no onset/],
    ["latency/Bad_Name", /"Bad_Name" is not a service name/],
    ["latency,,slow", /unknown scenario ""/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseScenario(text), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, expected);
      assert.ok(e.message.startsWith(`Cannot use scenario "${text}": `), e.message);
      assert.ok(e.message.endsWith(`Valid forms: ${SCENARIO_FORMS}`), e.message);
      return true;
    }, text);
  }
  assert.throws(() => checkScenario("nope"), RangeError);
});

Deno.test("faultedProfile(): shifts start at their onset, for their services, and add up", () => {
  const base = { errorRate: 0.0005, medianMs: 80, p95Ms: 300 };
  const faults = parseScenario("high-error-rate@4m/api,latency:1s@2m,high-error-rate:99%");
  assert.deepEqual(faultedProfile(base, faults, undefined, "api"), base, "not being deployed");
  const early = faultedProfile(base, faults.slice(0, 2), 60_000, "api");
  assert.deepEqual(early, base, "before every onset");
  const mid = faultedProfile(base, faults.slice(0, 2), 150_000, "api");
  assert.deepEqual(mid, { errorRate: 0.0005, medianMs: 1080, p95Ms: 1300 });
  const late = faultedProfile(base, faults.slice(0, 2), 240_000, "api");
  assert.ok(Math.abs(late.errorRate - 0.0305) < 1e-12);
  const other = faultedProfile(base, faults.slice(0, 2), 240_000, "search");
  assert.equal(other.errorRate, 0.0005, "errors only for api");
  assert.equal(faultedProfile(base, faults, 240_000, "api").errorRate, 1, "capped at 100%");
  assert.equal(
    podBehaviour(faults.slice(0, 1), true, { sinceDeployMs: 239_999, service: "api" }).errorRate,
    0,
  );
  assert.equal(
    podBehaviour(faults.slice(0, 1), true, { sinceDeployMs: 240_000, service: "api" }).errorRate,
    0.03,
  );
});
