/**
 * gate(..., options): the string form is unchanged; the statistical form is a typed
 * option with defaults; impossible options fail when the pipeline is built.
 * @module
 */
import assert from "node:assert/strict";
import { stage } from "../../mod.ts";
import "../../pipelines/metrics.ts";

Deno.test("gate() without options is the fixed-threshold gate it always was", () => {
  const g = stage("c").gate("error_rate < 1%").spec.gates[0]!;
  assert.deepEqual(g, {
    gate: {
      metric: "error_rate",
      operator: "<",
      threshold: 1,
      unit: "%",
      source: "error_rate < 1%",
    },
    failureLimit: 0,
    consecutiveErrorLimit: 3,
  });
  const limited = stage("c").gate("p95_latency < 2000ms", { failureLimit: 2 }).spec.gates[0]!;
  assert.equal(limited.failureLimit, 2);
  assert.equal(limited.decision, undefined);
});

Deno.test("gate() with decide: sequential or baseline records the method, confidence and look", () => {
  const s = stage("c")
    .gate("error_rate < 1%", { decide: "sequential" })
    .gate("p95_latency < 2000ms", { decide: "sequential", confidence: 0.95, look: "30s" })
    .gate("p95_latency < 2000ms", { decide: "baseline" }).spec;
  assert.deepEqual(s.gates.map((g) => g.decision), [
    { method: "sequential", confidence: 0.99, lookMs: 10_000 },
    { method: "sequential", confidence: 0.95, lookMs: 30_000 },
    { method: "baseline", confidence: 0.98, lookMs: 10_000 },
  ]);
  // A statistical gate has no failure limit: it decides with confidence.
  assert.ok(s.gates.every((g) => g.failureLimit === 0 && g.inconclusive === undefined));
  // Plain data: it crosses from the pipeline's Worker to the runner.
  assert.deepEqual(structuredClone(s.gates), s.gates);
});

Deno.test("gate() refuses statistical options it cannot honour, naming the gate and the stage", () => {
  assert.throws(
    () => stage("canary-5").gate("error_rate < 1%", { decide: "sequential", confidence: 1 }),
    /Cannot add gate "error_rate < 1%" to stage "canary-5": confidence must be in \(0, 1\)/,
  );
  assert.throws(
    () => stage("c").gate("error_rate < 1%", { decide: "sequential", look: "500ms" }),
    /look must be at least 1s/,
  );
  assert.throws(
    () => stage("c").gate("error_rate > 1%", { decide: "sequential" }),
    /tests "below the threshold" \(< or <=\), not >/,
  );
});

Deno.test("the statistical form is type-checked like the string form", () => {
  const fail = () => {
    // @ts-expect-error: a misspelt metric fails `deno check`, options or not.
    stage("c").gate("eror_rate < 1%", { decide: "sequential" });
    // @ts-expect-error: a failure limit belongs to fixed gates only.
    stage("c").gate("error_rate < 1%", { decide: "sequential", failureLimit: 1 });
    // @ts-expect-error: an unknown method.
    stage("c").gate("error_rate < 1%", { decide: "bayesian" });
  };
  // `deno test` type-checks this file: an unused @ts-expect-error would fail it.
  assert.equal(typeof fail, "function");
});
