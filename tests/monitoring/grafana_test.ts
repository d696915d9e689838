// The rendered Grafana dashboard (`monitoring render <env> --out` → dashboard.json): a panel per
// declared metric per service (a line per slot, the metric's unit, the alert's bound as a
// threshold line), restarts per service, deploy annotations from the deploy record's metrics —
// and every expression in it is PromQL a real Prometheus parses (a broken one it refuses).
import assert from "node:assert/strict";
import { metrics } from "../../pipelines/metrics.ts";
import { dashboardExprs } from "../../lib/monitoring/mod.ts";
import { monitoring } from "./_cli.ts";
import { type Json, startRulesPrometheus } from "./_prometheus.ts";

const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const NAMESPACES: Record<string, string> = {
  development: "tracktion-dev",
  staging: "tracktion-staging",
  production: "tracktion-prod",
};

async function rendered(dir: string, env: string): Promise<Json> {
  const r = await monitoring("render", env, "--out", `${dir}/${env}`);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(await Deno.readTextFile(`${dir}/${env}/dashboard.json`));
}

Deno.test("dashboard.json: a panel per metric per service, restarts, deploy annotations, a layout without overlaps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-grafana-" });
  try {
    for (const [env, ns] of Object.entries(NAMESPACES)) {
      const d = await rendered(dir, env);
      assert.equal(d.uid, `tracktion-${env}`);
      assert.equal(d.title, `tracktion (${env})`);
      assert.equal(d.schemaVersion, 39);
      assert.deepEqual(d.templating.list.map((v: Json) => [v.name, v.type, v.query]), [
        ["datasource", "datasource", "prometheus"],
      ]);
      const panels = d.panels as Json[];
      const series = panels.filter((p) => p.type === "timeseries");
      for (const [name, def] of Object.entries(metrics)) {
        for (const service of SERVICES) {
          const found = series.filter((p) => p.title === `${service}: ${name}`);
          assert.equal(found.length, 1, `${env}: one panel ${service}: ${name}`);
          const p = found[0]!;
          assert.equal(p.datasource.uid, "${datasource}");
          assert.equal(p.fieldConfig.defaults.unit, def.unit === "%" ? "percent" : "ms");
          assert.deepEqual(p.targets.map((t: Json) => t.legendFormat), ["blue", "green"]);
          for (const [i, t] of (p.targets as Json[]).entries()) {
            const slot = ["blue", "green"][i];
            assert.ok(t.expr.includes(`namespace="${ns}",service="${service}",slot="${slot}"`));
            assert.ok(t.expr.includes("[5m]"), t.expr);
            assert.ok(t.expr.endsWith(`* ${def.scale}`), t.expr);
          }
          // the alert's bound (production's canary-5) as a threshold line
          const steps = p.fieldConfig.defaults.thresholds.steps;
          assert.deepEqual(steps.at(-1), {
            color: "red",
            value: name === "error_rate" ? 1 : 2000,
          });
          assert.equal(p.fieldConfig.defaults.custom.thresholdsStyle.mode, "line");
        }
      }
      for (const service of SERVICES) {
        const restarts = series.filter((p) => p.title === `${service}: restarts`);
        assert.equal(restarts.length, 1);
        assert.match(restarts[0]!.targets[0].expr, /kube_pod_container_status_restarts_total/);
      }
      assert.equal(series.length, SERVICES.length * (Object.keys(metrics).length + 1));
      assert.deepEqual(panels.filter((p) => p.type === "row").map((p) => p.title.split(":")[0]), [
        ...Object.keys(metrics),
        "Pod restarts",
      ]);
      // ids unique; no two panels share a grid cell
      assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos;
        assert.ok(g.x + g.w <= 24, `${p.title} fits in 24 columns`);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
        }
      }
      const annotations = d.annotations.list as Json[];
      const deploys = annotations.find((a) => a.name === "Deploys")!;
      assert.equal(deploys.expr, `deploy_record_run_info{namespace="${ns}",app="tracktion"}`);
      assert.equal(deploys.titleFormat, "deploy {{version}}");
      assert.equal(deploys.enable, true);
      const failed = annotations.find((a) => a.name === "Failed deploys")!;
      assert.equal(failed.expr, `deploy_record_run_failed{namespace="${ns}",app="tracktion"} == 1`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every expression of every environment's dashboard parses in a real Prometheus; a broken one does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-grafana-" });
  const prometheus = await startRulesPrometheus({});
  try {
    let checked = 0;
    for (const env of Object.keys(NAMESPACES)) {
      const exprs = dashboardExprs(await rendered(dir, env));
      // 4 services × (2 metrics × 2 slots + restarts), and the two annotations
      assert.equal(exprs.length, 4 * (2 * 2 + 1) + 2);
      for (const [where, expr] of exprs) {
        const json = await prometheus.api(`query?query=${encodeURIComponent(expr)}`);
        assert.equal(json.status, "success", `${env} ${where}: ${json.error}\n${expr}`);
        checked++;
      }
    }
    assert.equal(checked, 66);
    const broken = await prometheus.api(
      `query?query=${encodeURIComponent("sum(rate(http_requests_total[5m])")}`,
    );
    assert.equal(broken.status, "error");
    assert.equal(broken.errorType, "bad_data");
  } finally {
    await prometheus.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
