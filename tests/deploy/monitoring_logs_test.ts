// A production dry run has the server check the monitoring objects and keeps none, while the
// real staging deploy before it applied its own. (The real production rehearsal's monitoring
// objects and log checks: tests/companions/runbook_parity_test.ts.)
import assert from "node:assert/strict";
import { Rehearsal, stage } from "./_deploy.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

const NS = "tracktion-prod";

Deno.test({
  name: "deploy --dry-run: the server checks the monitoring objects, and none is kept",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      timeScale: 240,
    });
    try {
      // as production's dry run needs: staging has the version (and its database its schema)
      const staged = await r.deploy("staging", "v6.0.0");
      assert.equal(staged.code, 0, staged.stdout.slice(-4000) + staged.stderr);
      const d = await r.deploy("production", "v6.0.0", ["--dry-run"]);
      assert.equal(d.code, 0, d.stdout.slice(-4000) + d.stderr);
      assert.equal(d.report.dryRun, true);
      assert.equal(stage(d, "monitoring").status, "succeeded");
      assert.match(
        d.stdout,
        /monitoring: would apply \(checked by the server\) ServiceMonitor\/tracktion-analysis-service, ServiceMonitor\/tracktion-file-watcher, ServiceMonitor\/tracktion-tracklist-service, ServiceMonitor\/tracktion-notification-service, PrometheusRule\/tracktion-alerts, ConfigMap\/tracktion-dashboard/,
      );
      const kept = await r.kubectl(
        "get",
        "servicemonitors,prometheusrules",
        "-n",
        NS,
        "-o",
        "name",
      );
      assert.equal(kept.trim(), "", "a dry run kept monitoring objects");
      const dashboard = await r.kubectl("get", "configmaps", "-n", NS, "-o", "name");
      assert.doesNotMatch(dashboard, /tracktion-dashboard/, "a dry run kept the dashboard");
      // while the real staging deploy applied its own
      assert.match(
        await r.kubectl(
          "get",
          "servicemonitors,prometheusrules",
          "-n",
          "tracktion-staging",
          "-o",
          "name",
        ),
        new RegExp(
          [
            "analysis-service",
            "file-watcher",
            "notification-service",
            "tracklist-service",
          ].map((s) => `servicemonitor.monitoring.coreos.com/tracktion-${s}\n`).join("") +
            "prometheusrule.monitoring.coreos.com/tracktion-alerts",
        ),
      );
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});
