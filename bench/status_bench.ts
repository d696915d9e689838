/**
 * `deno task status` benchmarks, in this process: production's status (four services, both
 * slots, the canary's routes, a held lock) read from a sandbox that runs (what `--sandbox`
 * does while `deno task sandbox` runs: find it, connect read-only, check the API answers,
 * read), the cluster reads alone, and the read from a saved state with no sandbox running
 * (start one from it at ×1, read, stop: `--sandbox` between deploys).
 *
 * Run: `deno bench -A bench/status_bench.ts`; `deno run -A bench/status_bench.ts` prints medians.
 */
import { loadEnvironment } from "../lib/config/mod.ts";
import { createKubernetesCapability } from "../lib/kubernetes/provider.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  serviceManifest,
  slotServiceManifest,
} from "../lib/kubernetes/manifests.ts";
import { servicesOf } from "../lib/kubernetes/target.ts";
import { kubeTarget } from "../lib/targets/kube_target.ts";
import { startProjectSandbox } from "../lib/targets/sandbox.ts";
import { environmentStatus, formatStatus, readClusterStatus } from "../lib/status/mod.ts";

const environmentsDir = new URL("../environments", import.meta.url).pathname;
const env = await loadEnvironment("production", { dir: environmentsDir });
const target = kubeTarget(env);
const LOCK = "tracktion-deploy";

/** A sandbox holding production after a canary at 20%, its lock held. */
async function populated(stateDir: string) {
  const sandbox = await startProjectSandbox({
    stateDir,
    timeScale: 1,
    trafficRate: 0,
    environmentsDir,
  });
  const k = createKubernetesCapability({
    kubeconfigPath: sandbox.kubeconfigPath,
    clock: sandbox.clock,
    transport: (request) => sandbox.handle(request),
  });
  for (const service of servicesOf(target)) {
    for (const [slot, version] of [["blue", "1.0.0"], ["green", "1.1.0"]] as const) {
      await k.apply(deploymentManifest(target, { service, slot, version }));
      await k.apply(slotServiceManifest(target, { service, slot }));
    }
    await k.apply(serviceManifest(target, { service, slot: "blue" }));
    await k.apply(httpRouteManifest(target, { service, weights: { blue: 80, green: 20 } }));
  }
  await k.acquireLease(target.namespace, LOCK, { holder: "bench/run-1", durationSeconds: 3600 });
  return { sandbox, k };
}

const runningDir = await Deno.makeTempDir({ prefix: "status-bench-running-" });
const running = await populated(runningDir);
const savedDir = await Deno.makeTempDir({ prefix: "status-bench-saved-" });
await (await populated(savedDir)).sandbox.stop();
const runsDir = `${runningDir}/runs`;

// Once before timing: the output is what it should be.
const once = await environmentStatus({ env, runsDir, lockName: LOCK, sandboxDir: runningDir });
if (once.lock.state !== "held" || once.services[0]?.traffic?.green !== 20) {
  throw new Error(`unexpected status:\n${formatStatus(once)}`);
}

async function withRunning(): Promise<void> {
  await environmentStatus({ env, runsDir, lockName: LOCK, sandboxDir: runningDir });
}
async function readsAlone(): Promise<void> {
  await readClusterStatus(running.k, { target, lockName: LOCK, now: running.sandbox.clock.now() });
}
async function fromSaved(): Promise<void> {
  await environmentStatus({ env, runsDir, lockName: LOCK, sandboxDir: savedDir });
}

async function teardown(): Promise<void> {
  await running.sandbox.stop();
  for (const dir of [runningDir, savedDir]) await Deno.remove(dir, { recursive: true });
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
  // `deno run -A bench/status_bench.ts`: medians, in real ms.
  try {
    const rows: [string, number][] = [
      ["status production --sandbox, a sandbox running", await median(withRunning, 100)],
      ["readClusterStatus() alone, in-process transport", await median(readsAlone, 200)],
      [
        "status production --sandbox, none running (start, read, stop)",
        await median(fromSaved, 30),
      ],
      ["formatStatus() of production", await median(() => formatStatus(once), 1000)],
    ];
    for (const [what, ms] of rows) console.log(`| ${what} | ${ms} ms |`);
  } finally {
    await teardown();
  }
} else {
  Deno.bench("status production --sandbox, a sandbox running (find, connect, verify, read)", {
    group: "status",
    baseline: true,
  }, withRunning);
  Deno.bench("readClusterStatus() alone (6 API calls, in-process transport)", {
    group: "status",
  }, readsAlone);
  Deno.bench("status production --sandbox, none running (start from saved state, read, stop)", {
    group: "status",
    n: 20,
  }, fromSaved);
  Deno.bench("formatStatus() of production", { group: "format" }, () => {
    formatStatus(once);
  });
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
