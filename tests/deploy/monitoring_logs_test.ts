// The production rehearsal end to end (staging first, then production's canary): the deploy
// applies the app's ServiceMonitor and PrometheusRule, and the validate stage's runbook checks
// "Prometheus target discovery", "Alert rules", "Logs are being collected" and "Structured
// logging format" pass, none skipped or warned. Then, on the sandbox restarted from its saved
// state, the runbook's own shell lines (kubectl, grep, wc, jq) succeed. A dry run has the server
// check the monitoring objects and keeps none.
import assert from "node:assert/strict";
import { Rehearsal, stage } from "./_deploy.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

const NS = "tracktion-prod";

type Check = { name: string; required: boolean; status: string; evidence: Record<string, unknown> };

async function sh(kubeconfig: string, line: string) {
  const out = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", line],
    env: { KUBECONFIG: kubeconfig, NAMESPACE: NS },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test({
  name:
    "deploy production --sandbox: monitoring objects applied; target discovery, alert rules and both log checks pass",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const d = await r.deploy("production", "v1.2.4", ["--confirm", "DEPLOY TO PRODUCTION"]);
      assert.equal(d.code, 0, d.stdout.slice(-4000) + d.stderr);
      assert.match(d.stdout.trimEnd().split("\n").at(-1)!, /^report: .*report\.json$/);
      const monitoring = stage(d, "monitoring") as unknown as {
        status: string;
        output: { applied: string[] };
      };
      assert.equal(monitoring.status, "succeeded");
      assert.deepEqual(monitoring.output.applied, [
        "ServiceMonitor/tracktion",
        "PrometheusRule/tracktion-alerts",
      ]);
      const validate = stage(d, "validate") as unknown as { status: string; checks: Check[] };
      assert.equal(validate.status, "succeeded");
      const check = (name: string) => {
        const found = validate.checks.filter((c) => c.name === name);
        assert.equal(found.length, 1, `one check named ${name}`);
        assert.equal(found[0]!.status, "passed", `${name}: ${JSON.stringify(found[0])}`);
        assert.equal(found[0]!.required, true, `${name} is required`);
        return found[0]!.evidence;
      };
      const discovery = check("Prometheus target discovery");
      // every pod of the live slot: 5 + 3 + 4 + 2 replicas
      assert.equal(discovery.targets, 14);
      assert.deepEqual(discovery.monitors, ["tracktion"]);
      assert.deepEqual(check("Alert rules").alerts, [
        "HighErrorRate",
        "HighLatencyP95",
        "PodCrashLooping",
      ]);
      const collected = check("Logs are being collected");
      assert.match(String(collected.pod), /^analysis-service-(blue|green)-/);
      assert.ok(Number(collected.lines) >= 1);
      const structured = check("Structured logging format");
      assert.equal(structured.pod, collected.pod);
      assert.match(String(structured.timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

      // The runbook's lines, with the real kubectl, on the sandbox restarted from its state.
      const slot = (stage(d, "deploy:analysis-service") as unknown as {
        output: { slot: string };
      }).output.slot;
      const sandbox = await startSandbox({
        seed: await sandboxSeedFromDir(),
        stateDir: r.sandboxDir,
        port: 0,
        timeScale: 600,
      });
      try {
        const deployment = `deployment/analysis-service-${slot}`;
        for (
          const line of [
            "kubectl get servicemonitor -n $NAMESPACE | grep tracktion",
            "kubectl get prometheusrule -n $NAMESPACE | grep tracktion",
            `kubectl logs -n $NAMESPACE ${deployment} --tail=10 | wc -l | grep -E '^[1-9][0-9]*$'`,
            `kubectl logs -n $NAMESPACE ${deployment} --tail=1 | jq -r '.timestamp' | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'`,
          ]
        ) {
          const result = await sh(sandbox.kubeconfigPath, line);
          assert.equal(result.code, 0, `${line}: ${result.out}`);
        }
        // and they can fail: no ServiceMonitor in a namespace the deploy did not touch
        const elsewhere = await sh(
          sandbox.kubeconfigPath,
          "kubectl get servicemonitor -n tracktion-dev | grep tracktion",
        );
        assert.equal(elsewhere.code, 1, elsewhere.out);
      } finally {
        await sandbox.stop();
      }
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name: "deploy --dry-run: the server checks the monitoring objects, and none is kept",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      timeScale: 600,
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
        /monitoring: would apply \(checked by the server\) ServiceMonitor\/tracktion, PrometheusRule\/tracktion-alerts/,
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
        /servicemonitor.monitoring.coreos.com\/tracktion\nprometheusrule.monitoring.coreos.com\/tracktion-alerts/,
      );
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});
