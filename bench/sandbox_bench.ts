/**
 * Sandbox benchmarks: API requests per second through client-node (get and list), and
 * memory and CPU with 4 services x 2 slots x 5 replicas while traffic runs at 200 req/s.
 *
 * Run: `deno bench -A bench/sandbox_bench.ts`
 */
import * as k8s from "@kubernetes/client-node";
import process from "node:process";
import { startSandbox } from "../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../lib/targets/sandbox_seed.ts";

const NS = "tracktion-staging";
const apiDir = await Deno.makeTempDir({ prefix: "sandbox-bench-api-" });
const apiSandbox = await startSandbox({
  seed: await sandboxSeedFromDir(),
  stateDir: apiDir,
  port: 0,
  trafficRate: 0,
});
const kc = new k8s.KubeConfig();
kc.loadFromFile(apiSandbox.kubeconfigPath);
const core = kc.makeApiClient(k8s.CoreV1Api);
for (let i = 0; i < 50; i++) {
  await core.createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name: `cm-${i}`, labels: { app: "tracktion" } }, data: { i: String(i) } },
  });
}

Deno.bench("client-node get ConfigMap (sandbox API)", { group: "api" }, async () => {
  await core.readNamespacedConfigMap({ name: "cm-7", namespace: NS });
});

Deno.bench("client-node list 50 ConfigMaps with label selector", { group: "api" }, async () => {
  await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "app=tracktion" });
});

let trafficMeasured = false;

function deployment(service: string, slot: string): unknown {
  const labels = { app: "tracktion", service, slot };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${service}-${slot}`, labels },
    spec: {
      replicas: 5,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, version: slot === "blue" ? "1.0.0" : "1.1.0" } },
        spec: {
          containers: [{
            name: "app",
            image: `registry.local/${service}:${slot === "blue" ? "1.0.0" : "1.1.0"}`,
          }],
        },
      },
    },
  };
}

Deno.bench("4 services x 2 slots x 5 replicas with traffic at 200 req/s: RSS and CPU over 5 s", {
  group: "traffic",
  n: 1,
  warmup: 0,
}, async () => {
  if (trafficMeasured) return;
  trafficMeasured = true;
  await apiSandbox.stop();
  const dir = await Deno.makeTempDir({ prefix: "sandbox-bench-traffic-" });
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: dir,
    port: 0,
    timeScale: 60,
    trafficRate: 50,
    maxRealRate: 200,
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${sandbox.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await r.body?.cancel();
  };
  const services = [
    "analysis-service",
    "file-watcher",
    "tracklist-service",
    "notification-service",
  ];
  for (const service of services) {
    for (const slot of ["blue", "green"]) {
      await post(`/apis/apps/v1/namespaces/${NS}/deployments`, deployment(service, slot));
      await post(`/api/v1/namespaces/${NS}/services`, {
        metadata: { name: `${service}-${slot}` },
        spec: { selector: { service, slot }, ports: [{ port: 80, targetPort: 8000 }] },
      });
    }
    await post(`/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`, {
      metadata: { name: service },
      spec: {
        rules: [{
          backendRefs: [{ name: `${service}-blue`, port: 80, weight: 80 }, {
            name: `${service}-green`,
            port: 80,
            weight: 20,
          }],
        }],
      },
    });
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${sandbox.url}/api/v1/namespaces/${NS}/pods`);
    const pods = (await r.json()).items as {
      status?: { conditions?: { type: string; status: string }[] };
    }[];
    const ready = pods.filter((p) =>
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
    );
    if (ready.length === 40) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const before = process.cpuUsage();
  const m0 = await fetch(
    `${sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements?window=1000m`,
  ).then((r) => r.json());
  const started = performance.now();
  await new Promise((r) => setTimeout(r, 5000));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(before);
  const m1 = await fetch(
    `${sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements?window=1000m`,
  ).then((r) => r.json());
  const rss = Deno.memoryUsage().rss / 1024 / 1024;
  const rate = (m1.requests - m0.requests) / elapsed;
  const cpuPct = ((cpu.user + cpu.system) / 1e6 / elapsed) * 100;
  console.log(
    `sandbox traffic: ${rate.toFixed(0)} req/s answered, CPU ${
      cpuPct.toFixed(1)
    }% of one core (whole process: API, controllers, 40 pod servers, load generator), RSS ${
      rss.toFixed(0)
    } MiB`,
  );
  await sandbox.stop();
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(apiDir, { recursive: true });
});
