/**
 * Baseline gates and what they are compared with: `{ canary, baseline: null }` (a first
 * deploy, nothing live) is recorded as not compared and does not fail; a target that
 * names no baseline at all still fails closed; a source without latencies is compared on
 * its counts over the threshold; a gate stopped by another's breach is not failed closed.
 * Through analyzeGates() and createGateAnalyzer() on a virtual clock, with a provider
 * answering from a seeded model of target time.
 * @module
 */
import assert from "node:assert/strict";
import { analyzeGates } from "../../lib/analysis/analyze.ts";
import { createGateAnalyzer } from "../../lib/analysis/gate_analyzer.ts";
import type { Measurement, MetricsProvider, Target } from "../../lib/analysis/provider.ts";
import { NO_BASELINE } from "../../lib/analysis/targets.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { Journal } from "../../lib/journal/journal.ts";
import { seededRandom } from "../../lib/random/mod.ts";
import { defineMetrics, stage } from "../../mod.ts";
import "../runner/fixtures/metrics.ts";

const metrics = defineMetrics({
  error_rate: { unit: "%", query: "q", evidence: { kind: "error_ratio" } },
  p95_latency: { unit: "ms", query: "q", evidence: { kind: "quantile", quantile: 0.95 } },
});

interface Model {
  /** Requests per second of a target. */
  rate: number;
  /** Milliseconds added to a target's latencies (lognormal, median 300 ms). */
  shift(target: Target): number;
  /** Whether the source returns latencies when asked (Prometheus does not). */
  latencies?: boolean;
}

/** A provider answering from a model, recording every target it was asked about. */
function modelled(clock: { now(): number }, model: Model, seed: string) {
  const rnd = seededRandom(seed);
  const asked: Target[] = [];
  const p: MetricsProvider & { asked: Target[] } = {
    name: "model",
    asked,
    measure(_m, target, o): Promise<Measurement> {
      asked.push(target);
      const requests = Math.round(model.rate * o.windowMs / 1000);
      const lat = Array.from(
        { length: requests },
        () => rnd.lognormal(Math.log(300), 0.4) + model.shift(target),
      );
      const over = o.overMs === undefined ? {} : {
        over: lat.filter((l) => l > o.overMs!).length,
        overMs: o.overMs,
      };
      const to = clock.now();
      const withLatencies = (model.latencies ?? true) && o.samples;
      return Promise.resolve({
        kind: "value",
        value: lat.sort((a, b) => a - b)[Math.floor(0.95 * lat.length)] ?? NaN,
        evidence: {
          requests,
          errors: 0,
          ...over,
          windowMs: o.windowMs,
          from: new Date(to - o.windowMs).toISOString(),
          to: new Date(to).toISOString(),
          ...(withLatencies ? { latencies: lat.slice(0, o.samples) } : {}),
        },
      });
    },
  };
  return p;
}

const signal = new AbortController().signal;
type Targets = Parameters<typeof analyzeGates>[2]["targets"];

/** A canary step as the deploy pipeline gates it: sequential p95 and error rate, and baseline p95. */
const step = (confidence = 0.999) =>
  stage("canary-5")
    .gate("error_rate < 1%", { decide: "sequential" })
    .gate("p95_latency < 2000ms", { decide: "sequential" })
    .gate("p95_latency < 2000ms", { decide: "baseline", confidence })
    .for("5m");

async function run(s: ReturnType<typeof step>, model: Model, targets: Targets, seed = "s") {
  const clock = virtualClock({ startMs: 0 });
  const provider = modelled(clock, model, seed);
  try {
    const r = await analyzeGates(s.spec.gates, s.spec.analysis, {
      provider,
      metrics,
      targets,
      clock,
      signal,
    });
    return { r, provider, clock: clock.now() };
  } finally {
    clock.dispose();
  }
}

const green = (service: string) => ({ service, slot: "green" });
const blue = (service: string) => ({ service, slot: "blue" });
const healthy: Model = { rate: 20, shift: () => 0 };
const slowGreen: Model = { rate: 20, shift: (t) => t.slot === "green" ? 1000 : 0 };

Deno.test("baseline: null (a first deploy) is not compared: the gate is not measured, says why, and does not fail", async () => {
  const targets = [
    { canary: blue("api"), baseline: null },
    { canary: blue("worker"), baseline: null },
  ];
  // Slower than the live slot would be, were there one: nothing to compare it with.
  const { r, provider } = await run(step(), slowGreen, targets);
  const [errors, p95, vsBaseline] = r.gates;
  assert.equal(vsBaseline!.method, "baseline");
  assert.equal(vsBaseline!.verdict, "not_measured");
  assert.equal(vsBaseline!.samples.length, 0);
  assert.equal(
    vsBaseline!.reason,
    `p95_latency < 2000ms not compared for service=api,slot=blue; service=worker,slot=blue: ${NO_BASELINE}`,
  );
  assert.match(vsBaseline!.reason!, /no live slot to compare with: the stage said baseline: null/);
  // The other gates measure the canary side, and pass.
  assert.equal(errors!.verdict, "passed", errors!.reason ?? "");
  assert.equal(p95!.verdict, "passed", p95!.reason ?? "");
  assert.equal(p95!.samples.length, 60, "2 targets × 30 looks");
  assert.ok(provider.asked.every((t) => t.slot === "blue"), "only the canaries were measured");
  assert.equal(r.breachedAt, undefined);
});

Deno.test("a stage saying baseline: null does not fail in the engine's analyzer either; its canary gets the defaults", async () => {
  const dir = await Deno.makeTempDir();
  const journal = await Journal.open(`${dir}/events.jsonl`);
  const clock = virtualClock({ startMs: 0 });
  try {
    const provider = modelled(clock, healthy, "engine");
    const analyzer = createGateAnalyzer({
      provider,
      metrics,
      defaultTarget: { namespace: "shop" },
      clock,
    });
    const verdict = await analyzer(step().spec, {
      signal,
      output: { analysisTargets: [{ canary: blue("api"), baseline: null }] },
      log: () => {},
      journal,
      runDir: dir,
    });
    assert.deepEqual(verdict.gates.map((g) => g.verdict), ["passed", "passed", "not_measured"]);
    assert.ok(provider.asked.length > 0);
    for (const t of provider.asked) assert.deepEqual(t, { namespace: "shop", ...blue("api") });
    await journal.close();
    // Samples of the two p95 gates are told apart in the journal by their method.
    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l)).filter((e) => e.type === "gate.sample");
    assert.deepEqual(
      new Set(events.map((e) => `${e.gate} ${e.method}`)),
      new Set([
        "error_rate < 1% sequential",
        "p95_latency < 2000ms sequential",
      ]),
    );
  } finally {
    clock.dispose();
    await journal.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pairs beside baseline: null: the pairs are compared (a +1 s canary fails), the rest named as not compared", async () => {
  const targets = [
    { canary: green("api"), baseline: blue("api") },
    { canary: blue("worker"), baseline: null },
  ];
  const same = await run(step(), healthy, targets);
  const vs = same.r.gates[2]!;
  assert.equal(vs.verdict, "passed", vs.reason ?? "");
  assert.equal(vs.reason, `not compared for service=worker,slot=blue: ${NO_BASELINE}`);
  assert.ok(vs.samples.length > 0 && vs.samples.every((s) => s.labels?.service === "api"));
  assert.ok(vs.samples.every((s) => s.baseline?.requests === 200));

  const slow = await run(step(), slowGreen, targets);
  const failed = slow.r.gates[2]!;
  assert.equal(failed.verdict, "failed");
  assert.match(failed.reason!, /^p95_latency < 2000ms breached for service=api,slot=green: /);
  assert.match(failed.reason!, /the canary is worse than its baseline at 99\.9% confidence/);
  assert.match(failed.reason!, /not compared for service=worker,slot=blue/);
  assert.equal(slow.r.breachedAt, "1970-01-01T00:00:10.000Z", "the first look shows it");
  // +1 s on a 300 ms median stays under 2000 ms: the threshold gates alone would pass it.
  // They were stopped by the breach: not measured, not failed closed.
  for (const g of slow.r.gates.slice(0, 2)) {
    assert.equal(g.verdict, "not_measured", g.reason ?? "");
    assert.match(g.reason!, /analysis stopped when p95_latency < 2000ms/);
  }
});

Deno.test("a baseline gate whose stage forgot to name pairs still fails closed", async () => {
  for (
    const [what, targets, who] of [
      ["plain label sets", [green("api")], "service=api,slot=green"],
      ["a plain label set beside baseline: null", [
        { canary: blue("worker"), baseline: null },
        green("api"),
      ], "service=api,slot=green"],
      ["a pair missing its baseline", [{ canary: green("api") }], "service=api,slot=green"],
    ] as const
  ) {
    const { r, provider } = await run(step(), healthy, targets as unknown as Targets);
    const vs = r.gates[2]!;
    assert.equal(vs.verdict, "failed", what);
    assert.match(vs.reason!, /p95_latency < 2000ms cannot be decided: a baseline gate compares/);
    assert.match(vs.reason!, /or \{ canary: \{\.\.\.\}, baseline: null \} when nothing is live/);
    assert.ok(vs.reason!.endsWith(`${who} names no baseline`), vs.reason ?? "");
    assert.equal(provider.asked.length, 0, `${what}: it fails before measuring anything`);
  }
});

Deno.test("the engine's analyzer fails closed on a pair without a baseline key, and accepts only null or labels", async () => {
  for (
    const output of [
      { analysisTargets: [{ canary: green("api") }] },
      { analysisTargets: [{ canary: green("api"), baseline: "blue" }] },
      { analysisTargets: [{ canary: green("api"), baseline: undefined }] },
    ]
  ) {
    const dir = await Deno.makeTempDir();
    const journal = await Journal.open(`${dir}/events.jsonl`);
    const clock = virtualClock({ startMs: 0 });
    try {
      const provider = modelled(clock, healthy, "x");
      const analyzer = createGateAnalyzer({ provider, metrics, defaultTarget: {}, clock });
      const verdict = await analyzer(step().spec, {
        signal,
        output,
        log: () => {},
        journal,
        runDir: dir,
      });
      assert.deepEqual(verdict.gates.map((g) => g.verdict), ["failed", "failed", "failed"]);
      assert.match(verdict.gates[2]!.reason!, /baseline: null when nothing is live/);
      assert.equal(provider.asked.length, 0);
    } finally {
      clock.dispose();
      await journal.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("a source without latencies (Prometheus) is compared on its counts over the threshold", async () => {
  const pair = [{ canary: green("api"), baseline: blue("api") }];
  const same = await run(step(), { ...healthy, latencies: false }, pair);
  const vs = same.r.gates[2]!;
  assert.equal(vs.verdict, "passed", vs.reason ?? "");
  assert.ok(vs.samples.every((s) => /compared the shares of requests over 2000ms/.test(s.detail!)));
  // +2 s: most canary requests over 2000 ms, the baseline's almost none (the baseline gate
  // alone: the sequential p95 gate would breach this too).
  const alone = stage("c").gate("p95_latency < 2000ms", { decide: "baseline", confidence: 0.999 })
    .for("5m") as ReturnType<typeof step>;
  const slower = {
    rate: 20,
    latencies: false,
    shift: (t: Target) => t.slot === "green" ? 2000 : 0,
  };
  const slow = await run(alone, slower, pair);
  assert.equal(slow.r.gates[0]!.verdict, "failed", slow.r.gates[0]!.reason ?? "");
  assert.match(slow.r.gates[0]!.reason!, /worse than its baseline/);
  assert.equal(slow.r.breachedAt, "1970-01-01T00:00:10.000Z");
});

Deno.test("false alarms of a 0.999 baseline gate on identical slots stay within α = 0.1% over 400 steps", async () => {
  // α is spent over the step's 30 looks (Bonferroni): at most 0.4 alarms expected in 400
  // steps; 4 or more has probability < 0.1%. Testing every look at α unspent would give
  // several per 400 steps.
  const s = stage("c").gate("p95_latency < 2000ms", { decide: "baseline", confidence: 0.999 })
    .for("5m");
  const pair = [{ canary: green("api"), baseline: blue("api") }];
  let alarms = 0;
  for (let i = 0; i < 400; i++) {
    const { r } = await run(
      s as ReturnType<typeof step>,
      { rate: 5, shift: () => 0 },
      pair,
      `f${i}`,
    );
    if (r.gates[0]!.verdict === "failed") alarms++;
    else assert.equal(r.gates[0]!.verdict, "passed", r.gates[0]!.reason ?? "");
  }
  assert.ok(alarms <= 3, `${alarms} of 400 identical steps failed`);
});
