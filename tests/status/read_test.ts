// readClusterStatus and formatStatus on a real sandbox (in this process) holding what a deploy
// leaves at moments the end-to-end tests do not stop at: a canary mid-split, an idle slot
// scaled down, a clean-up overdue, a Service missing, a service no longer in the environment
// file. The objects are the deploy's own manifests, applied through the deploy's client.
import assert from "node:assert/strict";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  type KubernetesCapability,
  serviceManifest,
} from "../../lib/kubernetes/mod.ts";
import { DELETE_AFTER_ANNOTATION } from "../../lib/kubernetes/strategies/cleanup.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import { startProjectSandbox } from "../../lib/targets/sandbox.ts";
import { formatStatus, readClusterStatus } from "../../lib/status/mod.ts";
import type { EnvironmentStatus } from "../../lib/status/mod.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };

Deno.test({
  name:
    "readClusterStatus() reads a canary mid-split, a scaled-down or overdue idle slot, a missing Service",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tracktion-status-read-" });
    const sandbox = await startProjectSandbox({ stateDir: dir, timeScale: 1, trafficRate: 0 });
    try {
      const env = await loadEnvironment("production", { dir: "environments" });
      const target = kubeTarget(env);
      const k: KubernetesCapability = createKubernetesCapability({
        kubeconfigPath: sandbox.kubeconfigPath,
        clock: sandbox.clock,
        transport: (request) => sandbox.handle(request),
      });
      const now = sandbox.clock.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      // analysis-service: a canary at 5% on green.
      for (const [slot, version] of [["blue", "1.0.0"], ["green", "1.1.0"]] as const) {
        await k.apply(deploymentManifest(target, { service: "analysis-service", slot, version }));
      }
      await k.apply(serviceManifest(target, { service: "analysis-service", slot: "blue" }));
      await k.apply(
        httpRouteManifest(target, { service: "analysis-service", weights: { blue: 95, green: 5 } }),
      );
      // file-watcher: live green, blue scaled down after its window.
      for (const [slot, version] of [["blue", "1.0.0"], ["green", "1.1.0"]] as const) {
        await k.apply(deploymentManifest(target, { service: "file-watcher", slot, version }));
      }
      await k.apply(serviceManifest(target, { service: "file-watcher", slot: "green" }));
      await k.patch(
        DEPLOYMENT,
        target.namespace,
        "file-watcher-blue",
        { spec: { replicas: 0 } },
        "merge",
      );
      // tracklist-service: its old slot's window passed an hour ago, not yet cleaned up.
      for (const [slot, version] of [["blue", "1.0.0"], ["green", "1.1.0"]] as const) {
        await k.apply(deploymentManifest(target, { service: "tracklist-service", slot, version }));
      }
      await k.apply(serviceManifest(target, { service: "tracklist-service", slot: "green" }));
      await k.patch(DEPLOYMENT, target.namespace, "tracklist-service-blue", {
        metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: iso(now - 3_600_000) } },
      }, "merge");
      // notification-service: a slot Deployment, but no Service selects it.
      await k.apply(
        deploymentManifest(target, {
          service: "notification-service",
          slot: "blue",
          version: "1.0.0",
        }),
      );
      // A service the environment file no longer has (its manifest is made for a target that has it).
      const wider = { ...target, services: { ...target.services, legacy: { replicas: 1 } } };
      await k.apply(
        deploymentManifest(wider, { service: "legacy", slot: "blue", version: "0.9.0" }),
      );
      await k.apply(serviceManifest(wider, { service: "legacy", slot: "blue" }));

      const cluster = await readClusterStatus(k, {
        target,
        lockName: "tracktion-deploy",
        now: sandbox.clock.now(),
      });
      const by = new Map(cluster.services.map((s) => [s.service, s]));
      const analysis = by.get("analysis-service")!;
      assert.deepEqual(analysis.traffic, {
        source: "route",
        blue: 95,
        green: 5,
        weights: { blue: 95, green: 5 },
      });
      assert.deepEqual([analysis.live?.slot, analysis.live?.version], ["blue", "1.0.0"]);
      assert.deepEqual([analysis.idle?.slot, analysis.idle?.version], ["green", "1.1.0"]);
      assert.equal(analysis.live?.desired, target.services["analysis-service"]!.replicas);
      const watcher = by.get("file-watcher")!;
      assert.deepEqual([watcher.idle?.slot, watcher.idle?.desired], ["blue", 0]);
      assert.equal(watcher.traffic?.source, "selector");
      assert.equal(by.get("tracklist-service")!.idle?.deleteAfter, iso(now - 3_600_000));
      const notification = by.get("notification-service")!;
      assert.deepEqual([notification.deployed, notification.live, notification.traffic], [
        true,
        null,
        null,
      ]);
      assert.equal(notification.idle?.deployment, "notification-service-blue");
      assert.equal(by.get("legacy")?.live?.version, "0.9.0");
      assert.deepEqual(
        cluster.services.map((s) => s.service).slice(0, 4),
        Object.keys(target.services),
      );
      assert.equal(cluster.lock.state, "free");
      assert.equal(cluster.record.exists, false);

      const status: EnvironmentStatus = {
        kind: "environment-status",
        schemaVersion: 1,
        environment: env.name,
        namespace: target.namespace,
        app: target.app,
        strategy: target.strategy,
        target: { kind: "sandbox", stateDir: dir, state: "running" },
        at: iso(sandbox.clock.now()),
        deployed: true,
        ...cluster,
        lastRun: null,
        runsDir: `${dir}/runs`,
      };
      const text = formatStatus(status);
      const row = (service: string) => text.split("\n").find((l) => l.startsWith(`${service} `))!;
      assert.match(row("analysis-service"), / blue 95% green 5% /);
      assert.match(row("file-watcher"), /blue 1\.0\.0 +0\/0 +green 100% +scaled down$/);
      assert.match(row("tracklist-service"), /due since 20\S+Z \(1h 0m ago\)$/);
      assert.match(
        row("notification-service"),
        /^notification-service +no live slot +blue 1\.0\.0 +\d+\/2 +none +none scheduled$/,
      );
      assert.match(row("legacy"), /^legacy +blue 0\.9\.0/);
      assert.match(text, /^record {4}none \(no deployment-info ConfigMap\)$/m);

      // Colours change nothing but the escapes: the same text, the same alignment.
      const coloured = formatStatus(status, { colour: true });
      const escape = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, "g");
      assert.ok(coloured.match(escape)!.length > 4);
      assert.equal(coloured.replace(escape, ""), text);
    } finally {
      await sandbox.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
