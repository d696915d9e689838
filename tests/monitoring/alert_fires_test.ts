// The rendered alerts in a real Prometheus during a real `canary-errors` rehearsal of production:
// the deploy applies exactly what `monitoring render production` prints (and post-deploy
// validation finds it); a Prometheus loading `render --for 0s --window 1m`'s rules.yml, scraping
// the sandbox's pods (file_sd) and the deploy record (serveDeployRecordMetrics), fires
// HighErrorRate for the canary's slot — never the live one — while the canary holds on its
// breach (`--option on-breach=pause`), the dashboard's error-rate query reads the same breach,
// and DeployFailed fires for the run once it is rolled back.
//
// Prometheus follows the wall clock, so the paused run shares a sandbox of this test's own on a
// scaled clock (×60, as tests/deploy/prometheus_gate_test.ts does); the deploys before it run on
// the virtual clock.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import type { KubeObject } from "../../lib/kubernetes/capability.ts";
import { readRunRecord } from "../../lib/kubernetes/strategies/mod.ts";
import { otherSlot, type Slot } from "../../lib/kubernetes/slots.ts";
import { dashboardExprs, serveDeployRecordMetrics } from "../../lib/monitoring/mod.ts";
import { monitoringObjectsApplied } from "../../checks/monitoring.ts";
import { Rehearsal, stage, VIRTUAL_LEASE } from "../deploy/_deploy.ts";
import { stageContext, targetOf } from "../kubernetes/_helpers.ts";
import { monitoring } from "./_cli.ts";
import { type Json, type RulesPrometheus, startRulesPrometheus } from "./_prometheus.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
const NS = "tracktion-prod";

/** The alerts Prometheus holds now (pending or firing). */
async function alerts(p: RulesPrometheus): Promise<Json[]> {
  const json = await p.api("alerts");
  return json.data.alerts as Json[];
}

const firing = (list: Json[], name: string) =>
  list.filter((a) => a.state === "firing" && a.labels.alertname === name);

Deno.test({
  name:
    "canary-errors rehearsal: the deploy applies what render prints; the rendered HighErrorRate fires for the canary's slot in a real Prometheus, DeployFailed after the rollback",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const cleanup: (() => Promise<void>)[] = [];
    try {
      // The live version (and v6.1.0 succeeded in staging first, as production's gate asks).
      const first = await r.deploy("production", "v6.0.0", [...CONFIRM, ...VIRTUAL_LEASE]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const services = [
        "analysis-service",
        "file-watcher",
        "tracklist-service",
        "notification-service",
      ];
      const applied = (stage(first, "monitoring") as unknown as { output: { applied: string[] } })
        .output.applied;
      assert.deepEqual(applied, [
        ...services.map((s) => `ServiceMonitor/tracktion-${s}`),
        "PrometheusRule/tracktion-alerts",
        "ConfigMap/tracktion-dashboard",
      ]);
      const validate = stage(first, "validate") as unknown as {
        checks: { name: string; status: string; evidence: Json }[];
      };
      const discovery = validate.checks.find((c) => c.name === "Prometheus target discovery")!;
      assert.equal(discovery.status, "passed", JSON.stringify(discovery));
      assert.deepEqual(
        [...discovery.evidence.monitors].sort(),
        services.map((s) => `tracktion-${s}`).sort(),
      );
      const live = (stage(first, "deploy:analysis-service") as unknown as {
        output: { slot: Slot };
      }).output.slot;
      const canary = otherSlot(live);
      const staging = await r.deploy("staging", "v6.1.0", [...VIRTUAL_LEASE]);
      assert.equal(staging.code, 0, staging.stdout + staging.stderr);

      // What render prints is what the deploy applied; the rehearsal's rules are short.
      const printed = await monitoring("render", "production");
      assert.equal(printed.code, 0, printed.stderr);
      const rendered = parseAllDocuments(printed.stdout).map((d) => d.toJSON() as KubeObject);
      const out = `${r.dir}/monitoring`;
      const short = await monitoring(
        "render",
        "production",
        "--out",
        out,
        "--for",
        "0s",
        "--window",
        "1m",
      );
      assert.equal(short.code, 0, short.stderr);

      const sandbox = await startSandbox({
        seed: await sandboxSeedFromDir(),
        stateDir: r.sandboxDir,
        timeScale: 60,
        maxRealRate: 400,
        scenario: "canary-errors",
      });
      cleanup.unshift(() => sandbox.stop());
      const k = createKubernetesCapability({ kubeconfigPath: sandbox.kubeconfigPath });
      const check = await monitoringObjectsApplied(rendered).run(stageContext(k));
      assert.equal(check.ok, true, check.message);
      assert.equal(check.message, `${rendered.length} monitoring object(s) as generated`);

      const target = await targetOf("production");
      const exporter = serveDeployRecordMetrics({
        read: () => readRunRecord(k, { target }),
        labels: { namespace: NS, app: "tracktion" },
      });
      cleanup.unshift(() => exporter.shutdown());
      const prometheus = await startRulesPrometheus({
        ruleFiles: [`${out}/rules.yml`],
        targets: [{ job: "deploys", address: `127.0.0.1:${exporter.addr.port}` }],
        fileSd: `${r.sandboxDir}/prometheus-targets.json`,
      });
      cleanup.unshift(() => prometheus.stop());
      const groups = (await prometheus.api("rules")).data.groups as Json[];
      assert.equal(groups.length, 1);
      assert.equal(groups[0]!.rules.length, 19);
      assert.ok(groups[0]!.rules.every((g: Json) => g.health !== "err"));
      // v6.0.0 succeeded: the record is scraped, and says no failure
      const recorded = async () => {
        const v = await prometheus.query(`deploy_record_run_failed{namespace="${NS}"}`);
        return v.length === 1 ? v[0]! : undefined;
      };
      while ((await recorded()) === undefined) await new Promise((res) => setTimeout(res, 250));
      assert.equal((await recorded())!.value[1], "0");

      // The canary, held on its breach until decided.
      const child = new Deno.Command(Deno.execPath(), {
        args: r.args("deploy", "production", "v6.1.0", [
          ...CONFIRM,
          "--option",
          "gates=fixed",
          "--option",
          "on-breach=pause",
          "--decision-timeout",
          "2h",
        ]),
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let stdout = "";
      let exited = false;
      const reading = (async () => {
        for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) stdout += text;
      })();
      const status = child.status.then((s) => {
        exited = true;
        return s;
      });
      cleanup.unshift(async () => {
        if (!exited) child.kill("SIGINT");
        await status;
        await reading;
      });
      // Until the error-rate alert fires or the run ends (its own decision timeout bounds it).
      let fired: Json[] = [];
      let paused = false;
      let runId = "";
      while (!exited && (fired.length === 0 || !paused)) {
        await new Promise((res) => setTimeout(res, 250));
        fired = firing(await alerts(prometheus), "HighErrorRate");
        runId = /^run (\S+)$/m.exec(stdout)?.[1] ?? "";
        if (runId && !paused) {
          const events = await Deno.readTextFile(`${r.dir}/runs/${runId}/events.jsonl`)
            .catch(() => "");
          paused = events.includes('"stage.paused"');
        }
      }
      assert.ok(fired.length > 0, `HighErrorRate never fired; the run ended:\n${stdout}`);
      for (const a of fired) {
        assert.equal(a.labels.slot, canary, `fired for the live slot: ${JSON.stringify(a)}`);
        assert.equal(a.labels.namespace, NS);
        assert.equal(a.labels.severity, "critical");
        assert.ok(Number(a.value) >= 1, `value ${a.value}`);
        assert.match(
          a.annotations.summary,
          new RegExp(`^${a.labels.service} \\(${canary}\\) in ${NS}: error_rate \\d+\\.\\d\\d%`),
        );
      }
      // the live slot serves the healthy version: below the bound, no alert
      const all = await alerts(prometheus);
      assert.deepEqual(all.filter((a) => a.labels.slot === live), []);
      assert.deepEqual(firing(all, "DeployFailed"), []);
      // the dashboard reads the same breach: its error-rate query for the canary slot >= 1 (%)
      const dashboard = JSON.parse(await Deno.readTextFile(`${out}/dashboard.json`));
      const service = fired[0]!.labels.service as string;
      const panel = dashboardExprs(dashboard).filter(([where]) =>
        where === `panel "${service}: error_rate" ${canary === "blue" ? "A" : "B"}`
      );
      assert.equal(panel.length, 1);
      const value = await prometheus.query(panel[0]![1]);
      assert.ok(Number(value[0]?.value[1]) >= 1, `${panel[0]![1]}: ${JSON.stringify(value)}`);

      // Abort: the run rolls back, the record says so, DeployFailed fires for that run.
      const decide = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "lib/cli/main.ts",
          "decide",
          runId,
          "abort",
          "--runs-dir",
          `${r.dir}/runs`,
        ],
        env: { NO_COLOR: "1", DEPLOY_ACTOR: "on-call" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(decide.code, 0, new TextDecoder().decode(decide.stderr));
      assert.equal((await status).code, 1, stdout);
      await reading;
      const report = JSON.parse(
        await Deno.readTextFile(stdout.trimEnd().split("\n").at(-1)!.slice(8)),
      );
      assert.equal(report.status, "rolled_back");
      // Bound: 30 rule evaluations after the record reads rolled-back (1 s apart; scrape 1 s).
      const iterations = async () =>
        Number(
          (await prometheus.query(`sum(prometheus_rule_group_iterations_total)`))[0]?.value[1],
        );
      let failed: Json[] = [];
      let start: number | undefined;
      while (failed.length === 0) {
        failed = firing(await alerts(prometheus), "DeployFailed");
        if (failed.length > 0) break;
        if ((await recorded())?.value[1] === "1") start ??= await iterations();
        if (start !== undefined && (await iterations()) - start > 30) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      assert.equal(
        failed.length,
        1,
        `DeployFailed did not fire: ${JSON.stringify(await alerts(prometheus))}`,
      );
      assert.deepEqual(
        { ...failed[0]!.labels },
        {
          alertname: "DeployFailed",
          app: "tracktion",
          namespace: NS,
          run_id: runId,
          severity: "warning",
          version: "6.1.0",
        },
      );
      assert.equal(
        failed[0]!.annotations.summary,
        `The deploy of 6.1.0 to ${NS} failed and was rolled back (run ${runId})`,
      );
    } finally {
      for (const step of cleanup) await step().catch(() => {});
      await r.remove();
    }
  },
});
