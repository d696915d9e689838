import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { startPrometheus } from "../_support/prometheus.ts";
import { Rehearsal, stage } from "./_deploy.ts";

// The canary's gates measured by a real Prometheus (Debian's) that scrapes the
// sandbox's pods: the gate's PromQL from pipelines/metrics.ts is evaluated by it.

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];

Deno.test({
  name: "a real Prometheus scraping the sandbox's pods measures the canary: 3% errors roll back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    // The first deploy (the live version) in a sandbox of its own run, on the virtual clock.
    const first = await r.deploy("production", "v4.0.0", CONFIRM);
    assert.equal(first.code, 0, first.stdout);
    let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
    const prometheus = await startPrometheus({ fileSd: `${r.sandboxDir}/prometheus-targets.json` });
    try {
      sandbox = await startSandbox({
        seed: await sandboxSeedFromDir(),
        stateDir: r.sandboxDir,
        timeScale: 60,
        maxRealRate: 400,
        scenario: "canary-errors",
      });
      // The runbook's fixed gates: at ×60 the pods answer at most 400 real requests a second,
      // too few for a sequential gate to decide on (it would fail closed, undecided, instead).
      const d = await r.deploy("production", "v4.1.0", [
        ...CONFIRM,
        "--prometheus",
        prometheus.url,
        "--option",
        "gates=fixed",
      ]);
      assert.equal(d.code, 1, d.stdout);
      assert.equal(d.report.status, "rolled_back");
      assert.match(String(d.report.target.metrics), /^prometheus http:\/\/127\.0\.0\.1:/);
      const canary = stage(d, "canary-5");
      assert.equal(canary.status, "failed");
      const gate = canary.gates.find((g) => g.verdict === "failed")!;
      assert.match(
        gate.reason!,
        /error_rate < 1% breached/,
        JSON.stringify(canary.gates.map((g) => g.reason)),
      );
      const values = (gate.samples as { verdict: string; value: number | null }[])
        .filter((s) => s.verdict === "failed").map((s) => s.value!);
      assert.ok(values.some((v) => v >= 1), `samples: ${JSON.stringify(gate.samples)}`);
    } finally {
      await prometheus.stop();
      await sandbox?.stop();
      await r.remove();
    }
  },
});
