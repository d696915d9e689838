/**
 * The canary steps' baseline gate end to end: the real CLI, twice on a fresh in-process
 * sandbox (virtual clock, the default with --sandbox). A +1 s latency fault keeps
 * analysis-service's p95 (450 ms healthy) under both thresholds (2000 / 1500 ms), so only
 * the comparison with the live slot catches it: rolled back at canary-5. A first deploy
 * has no live slot (baseline: null: not compared, not failed); a healthy second deploy
 * is compared and passes. The first deploy (and v1.1.0 in staging, which production's gate
 * needs) is made once and its saved sandbox copied for each test (as `_baseline.ts` does), so
 * each test runs only the deploy it is about; each run takes the lease VIRTUAL_LEASE says.
 * @module
 */
import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "./_deploy.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];

interface Gate {
  gate: string;
  method?: string;
  verdict: string;
  reason?: string;
  samples: {
    value: number | null;
    baseline?: { requests: number };
    labels?: Record<string, string>;
  }[];
}
interface Report {
  status: string;
  stages: { id: string; status: string; gates?: Gate[] }[];
}

/** Runs `deno run -A lib/cli/main.ts deploy production <version> --sandbox ...`. */
async function deploy(r: Rehearsal, version: string, extra: string[] = []) {
  const d = await r.deploy("production", version, [...CONFIRM, ...VIRTUAL_LEASE, ...extra]);
  assert.ok(d.reportPath, `no report line:\n${d.stdout}\n${d.stderr}`);
  return { code: d.code, stdout: d.stdout, report: d.report as unknown as Report };
}

const stageOf = (r: Report, id: string) => {
  const s = r.stages.find((x) => x.id === id);
  assert.ok(s, `no stage ${id}`);
  return s;
};
const gatesOf = (r: Report, id: string) => stageOf(r, id).gates ?? [];
const baselineGate = (r: Report, id: string) => {
  const g = gatesOf(r, id).filter((x) => x.method === "baseline");
  assert.equal(g.length, 1, `${id}: one baseline gate`);
  return g[0]!;
};

/** A first deploy on a fresh sandbox: succeeds, its baseline gates not compared. */
async function firstDeploy(r: Rehearsal) {
  const first = await deploy(r, "v1.0.0", ["--reset"]);
  assert.equal(first.code, 0, first.stdout);
  assert.equal(first.report.status, "succeeded");
  for (const id of ["canary-5", "canary-20"]) {
    const g = baselineGate(first.report, id);
    assert.equal(g.verdict, "not_measured", g.reason ?? "");
    assert.match(g.reason!, /no live slot to compare with: the stage said baseline: null/);
    assert.match(g.reason!, /service=analysis-service,slot=blue/);
    assert.equal(g.samples.length, 0);
  }
}

let template: Promise<Rehearsal> | undefined;

/**
 * A rehearsal holding a copy of the sandbox (and runs) the first deploy left, with v1.1.0
 * healthy in staging (each test's production run then finds it there).
 */
async function afterFirstDeploy(): Promise<Rehearsal> {
  template ??= (async () => {
    const t = await Rehearsal.create();
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(t.dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    await firstDeploy(t);
    const staged = await t.deploy("staging", "v1.1.0", [...VIRTUAL_LEASE]);
    assert.equal(staged.code, 0, staged.stdout + staged.stderr);
    return t;
  })();
  const from = await template;
  const r = await Rehearsal.create();
  const out = await new Deno.Command("cp", {
    args: ["-a", `${from.dir}/.`, r.dir],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return r;
}

Deno.test({
  name:
    "deploy: +1 s latency stays under the thresholds but not under the live slot: rolled back at canary-5",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await afterFirstDeploy();
    try {
      const slow = await deploy(r, "v1.1.0", ["--scenario", "latency:1s"]);
      assert.equal(slow.code, 1, slow.stdout);
      assert.equal(slow.report.status, "rolled_back");
      const canary = stageOf(slow.report, "canary-5");
      assert.equal(canary.status, "failed");
      const failed = gatesOf(slow.report, "canary-5").filter((g) => g.verdict === "failed");
      assert.equal(failed.length, 1, JSON.stringify(failed.map((g) => [g.gate, g.reason])));
      const g = failed[0]!;
      assert.equal(g.gate, "p95_latency < 2000ms");
      assert.equal(g.method, "baseline");
      assert.match(g.reason!, /^p95_latency < 2000ms breached for service=\S+,slot=green: /);
      assert.match(g.reason!, /the canary is worse than its baseline at 99\.99% confidence/);
      assert.ok(
        g.samples.some((s) => (s.baseline?.requests ?? 0) > 0),
        "compared with the live slot",
      );
      // The threshold gate on the same p95 saw values under 2000 ms: it would not have failed.
      const threshold = gatesOf(slow.report, "canary-5")
        .find((x) => x.gate === "p95_latency < 2000ms" && x.method === "sequential")!;
      assert.notEqual(threshold.verdict, "failed", threshold.reason ?? "");
      const values = threshold.samples.map((s) => s.value).filter((v): v is number => v !== null);
      assert.ok(values.length > 0 && values.every((v) => v > 1000 && v < 2000), `${values}`);
      assert.notEqual(stageOf(slow.report, "canary-20").status, "succeeded");
      assert.notEqual(stageOf(slow.report, "full-rollout").status, "succeeded");
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "deploy: a healthy second deploy is compared with the live slot at both canary steps and succeeds",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await afterFirstDeploy();
    try {
      const healthy = await deploy(r, "v1.1.0");
      assert.equal(healthy.code, 0, healthy.stdout);
      assert.equal(healthy.report.status, "succeeded");
      for (const id of ["canary-5", "canary-20"]) {
        const g = baselineGate(healthy.report, id);
        assert.equal(g.verdict, "passed", g.reason ?? "");
        assert.equal(g.reason, undefined, "every service had a live slot");
        const services = new Set(g.samples.map((s) => s.labels?.service));
        assert.equal(services.size, 4, `${id}: every service compared`);
        assert.ok(
          g.samples.every((s) => s.labels?.slot === "green" && (s.baseline?.requests ?? 0) > 0),
        );
      }
    } finally {
      await r.remove();
    }
  },
});
