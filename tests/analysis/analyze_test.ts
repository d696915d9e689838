import assert from "node:assert/strict";
import { analyzeGates } from "../../lib/analysis/analyze.ts";
import type { Measurement, MetricsProvider } from "../../lib/analysis/provider.ts";
import { defineMetrics, stage } from "../../mod.ts";
import "../runner/fixtures/metrics.ts";

// A scripted source of measurements for the analysis' own logic (the real providers
// are tested against a real Prometheus and the sandbox).
function scripted(
  script: Record<string, (Measurement | number)[]>,
): MetricsProvider & { calls: number } {
  const p = {
    name: "scripted",
    calls: 0,
    measure(metric: { name: string }, target: Record<string, string>) {
      p.calls++;
      const key = `${metric.name}/${target.service ?? ""}`;
      const next = script[key]?.shift();
      if (next === undefined) {
        return Promise.resolve<Measurement>({ kind: "error", detail: "script ran out" });
      }
      return Promise.resolve<Measurement>(
        typeof next === "number" ? { kind: "value", value: next } : next,
      );
    },
  };
  return p;
}

const metrics = defineMetrics({
  error_rate: { unit: "%", query: "q" },
  p95_latency: { unit: "ms", query: "q", inconclusive: "ignore" },
});
const signal = new AbortController().signal;

function canary(minutes: number) {
  return stage("canary").gate("error_rate < 1%").gate("p95_latency < 2000ms").for(`${minutes}m`)
    .every("1m");
}

Deno.test("analyzeGates() passes when every measurement is within the thresholds", async () => {
  const s = canary(3).spec;
  const provider = scripted({
    "error_rate/api": [0.2, 0.4, 0.1],
    "p95_latency/api": [900, 1200, 1100],
  });
  const r = await analyzeGates(s.gates, s.analysis, {
    provider,
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.deepEqual(r.gates.map((g) => g.verdict), ["passed", "passed"]);
  assert.equal(r.gates[0]!.samples.length, 3);
  assert.equal(r.breachedAt, undefined);
});

Deno.test("analyzeGates() fails a gate at the first failure past its limit and stops measuring", async () => {
  const s = canary(15).spec;
  const provider = scripted({
    "error_rate/api": [0.2, 3.1, 0.1, 0.1],
    "p95_latency/api": [900, 900, 900, 900],
  });
  const r = await analyzeGates(s.gates, s.analysis, {
    provider,
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.match(
    r.gates[0]!.reason!,
    /error_rate < 1% breached for service=api: 1 failed measurement > failure limit 0 \(last: 0\.2%, 3\.1%\)/,
  );
  assert.equal(r.gates[0]!.samples.length, 2, "no measurement after the breach");
  assert.ok(r.breachedAt);
});

Deno.test("analyzeGates() tolerates failures up to the limit: it fails only when they exceed it", async () => {
  const s = stage("c").gate("error_rate < 1%", { failureLimit: 1 }).for("4m").every("1m").spec;
  const once = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({ "error_rate/api": [2, 0.1, 0.1, 0.1] }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(once.gates[0]!.verdict, "passed");
  const twice = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({ "error_rate/api": [2, 0.1, 2, 0.1] }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(twice.gates[0]!.verdict, "failed");
  assert.match(twice.gates[0]!.reason!, /2 failed measurements > failure limit 1/);
});

Deno.test("analyzeGates() counts an inconclusive sample (NaN, no data) against the gate by default", async () => {
  const s = stage("c").gate("error_rate < 1%").for("3m").every("1m").spec;
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({
      "error_rate/api": [{ kind: "inconclusive", detail: "no value (NaN)" }, 0.1, 0.1],
    }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.equal(r.gates[0]!.samples[0]!.verdict, "inconclusive");
  assert.equal(r.gates[0]!.samples[0]!.value, null);
});

Deno.test("analyzeGates() with policy ignore still fails a gate that never got a conclusive value", async () => {
  const s = stage("c").gate("p95_latency < 2000ms").for("3m").every("1m").spec;
  const nan: Measurement = { kind: "inconclusive", detail: "no value (NaN)" };
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({ "p95_latency/api": [nan, nan, nan] }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.match(
    r.gates[0]!.reason!,
    /no conclusive measurement for service=api: no data is not a pass/,
  );
});

Deno.test("analyzeGates() retries query errors and fails after too many in a row", async () => {
  const s =
    stage("c").gate("error_rate < 1%", { consecutiveErrorLimit: 2 }).for("10m").every("1m").spec;
  const down: Measurement = { kind: "error", detail: "cannot reach Prometheus" };
  const recovered = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({ "error_rate/api": [down, down, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(recovered.gates[0]!.verdict, "passed");
  const dead = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({ "error_rate/api": [down, down, down, 0.1] }),
    metrics,
    targets: [{ service: "api" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(dead.gates[0]!.verdict, "failed");
  assert.match(
    dead.gates[0]!.reason!,
    /3 consecutive errors > limit 2 \(cannot reach Prometheus\)/,
  );
});

Deno.test("analyzeGates() fails the gate when any one of several services breaches (lockstep)", async () => {
  const s = stage("c").gate("error_rate < 1%").for("2m").every("1m").spec;
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({
      "error_rate/a": [0.1, 0.1],
      "error_rate/b": [0.1, 0.1],
      "error_rate/c": [0.1, 4.2],
    }),
    metrics,
    targets: [{ service: "a" }, { service: "b" }, { service: "c" }],
    timeScale: 60_000,
    signal,
  });
  assert.equal(r.gates[0]!.verdict, "failed");
  assert.match(r.gates[0]!.reason!, /service=c/);
  assert.equal(r.gates[0]!.samples.length, 6);
  assert.deepEqual(r.gates[0]!.samples.at(-1)!.labels, { service: "c" });
});

Deno.test("analyzeGates() fails closed when there is nothing to measure", async () => {
  const s = canary(1).spec;
  const r = await analyzeGates(s.gates, s.analysis, {
    provider: scripted({}),
    metrics,
    targets: [],
    signal,
  });
  assert.deepEqual(r.gates.map((g) => g.verdict), ["failed", "failed"]);
  assert.match(r.gates[0]!.reason!, /nothing to measure: .*analysisTargets/);
});
