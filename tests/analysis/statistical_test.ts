/**
 * Statistical gates through analyzeGates() on a virtual clock, with constructed
 * traffic: each window's counts are drawn from a model of target time (rate, error
 * share, latency), so a 15-minute step takes milliseconds and its timing is exact.
 * @module
 */
import assert from "node:assert/strict";
import { analyzeGates } from "../../lib/analysis/analyze.ts";
import type { Measurement, MetricsProvider, Target } from "../../lib/analysis/provider.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { seededRandom } from "../../lib/random/mod.ts";
import { defineMetrics, stage } from "../../mod.ts";
import "../runner/fixtures/metrics.ts";

const metrics = defineMetrics({
  error_rate: { unit: "%", query: "q", evidence: { kind: "error_ratio" } },
  p95_latency: { unit: "ms", query: "q", evidence: { kind: "quantile", quantile: 0.95 } },
});

interface Model {
  /** Requests per second at target time t (ms since the start). */
  rate(t: number, target: Target): number;
  /** Share of errors at t. */
  errors(t: number, target: Target): number;
  /** A latency draw at t (ms). */
  latency?(t: number, target: Target, rnd: ReturnType<typeof seededRandom>): number;
}

/** A provider answering from a model of traffic, on the clock's target time. */
function modelled(clock: { now(): number }, model: Model, seed = "traffic") {
  const rnd = seededRandom(seed);
  const start = clock.now();
  const p: MetricsProvider & { asked: { windowMs: number; overMs?: number }[] } = {
    name: "model",
    asked: [],
    measure(_m, target, o): Promise<Measurement> {
      p.asked.push(o);
      const t = clock.now() - start;
      const requests = Math.round(model.rate(t, target) * o.windowMs / 1000);
      const errors = Math.round(requests * model.errors(t, target));
      const latencies = Array.from(
        { length: requests },
        () => model.latency?.(t, target, rnd) ?? 100,
      );
      const over = o.overMs === undefined
        ? undefined
        : latencies.filter((l) => l > o.overMs!).length;
      const to = clock.now();
      return Promise.resolve({
        kind: requests ? "value" : "inconclusive",
        value: requests ? 100 * errors / requests : NaN,
        detail: "no requests",
        evidence: {
          requests,
          errors,
          ...(over !== undefined ? { over, overMs: o.overMs! } : {}),
          windowMs: o.windowMs,
          from: new Date(to - o.windowMs).toISOString(),
          to: new Date(to).toISOString(),
          ...(o.samples ? { latencies: latencies.slice(0, o.samples) } : {}),
        },
      } as Measurement);
    },
  };
  return p;
}

const signal = new AbortController().signal;
const api = [{ service: "api" }];

async function run(
  s: ReturnType<typeof stage>,
  model: Model,
  targets: Parameters<typeof analyzeGates>[2]["targets"] = api,
  seed = "traffic",
) {
  const clock = virtualClock({ startMs: 0 });
  const provider = modelled(clock, model, seed);
  const r = await analyzeGates(s.spec.gates, s.spec.analysis, {
    provider,
    metrics,
    targets,
    clock,
    signal,
  });
  clock.dispose();
  return { r, clock, provider, at: r.breachedAt ? Date.parse(r.breachedAt) : undefined };
}

const sequential = (gate: "error_rate < 1%" | "p95_latency < 2000ms" = "error_rate < 1%") =>
  stage("canary-5").gate(gate, { decide: "sequential" }).for("15m").every("1m")
    .initialDelay("2m");

Deno.test("a sequential gate breaches 3% errors at 10 req/s within 60 s, with no initial delay", async () => {
  const { r, at, provider } = await run(sequential(), { rate: () => 10, errors: () => 0.03 });
  const g = r.gates[0]!;
  assert.equal(g.verdict, "failed");
  assert.equal(g.method, "sequential");
  assert.ok(at! <= 60_000, `breached at ${at} ms`);
  assert.match(g.reason!, /error_rate < 1% breached for service=api: the evidence says above/);
  assert.equal(g.decision!.state, "breach");
  assert.equal(g.decision!.decidedAt, r.breachedAt);
  assert.equal(g.decision!.bound, 100);
  // Each look asked for the window since the last one: 10 s, no request counted twice.
  assert.ok(provider.asked.every((o) => o.windowMs === 10_000));
  const first = g.samples[0]!;
  assert.equal(first.at, "1970-01-01T00:00:10.000Z");
  assert.deepEqual(first.evidence, {
    requests: 100,
    errors: 3,
    windowMs: 10_000,
    from: "1970-01-01T00:00:00.000Z",
    to: "1970-01-01T00:00:10.000Z",
  });
  assert.equal(first.decision!.state, "undecided");
});

Deno.test("a sequential gate on little evidence stays undecided and fails closed at the step's end", async () => {
  // 0.3 req/s: 3 requests a look, none failing — not enough to show < 1% at 99%.
  const { r, clock } = await run(sequential(), { rate: () => 0.3, errors: () => 0 });
  const g = r.gates[0]!;
  assert.equal(g.verdict, "failed");
  assert.equal(g.samples.length, 90, "it kept looking for the whole 15 minutes");
  assert.equal(clock.now(), 15 * 60_000);
  assert.ok(
    g.samples.every((s) => s.evidence?.requests === 3 && s.decision?.state === "undecided"),
  );
  assert.match(g.reason!, /undecided for service=api at the end of the analysis: 270 requests/);
  assert.match(g.reason!, /fail closed/);
  assert.equal(g.decision!.state, "undecided");
});

Deno.test("no data or NaN never passes a sequential gate", async () => {
  for (
    const answer of [
      { kind: "inconclusive", detail: "no value (NaN)" },
      { kind: "value", value: 0 }, // a value with no counts behind it
    ] as Measurement[]
  ) {
    const clock = virtualClock({ startMs: 0 });
    const s = sequential().spec;
    const r = await analyzeGates(s.gates, s.analysis, {
      provider: { name: "nan", measure: () => Promise.resolve(answer) },
      metrics,
      targets: api,
      clock,
      signal,
    });
    assert.equal(r.gates[0]!.verdict, "failed", JSON.stringify(answer));
    assert.ok(r.gates[0]!.samples.every((x) => x.verdict === "inconclusive"));
  }
});

Deno.test("a healthy version passes a sequential gate, and the gate keeps watching to the end", async () => {
  const { r, clock } = await run(sequential(), { rate: () => 10, errors: () => 0.0005 });
  const g = r.gates[0]!;
  assert.equal(g.verdict, "passed");
  assert.equal(g.decision!.state, "pass");
  assert.ok(Date.parse(g.decision!.decidedAt!) <= 120_000, g.decision!.decidedAt ?? "");
  assert.equal(clock.now(), 15 * 60_000, "watched until the step's end");
  assert.equal(r.breachedAt, undefined);
});

Deno.test("a late regression after 10 healthy minutes is caught within 2 one-minute looks", async () => {
  const s = stage("canary-5").gate("error_rate < 1%", { decide: "sequential", look: "1m" })
    .for("15m");
  const onset = 10 * 60_000;
  const { r, at } = await run(s, { rate: () => 10, errors: (t) => t > onset ? 0.03 : 0.0005 });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.ok(at! > onset && at! <= onset + 2 * 60_000, `caught at ${at! / 60_000} min`);
});

Deno.test("p95 < 2000ms is tested as 'under 5% of requests slower than 2000 ms'", async () => {
  const slow = (share: number): Model => ({
    rate: () => 10,
    errors: () => 0,
    latency: (_t, _x, rnd) => rnd.next() < share ? 2500 : 300,
  });
  const bad = await run(sequential("p95_latency < 2000ms"), slow(0.15));
  assert.equal(bad.r.gates[0]!.verdict, "failed");
  assert.equal(bad.provider.asked[0]!.overMs, 2000, "the source was asked to count over 2000 ms");
  assert.ok(bad.r.gates[0]!.samples[0]!.evidence!.over! > 0);
  const good = await run(sequential("p95_latency < 2000ms"), slow(0.001));
  assert.equal(good.r.gates[0]!.verdict, "passed");
});

Deno.test("a sequential breach stops a fixed gate measured beside it", async () => {
  const s = stage("c").gate("error_rate < 1%", { decide: "sequential" })
    .gate("p95_latency < 2000ms").for("15m").every("1m").initialDelay("2m");
  const { r, at } = await run(s, { rate: () => 10, errors: () => 0.05 });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.equal(r.gates[1]!.verdict, "not_measured");
  assert.match(r.gates[1]!.reason!, /analysis stopped when error_rate < 1% breached/);
  assert.ok(at! < 120_000, "before the fixed gate's initial delay ended");
});

Deno.test("a statistical gate on a metric with no evidence fails closed, saying how to fix it", async () => {
  const s = sequential().spec;
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: modelled(virtualClock({ startMs: 0 }), { rate: () => 10, errors: () => 0 }),
    metrics: { error_rate: { unit: "%", query: "q" } },
    targets: api,
    clock: virtualClock({ startMs: 0 }),
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.match(r.gates[0]!.reason!, /declare its evidence in the metric's definition/);
});

Deno.test("a query that keeps failing fails a sequential gate after its error limit", async () => {
  const s = sequential().spec;
  const clock = virtualClock({ startMs: 0 });
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: {
      name: "down",
      measure: () => Promise.resolve({ kind: "error", detail: "cannot reach Prometheus" }),
    },
    metrics,
    targets: api,
    clock,
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.match(r.gates[0]!.reason!, /4 consecutive errors > limit 3 \(cannot reach Prometheus\)/);
  assert.equal(clock.now(), 40_000);
});

const pair = [{
  canary: { service: "api", slot: "green" },
  baseline: { service: "api", slot: "blue" },
}];
const latencyModel = (shiftMs: number): Model => ({
  rate: () => 10,
  errors: () => 0.0005,
  latency: (_t, target, rnd) =>
    rnd.lognormal(Math.log(300), 0.4) + (target.slot === "green" ? shiftMs : 0),
});

Deno.test("a baseline gate passes identical distributions and fails a +500 ms latency shift", async () => {
  const s = stage("canary-5").gate("p95_latency < 2000ms", { decide: "baseline" }).for("5m");
  const same = await run(s, latencyModel(0), pair, "same-0");
  assert.equal(same.r.gates[0]!.verdict, "passed", same.r.gates[0]!.reason ?? "");
  assert.equal(same.r.gates[0]!.decision!.method, "baseline");
  assert.equal(same.r.gates[0]!.samples[0]!.baseline!.requests, 100);
  // Over 100 seeded steps of 30 looks each, false alarms stay near α = 2% (at most 6:
  // the mean 2 plus three standard deviations).
  let alarms = 0;
  for (let i = 0; i < 100; i++) {
    const r = await run(s, latencyModel(0), pair, `same-${i}`);
    if (r.r.gates[0]!.verdict === "failed") alarms++;
  }
  assert.ok(alarms <= 6, `${alarms} of 100 identical steps failed`);
  const slower = await run(s, latencyModel(500), pair);
  assert.equal(slower.r.gates[0]!.verdict, "failed");
  assert.match(
    slower.r.gates[0]!.reason!,
    /the canary is worse than its baseline at 98% confidence/,
  );
  assert.ok(slower.at! <= 10_000, "the first look shows it");
});

Deno.test("a baseline gate compares error rates, and needs { canary, baseline } targets", async () => {
  const s = stage("c").gate("error_rate < 1%", { decide: "baseline" }).for("5m");
  const errors = (t: number, x: Target) => x.slot === "green" ? 0.03 : 0.0005 + 0 * t;
  const worse = await run(s, { rate: () => 10, errors }, pair);
  assert.equal(worse.r.gates[0]!.verdict, "failed");
  const alone = await run(s, { rate: () => 10, errors }, api);
  assert.equal(alone.r.gates[0]!.verdict, "failed");
  assert.match(
    alone.r.gates[0]!.reason!,
    /must be \{ canary: \{\.\.\.\}, baseline: \{\.\.\.\} \} pairs/,
  );
});
