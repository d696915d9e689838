/**
 * The virtual clock changes how long a rehearsal takes, not what it does (issue 11): the
 * production rehearsal on `--clock virtual` (the default) and on a real clock scaled ×240
 * run the same stages in the same order — every stage that ended before another began does
 * so in both — with the same statuses and the same gate verdicts.
 * @module
 */
import assert from "node:assert/strict";
import { Rehearsal } from "./_deploy.ts";

interface StageRecord {
  id: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  gates?: { gate: string; verdict: string }[];
}

async function rehearse(flags: string[]): Promise<{ status: string; stages: StageRecord[] }> {
  const r = await Rehearsal.create();
  try {
    const d = await r.deploy("production", "v1.2.4", [
      "--reset",
      "--confirm",
      "DEPLOY TO PRODUCTION",
      "--seed",
      "compare",
      ...flags,
    ]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    return d.report as unknown as { status: string; stages: StageRecord[] };
  } finally {
    await r.remove();
  }
}

/**
 * Pairs (a, b) where stage a ended before stage b started (`strict`), or no later than
 * it: the order a run imposed. On a virtual clock work takes no time, so many stamps are
 * equal; only strict pairs can contradict each other.
 */
function order(stages: StageRecord[], strict = false): Set<string> {
  const ran = stages.filter((s) => s.startedAt && s.finishedAt);
  const out = new Set<string>();
  for (const a of ran) {
    for (const b of ran) {
      const [end, start] = [Date.parse(a.finishedAt!), Date.parse(b.startedAt!)];
      if (a !== b && (strict ? end < start : end <= start)) {
        out.add(`${a.id} → ${b.id}`);
      }
    }
  }
  return out;
}

function outcome(stages: StageRecord[]): string[] {
  return stages.map((s) =>
    `${s.id}: ${s.status}${(s.gates ?? []).map((g) => ` [${g.gate} ${g.verdict}]`).join("")}`
  );
}

Deno.test({
  name: "the production rehearsal does the same on the virtual clock as on a scaled real one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const virtual = await rehearse([]);
    const real = await rehearse(["--clock", "real", "--time-scale", "240"]);
    assert.equal(virtual.status, "succeeded");
    assert.equal(real.status, virtual.status);
    assert.deepEqual(outcome(real.stages), outcome(virtual.stages));
    assert.ok(
      virtual.stages.some((s) => (s.gates ?? []).length > 0),
      "the comparison covers gated stages",
    );
    // The dependency order (stages of the graph ending before others start) is the same;
    // stages that ran side by side may interleave differently, so only shared pairs count.
    const [v, r] = [order(virtual.stages), order(real.stages)];
    const chain = [
      "lock",
      "confirm",
      "migrate",
      "canary-5",
      "canary-20",
      "full-rollout",
      "unlock",
    ];
    for (let i = 1; i < chain.length; i++) {
      const pair = `${chain[i - 1]} → ${chain[i]}`;
      assert.ok(v.has(pair) && r.has(pair), `${pair} in both runs`);
    }
    const [vs, rs] = [order(virtual.stages, true), order(real.stages, true)];
    const contradicted = [...vs].filter((p) => rs.has(p.split(" → ").reverse().join(" → ")));
    assert.deepEqual(
      contradicted,
      [],
      "no pair runs one way on one clock and the other way on the other",
    );
  },
});
