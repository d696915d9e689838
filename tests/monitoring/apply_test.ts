// applyMonitoring against a real sandbox: the generated objects applied (a dry run keeps and
// deletes nothing), what this tool generated before and no longer does pruned — the single
// ServiceMonitor `<app>` of earlier versions among them — and nothing it did not generate
// touched; monitoringObjectsApplied passes on what was applied and fails, naming the object and
// the field, on a missing or edited one; the deploy record served as metrics.
import assert from "node:assert/strict";
import { applyMonitoring } from "../../lib/kubernetes/monitoring.ts";
import {
  MANAGED_BY_LABEL,
  monitoringManifests,
} from "../../lib/kubernetes/manifests_monitoring.ts";
import type { KubeObject } from "../../lib/kubernetes/capability.ts";
import { readRunRecord } from "../../lib/kubernetes/strategies/mod.ts";
import { type MonitoringSpec, serveDeployRecordMetrics } from "../../lib/monitoring/mod.ts";
import { monitoringObjectsApplied } from "../../checks/monitoring.ts";
import { metrics } from "../../pipelines/metrics.ts";
import { stageContext, targetOf, withCluster } from "../kubernetes/_helpers.ts";

const NS = "tracktion-staging";
const SM = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor" } as const;
const PR = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" } as const;

const SPEC: MonitoringSpec = {
  metrics,
  bounds: {
    error_rate: { operator: "<", threshold: 1, source: "error_rate < 1%" },
    p95_latency: { operator: "<", threshold: 2000, source: "p95_latency < 2000ms" },
  },
};

function monitor(name: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: SM.apiVersion,
    kind: SM.kind,
    metadata: { name, namespace: NS, labels },
    spec: { selector: { matchLabels: labels }, endpoints: [{ port: "http" }] },
  };
}

Deno.test("applyMonitoring applies the generated objects and prunes only what it generated before", async () => {
  await withCluster(async ({ k }) => {
    const target = await targetOf("staging");
    const generatedBefore = { app: "tracktion", [MANAGED_BY_LABEL]: "tracktion-deploy" };
    await k.apply(monitor("tracktion", { app: "tracktion" })); // earlier versions' single one
    await k.apply(monitor("tracktion-retired-service", generatedBefore));
    await k.apply(monitor("tracktion-custom", { app: "tracktion" })); // someone's own
    await k.apply(monitor("billing", { app: "billing", [MANAGED_BY_LABEL]: "tracktion-deploy" }));
    const names = async () => (await k.list(SM, NS)).map((m) => m.metadata.name).sort();
    const before = await names();

    const dry = await applyMonitoring(k, target, SPEC, { dryRun: true });
    const services = Object.keys(target.services);
    const expected = [
      ...services.map((s) => `ServiceMonitor/tracktion-${s}`),
      "PrometheusRule/tracktion-alerts",
      "ConfigMap/tracktion-dashboard",
    ];
    assert.deepEqual(dry.applied, expected);
    assert.deepEqual(dry.pruned, [
      "ServiceMonitor/tracktion",
      "ServiceMonitor/tracktion-retired-service",
    ]);
    assert.deepEqual(await names(), before, "a dry run changes nothing");
    assert.equal(await k.get(PR, NS, "tracktion-alerts"), null);

    const done = await applyMonitoring(k, target, SPEC);
    assert.deepEqual(done, dry);
    assert.deepEqual(
      await names(),
      [
        "billing",
        "tracktion-custom",
        ...services.map((s) => `tracktion-${s}`),
      ].sort(),
    );
    const again = await applyMonitoring(k, target, SPEC);
    assert.deepEqual(again.pruned, []);
  });
});

Deno.test("monitoringObjectsApplied passes on the applied objects and names a missing or edited one", async () => {
  await withCluster(async ({ k }) => {
    const target = await targetOf("staging");
    const manifests = monitoringManifests(target, SPEC);
    const check = monitoringObjectsApplied(manifests);
    const ctx = stageContext(k);

    const none = await check.run(ctx);
    assert.equal(none.ok, false);
    assert.match(
      none.message,
      /^Monitoring objects missing ServiceMonitor\/tracktion-analysis-service, /,
    );
    assert.equal((none.evidence!.missing as string[]).length, manifests.length);

    await applyMonitoring(k, target, SPEC);
    const ok = await check.run(ctx);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.message, `${manifests.length} monitoring object(s) as generated`);

    // a rule edited by hand (the threshold loosened) and a ServiceMonitor deleted
    const rule = (await k.get(PR, NS, "tracktion-alerts"))!;
    // deno-lint-ignore no-explicit-any
    const spec = structuredClone(rule.spec) as any;
    spec.groups[0].rules[0].expr = spec.groups[0].rules[0].expr.replace(">= 1", ">= 50");
    const metadata = {
      name: "tracktion-alerts",
      namespace: NS,
      labels: rule.metadata.labels ?? {},
    };
    await k.apply({ apiVersion: PR.apiVersion, kind: PR.kind, metadata, spec });
    await k.delete(SM, NS, "tracktion-file-watcher");
    const bad = await check.run(ctx);
    assert.equal(bad.ok, false);
    assert.equal(
      bad.message,
      "Monitoring objects missing ServiceMonitor/tracktion-file-watcher; not as generated: " +
        "PrometheusRule/tracktion-alerts at spec.groups[0].rules[0].expr",
    );
  });
});

Deno.test("serveDeployRecordMetrics serves the cluster's deploy record; an unreadable one answers 503", async () => {
  await withCluster(async ({ k }) => {
    const target = await targetOf("staging");
    const labels = { namespace: NS, app: "tracktion" };
    const server = serveDeployRecordMetrics({ read: () => readRunRecord(k, { target }), labels });
    try {
      const url = `http://127.0.0.1:${server.addr.port}`;
      // no record yet: up, and no run
      const empty = await (await fetch(`${url}/metrics`)).text();
      assert.match(empty, /^deploy_record_up\{namespace="tracktion-staging",app="tracktion"\} 1$/m);
      assert.doesNotMatch(empty, /deploy_record_run_failed/);
      const run = {
        runId: "20260101-abc",
        version: "2.1.0",
        by: "ann",
        startedAt: "2026-01-01T10:00:00.000Z",
        finishedAt: "2026-01-01T10:20:00.000Z",
        state: "rolled-back",
        services: {},
      };
      await k.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "deployment-info", namespace: NS },
        data: { run: JSON.stringify(run) },
      });
      const failed = await (await fetch(`${url}/metrics`)).text();
      const id =
        'namespace="tracktion-staging",app="tracktion",run_id="20260101-abc",version="2.1.0"';
      assert.match(failed, new RegExp(`^deploy_record_run_failed\\{${id}\\} 1$`, "m"));
      assert.match(
        failed,
        new RegExp(`^deploy_record_run_info\\{${id},state="rolled-back"\\} 1$`, "m"),
      );
      assert.match(
        failed,
        new RegExp(`^deploy_record_run_finished_timestamp_seconds\\{${id}\\} 1767262800$`, "m"),
      );
      const missing = await fetch(`${url}/other`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await server.shutdown();
    }
    const broken = serveDeployRecordMetrics({
      read: () => Promise.reject(new Error("connection refused")),
      labels,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${broken.addr.port}/metrics`);
      assert.equal(res.status, 503);
      assert.equal(await res.text(), "Cannot read the deploy record: connection refused\n");
    } finally {
      await broken.shutdown();
    }
  });
});
