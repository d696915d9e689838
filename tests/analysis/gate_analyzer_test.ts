/**
 * createGateAnalyzer(): what a gate measures comes from its stage's `analysisTargets`,
 * merged over the defaults; a gated stage that names none fails closed with a message
 * naming the stage, the gate and the fix.
 * @module
 */
import assert from "node:assert/strict";
import { createGateAnalyzer } from "../../lib/analysis/gate_analyzer.ts";
import type { Measurement, MetricsProvider, Target } from "../../lib/analysis/provider.ts";
import { Journal } from "../../lib/journal/journal.ts";
import { stage } from "../../mod.ts";
import "../runner/fixtures/metrics.ts";

const metrics = {
  error_rate: { unit: "%", query: 'errors{ns="{{namespace}}",service="{{service}}"}' },
  p95_latency: { unit: "ms", query: 'latency{ns="{{namespace}}",service="{{service}}"}' },
} as const;

/** A provider that answers a fixed value and records every target it was asked about. */
function recording(value: number): MetricsProvider & { asked: Target[] } {
  const asked: Target[] = [];
  return {
    name: "recording",
    asked,
    measure(_metric, target): Promise<Measurement> {
      asked.push(target);
      return Promise.resolve({ kind: "value", value });
    },
  };
}

async function analyze(output: unknown, provider: MetricsProvider) {
  const dir = await Deno.makeTempDir();
  const journal = await Journal.open(`${dir}/events.jsonl`);
  const logs: string[] = [];
  try {
    const spec = stage("canary-5").gate("error_rate < 1%").gate("p95_latency < 2000ms").spec;
    const analyzer = createGateAnalyzer({
      provider,
      metrics,
      defaultTarget: { namespace: "shop-staging" },
    });
    const verdict = await analyzer(spec, {
      signal: new AbortController().signal,
      output,
      log: (m) => logs.push(m),
      journal,
      runDir: dir,
    });
    return { verdict, logs };
  } finally {
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createGateAnalyzer() measures each analysisTarget merged over the defaults", async () => {
  const provider = recording(0.2);
  const { verdict } = await analyze(
    { analysisTargets: [{ service: "api" }, { service: "worker", namespace: "shop-jobs" }] },
    provider,
  );
  assert.deepEqual(verdict.gates.map((g) => g.verdict), ["passed", "passed"]);
  assert.deepEqual(
    new Set(provider.asked.map((t) => JSON.stringify(t))),
    new Set([
      JSON.stringify({ namespace: "shop-staging", service: "api" }),
      JSON.stringify({ namespace: "shop-jobs", service: "worker" }),
    ]),
  );
  assert.equal(provider.asked.length, 4, "two gates × two targets, one measurement each");
});

Deno.test("createGateAnalyzer() measures the defaults alone for analysisTargets [{}]", async () => {
  const provider = recording(0.2);
  const { verdict } = await analyze({ analysisTargets: [{}] }, provider);
  assert.deepEqual(verdict.gates.map((g) => g.verdict), ["passed", "passed"]);
  assert.deepEqual(provider.asked, [{ namespace: "shop-staging" }, { namespace: "shop-staging" }]);
});

for (
  const [what, output, detail] of [
    ["no output (a gated stage with no run)", undefined, /its work returned no analysisTargets/],
    ["an output without analysisTargets", { image: "app:1.2.4" }, /returned no analysisTargets/],
    ["an empty analysisTargets", { analysisTargets: [] }, /its analysisTargets is empty/],
    ["a malformed analysisTargets", { analysisTargets: [{ service: 3 }] }, /not a list of label/],
    ["a non-list analysisTargets", { analysisTargets: "api" }, /not a list of label sets/],
  ] as const
) {
  Deno.test(`createGateAnalyzer() fails closed on ${what}, naming the stage, gate and fix`, async () => {
    const provider = recording(0.2);
    const { verdict, logs } = await analyze(output, provider);
    assert.equal(provider.asked.length, 0, "nothing is measured");
    assert.deepEqual(verdict.gates.map((g) => g.verdict), ["failed", "failed"]);
    const [first, second] = verdict.gates.map((g) => g.reason ?? "");
    assert.match(first!, /^Cannot measure gate "error_rate < 1%" of stage "canary-5": /);
    assert.match(second!, /^Cannot measure gate "p95_latency < 2000ms" of stage "canary-5": /);
    for (const reason of [first!, second!]) {
      assert.match(reason, /nothing to measure/);
      assert.match(reason, detail);
      assert.match(reason, /return \{ analysisTargets: \[\{ service: "api", slot: "green" \}\] \}/);
      assert.match(reason, /or \[\{\}\] to measure \{"namespace":"shop-staging"\} as a whole/);
    }
    assert.ok(logs.some((l) => /stage "canary-5" fails closed: nothing to measure/.test(l)));
  });
}
