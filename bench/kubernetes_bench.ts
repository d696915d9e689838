/**
 * Kubernetes layer benchmarks: the pure parts (rollout status, manifest generation), the
 * capability's API calls through client-node against the sandbox (get, a no-op
 * server-side apply, a merge patch, a lease renewal), and one blue-green cycle of the
 * four production services (deploy the idle slots concurrently, verify health, switch).
 *
 * Run: `deno bench -A bench/kubernetes_bench.ts`
 */
import { startSandbox } from "../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../lib/targets/sandbox_seed.ts";
import { loadEnvironment } from "../lib/config/mod.ts";
import { createKubernetesCapability } from "../lib/kubernetes/provider.ts";
import { rolloutStatusOf } from "../lib/kubernetes/rollout.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  serviceManifest,
  slotServiceManifest,
} from "../lib/kubernetes/manifests.ts";
import { servicesOf } from "../lib/kubernetes/target.ts";
import {
  deployIdleSlot,
  switchService,
  verifySlotHealth,
} from "../lib/kubernetes/strategies/mod.ts";
import type { KubeObject } from "../lib/kubernetes/capability.ts";
import { kubeTarget } from "../lib/targets/kube_target.ts";

const env = await loadEnvironment("production", {
  dir: new URL("../environments", import.meta.url).pathname,
});
const target = kubeTarget(env);
const NS = target.namespace;
const dir = await Deno.makeTempDir({ prefix: "kubernetes-bench-" });
const sandbox = await startSandbox({
  seed: await sandboxSeedFromDir(),
  stateDir: dir,
  port: 0,
  timeScale: 600,
  trafficRate: 0,
});
const k = createKubernetesCapability({ kubeconfigPath: sandbox.kubeconfigPath });

const deployment: KubeObject = deploymentManifest(target, {
  service: "analysis-service",
  slot: "blue",
  version: "1.0.0",
});
await k.apply(deployment);
let lease = await k.acquireLease(NS, "bench-lock", { holder: "bench", durationSeconds: 60 });

Deno.bench("rolloutStatusOf() one Deployment", { group: "pure" }, () => {
  rolloutStatusOf({
    ...deployment,
    status: { observedGeneration: 1, replicas: 5, updatedReplicas: 5, availableReplicas: 4 },
  });
});

Deno.bench("all manifests of production (4 services x 2 slots)", { group: "pure" }, () => {
  for (const service of servicesOf(target)) {
    for (const slot of ["blue", "green"] as const) {
      deploymentManifest(target, { service, slot, version: "1.2.4" });
      slotServiceManifest(target, { service, slot });
    }
    serviceManifest(target, { service, slot: "blue" });
    httpRouteManifest(target, { service, weights: { blue: 95, green: 5 } });
  }
});

async function get(): Promise<void> {
  await k.get({ apiVersion: "apps/v1", kind: "Deployment" }, NS, "analysis-service-blue");
}
Deno.bench("capability get() Deployment", { group: "api" }, get);

async function applySame(): Promise<void> {
  await k.apply(deployment);
}
Deno.bench(
  "capability apply() unchanged Deployment (server-side apply)",
  { group: "api" },
  applySame,
);

async function mergePatch(): Promise<void> {
  await k.patch({ apiVersion: "apps/v1", kind: "Deployment" }, NS, "analysis-service-blue", {
    metadata: { annotations: { "bench/at": String(Date.now()) } },
  }, "merge");
}
Deno.bench("capability patch() merge patch of an annotation", { group: "api" }, mergePatch);

async function renew(): Promise<void> {
  lease = await k.renewLease(lease);
}
Deno.bench("capability renewLease() (read + replace)", { group: "api" }, renew);

let cycles = 0;
async function cycle(): Promise<void> {
  cycles++;
  const version = `2.0.${cycles}`;
  const services = servicesOf(target);
  const deployed = await Promise.all(
    services.map((service) => deployIdleSlot(k, { target, service, version, pollMs: 50 })),
  );
  await Promise.all(deployed.map(async ({ service, slot }) => {
    const h = await verifySlotHealth(k, {
      target,
      service,
      slot,
      intervalMs: 50,
      retries: 100,
      version,
    });
    if (!h.healthy) throw new Error(h.message);
    await switchService(k, { target, service, slot });
  }));
}
Deno.bench(
  "blue-green cycle, 4 services (timeScale 600): deploy idle slots, verify, switch",
  { group: "strategy", n: 4, warmup: 0 },
  cycle,
);

async function teardown(): Promise<void> {
  await k.releaseLease(lease);
  await sandbox.stop();
  await Deno.remove(dir, { recursive: true });
}

async function median(fn: () => unknown, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]! * 100) / 100;
}

if (import.meta.main) {
  // `deno run -A bench/kubernetes_bench.ts`: medians, the numbers in bench/kubernetes.md.
  try {
    const rows: [string, number][] = [
      ["capability get() Deployment", await median(get, 200)],
      ["capability apply() unchanged Deployment (SSA)", await median(applySame, 200)],
      ["capability patch() merge patch", await median(mergePatch, 200)],
      ["capability renewLease()", await median(renew, 200)],
      ["blue-green cycle, 4 services", await median(cycle, 7)],
    ];
    for (const [what, ms] of rows) console.log(`| ${what} | ${ms} ms |`);
  } finally {
    await teardown();
  }
} else {
  // deno bench has no teardown hook: the last bench (run in file order) stops the sandbox.
  let stopped = false;
  Deno.bench(
    "(teardown: stop the sandbox)",
    { group: "zz-teardown", n: 1, warmup: 0 },
    async () => {
      if (stopped) return;
      stopped = true;
      await teardown();
    },
  );
}
