// The log and monitoring validations against a real sandbox: pod logs through the capability
// (tailLines, container, a missing pod, a container still waiting to start, the stage's scope),
// the log checks' pass and fail paths (JSON lines pass; a pod logging plain text, one that has
// logged nothing, and no pod at all fail naming what they found), and the ServiceMonitor and
// PrometheusRule checks (missing, selecting nothing, without ready endpoints, without alerts,
// then found), with the objects the deploy applies.
import assert from "node:assert/strict";
import { logsCollected, structuredLogs } from "../../checks/logs.ts";
import { alertRules, serviceMonitorTargets } from "../../checks/cluster_objects.ts";
import { applyMonitoring } from "../../lib/kubernetes/monitoring.ts";
import { metrics } from "../../pipelines/metrics.ts";
import { slotServiceManifest } from "../../lib/kubernetes/manifests.ts";
import { checkKubernetesCall, ScopeError } from "../../lib/kubernetes/scope.ts";
import {
  poll,
  stageContext,
  targetOf,
  testDeployment,
  withCluster,
} from "../kubernetes/_helpers.ts";
import type { KubeObject, KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import type { StageContext } from "../../lib/dsl/types.ts";
import { realClock } from "../../lib/clock/mod.ts";

const NS = "tracktion-staging";
const POD = { apiVersion: "v1", kind: "Pod" };

function context(k: KubernetesCapability): StageContext {
  return Object.assign(stageContext(k), {
    now: () => realClock.now(),
    sleep: (ms: number | string) => realClock.sleep(Number(ms)),
  });
}

/** A Deployment `name` (label d=name) whose container has the given env. */
function deployment(name: string, env: Record<string, unknown>[] = []): KubeObject {
  const d = testDeployment(NS, name, { replicas: 1, labels: { app: "logs", d: name } });
  (d.spec.template.spec.containers[0] as Record<string, unknown>).env = env;
  return d as unknown as KubeObject;
}

async function podOf(k: KubernetesCapability, name: string, ready: boolean): Promise<KubeObject> {
  const pods = await poll(
    () => k.list(POD, NS, { labelSelector: `d=${name}` }),
    (list) =>
      list.length === 1 &&
      (!ready || JSON.stringify(list[0]!.status ?? {}).includes('"type":"Ready","status":"True"')),
    { what: `the pod of ${name}${ready ? " Ready" : ""}` },
  );
  return pods[0]!;
}

Deno.test({
  name:
    "podLogs and the log checks: JSON passes; plain text, nothing logged and no pod fail naming the pod",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withCluster(async ({ k, proxied }) => {
      const ctx = context(proxied);
      await k.apply(deployment("json"));
      await k.apply(deployment("text", [{ name: "LOG_FORMAT", value: "text" }]));
      await k.apply(deployment("waiting", [{
        name: "DB_PASSWORD",
        valueFrom: { secretKeyRef: { name: "db-credentials", key: "no-such-key" } },
      }]));
      const json = await podOf(k, "json", true);
      const text = await podOf(k, "text", true);
      const waiting = await podOf(k, "waiting", false);

      await t.step("podLogs honours tailLines and container, and names what is wrong", async () => {
        const all = (await proxied.podLogs(NS, json.metadata.name)).trimEnd().split("\n");
        assert.ok(all.length >= 2, `a Ready pod logged its start and readiness: ${all}`);
        const last = await proxied.podLogs(NS, json.metadata.name, { tailLines: 1 });
        assert.equal(last, `${all.at(-1)}\n`);
        assert.equal(await proxied.podLogs(NS, json.metadata.name, { tailLines: 0 }), "");
        assert.match(JSON.parse(last).message, /ready/);
        assert.equal(
          await proxied.podLogs(NS, json.metadata.name, { container: "web", tailLines: 1 }),
          last,
        );
        await assert.rejects(
          () => proxied.podLogs(NS, json.metadata.name, { container: "sidecar" }),
          /400 BadRequest: container sidecar is not valid for pod json-/,
        );
        await assert.rejects(
          () => proxied.podLogs(NS, "no-such-pod"),
          /Cannot read the log of pod tracktion-staging\/no-such-pod: 404/,
        );
        await assert.rejects(
          () => proxied.podLogs(NS, waiting.metadata.name),
          /is waiting to start: CreateContainerConfigError/,
        );
        await assert.rejects(
          () => k.podLogs(NS, json.metadata.name, { tailLines: -1 }),
          RangeError,
        );
      });

      await t.step("a pod writing JSON lines with an ISO-8601 timestamp passes both", async () => {
        const collected = await logsCollected(NS, "d=json").run(ctx);
        assert.equal(collected.ok, true, collected.message);
        assert.equal(collected.evidence!.pod, json.metadata.name);
        assert.ok(Number(collected.evidence!.lines) >= 2);
        const structured = await structuredLogs(NS, "d=json").run(ctx);
        assert.equal(structured.ok, true, structured.message);
        assert.match(
          String(structured.evidence!.timestamp),
          /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/,
        );
        assert.deepEqual(
          (structured.evidence!.fields as string[]).slice(0, 3),
          ["timestamp", "level", "message"],
        );
      });

      await t.step("a pod logging plain text is collected but not structured", async () => {
        assert.equal((await logsCollected(NS, "d=text").run(ctx)).ok, true);
        const o = await structuredLogs(NS, "d=text").run(ctx);
        assert.equal(o.ok, false);
        assert.match(
          o.message,
          new RegExp(
            `^The last log line of pod tracktion-staging/${text.metadata.name} is not JSON: \\d{4}-\\d{2}-\\d{2}T\\S+ INFO listening`,
          ),
        );
      });

      await t.step("a pod that has logged nothing fails both, naming it", async () => {
        for (const check of [logsCollected(NS, "d=waiting"), structuredLogs(NS, "d=waiting")]) {
          const o = await check.run(ctx);
          assert.equal(o.ok, false, check.name);
          assert.match(o.message, new RegExp(`pod tracktion-staging/${waiting.metadata.name}`));
          assert.match(o.message, /waiting to start: CreateContainerConfigError/);
        }
      });

      await t.step("no pod matches: both fail saying so", async () => {
        const o = await logsCollected(NS, "d=nothing").run(ctx);
        assert.equal(o.ok, false);
        assert.equal(o.message, "No pod matches d=nothing in tracktion-staging: no log to read");
      });

      await t.step("a stage reads logs only in its namespaces", async () => {
        const grant = { namespaces: [NS], clusterReads: [], secrets: [] };
        await checkKubernetesCall("s", grant, {
          method: "podLogs",
          args: [NS, "p", { tailLines: 1 }],
        });
        await assert.rejects(
          () =>
            checkKubernetesCall("s", grant, { method: "podLogs", args: ["tracktion-prod", "p"] }),
          /stage "s" may not read pod logs in namespace tracktion-prod/,
        );
        await assert.rejects(
          () =>
            checkKubernetesCall("s", grant, {
              method: "podLogs",
              args: [NS, "p", { tailLines: 1.5 }],
            }),
          ScopeError,
        );
      });
    });
  },
});

Deno.test({
  name:
    "ServiceMonitor targets and alert rules: missing, selecting nothing, no endpoints, no alerts, then found",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(async ({ k }) => {
      const ctx = context(k);
      const target = await targetOf("staging");
      const discovery = serviceMonitorTargets(NS, "tracktion");
      const alerts = alertRules(NS, "tracktion");

      const none = await discovery.run(ctx);
      assert.equal(none.ok, false);
      assert.equal(none.message, "No ServiceMonitor named *tracktion* in tracktion-staging");
      assert.equal(none.evidence!.served, true);
      assert.equal(
        (await alerts.run(ctx)).message,
        "No PrometheusRule named *tracktion* in tracktion-staging",
      );

      // a rule holding only recording rules pages nobody
      await k.apply({
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "tracktion-records", namespace: NS },
        spec: { groups: [{ name: "r", rules: [{ record: "job:up:sum", expr: "sum(up)" }] }] },
      });
      const quiet = await alerts.run(ctx);
      assert.equal(quiet.ok, false);
      assert.match(quiet.message, /holds no alerting rule: nothing would page/);

      const bounds = {
        error_rate: { operator: "<", threshold: 1 },
        p95_latency: { operator: "<", threshold: 2000 },
      } as const;
      const { applied } = await applyMonitoring(k, target, { metrics, bounds });
      assert.deepEqual(applied.filter((a) => a.startsWith("PrometheusRule/")), [
        "PrometheusRule/tracktion-alerts",
      ]);
      const found = await alerts.run(ctx);
      assert.equal(found.ok, true, found.message);
      // 8 per metric (4 services × 2 slots), then restarts, crash loops, a failed deploy
      assert.deepEqual([...new Set(found.evidence!.alerts as string[])], [
        "HighErrorRate",
        "HighP95Latency",
        "PodRestarting",
        "PodCrashLooping",
        "DeployFailed",
      ]);

      const unselected = await discovery.run(ctx);
      assert.equal(unselected.ok, false);
      assert.match(unselected.message, /selects no Service of tracktion-staging with the port/);

      // the slot Service without pods: selected, but nothing to scrape
      await k.apply(slotServiceManifest(target, { service: "analysis-service", slot: "blue" }));
      const empty = await discovery.run(ctx);
      assert.equal(empty.ok, false);
      assert.match(
        empty.message,
        /selects 1 Service\(s\) in tracktion-staging but none has a ready endpoint/,
      );

      const labels = { app: "tracktion", service: "analysis-service", slot: "blue" };
      await k.apply(
        testDeployment(NS, "analysis-service-blue", {
          replicas: 2,
          labels,
        }) as unknown as KubeObject,
      );
      const ready = await poll(
        async () => await discovery.run(ctx),
        (o) => o.ok,
        { what: "the ServiceMonitor's targets", intervalMs: 200 },
      );
      assert.deepEqual(ready.evidence!.services, ["analysis-service-blue"]);
      assert.equal(ready.evidence!.targets, 2);
    });
  },
});
