// The sandbox never spins on its own errors: a state asking for 100,000,000 replicas is
// refused on load (naming --reset) with nothing changed; controllers create a bounded number
// of pods per reconcile and back off an object whose reconcile fails; the API refuses
// replica counts over the sandbox's limit.
import assert from "node:assert/strict";
import { SANDBOX_LIMITS, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { Api } from "../../lib/sandbox/api.ts";
import { Store } from "../../lib/sandbox/store.ts";
import { findResource, RESOURCE_TYPES, type ResourceType } from "../../lib/sandbox/resources.ts";
import { type VirtualClock, virtualClock } from "../../lib/clock/mod.ts";
import { EventRecorder } from "../../lib/sandbox/events.ts";
import { ReplicaSetController } from "../../lib/sandbox/replicasets.ts";
import { readState } from "../../lib/sandbox/state.ts";
import { inTempDir, sandboxRunArgs, tree } from "../runner/_isolated.ts";
import { tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";
/** `deno task sandbox` is `deno run -A lib/cli/main.ts sandbox`. */
const MAIN = new URL("../../lib/cli/main.ts", import.meta.url).pathname;
const PODS = findResource("", "v1", "pods") as ResourceType;
const EVENTS = findResource("", "v1", "events") as ResourceType;
const REPLICASETS = findResource("apps", "v1", "replicasets") as ResourceType;

/** Runs a command, killing it after `ms` (so a spinning process fails the test, not hangs it). */
async function runWithin(
  args: string[],
  o: { cwd: string; ms: number },
): Promise<{ code: number; stdout: string; stderr: string; killed: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: o.cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, o.ms);
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  return { code: status.code, stdout, stderr, killed };
}

/** A sandbox state as a 100,000,000-replica deploy left it: the Deployment and its ReplicaSet. */
async function hugeState(stateDir: string): Promise<void> {
  const seed = await sandboxSeedFromDir();
  const sandbox = await startSandbox({ stateDir, seed, trafficRate: 0, port: 0 });
  await sandbox.stop();
  const state = JSON.parse(await Deno.readTextFile(`${stateDir}/state.json`));
  const labels = { app: "tracktion", service: "analysis-service", slot: "blue" };
  const template = {
    metadata: { labels: { ...labels, version: "1.0.0" } },
    spec: { containers: [{ name: "app", image: "ghcr.io/tracktion/analysis-service:1.0.0" }] },
  };
  const common = { namespace: NS, labels, generation: 1, resourceVersion: "990" };
  state.store.objects.push({
    type: "apps/v1/deployments",
    object: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "analysis-service-blue", uid: crypto.randomUUID(), ...common },
      spec: { replicas: 100_000_000, selector: { matchLabels: labels }, template },
    },
  }, {
    type: "apps/v1/replicasets",
    object: {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "analysis-service-blue-7c9f8d6b5x", uid: crypto.randomUUID(), ...common },
      spec: { replicas: 100_000_000, selector: { matchLabels: labels }, template },
    },
  });
  await Deno.writeTextFile(`${stateDir}/state.json`, JSON.stringify(state));
}

Deno.test("a saved state with 100,000,000 replicas is refused (naming --reset), nothing changed; --reset recovers", async () => {
  await inTempDir(async (dir) => {
    const stateDir = `${dir}/sandbox`;
    await hugeState(stateDir);
    const before = await tree(dir);
    const run = (extra: string[] = []) =>
      runWithin(
        sandboxRunArgs({ sandboxDir: stateDir, runsDir: `${dir}/runs` }, [...extra]),
        { cwd: dir, ms: 60_000 },
      );
    const refused = await run();
    const what = refused.stdout + refused.stderr;
    assert.equal(refused.killed, false, `it must not spin: ${what.slice(-2000)}`);
    assert.equal(refused.code, 2, what);
    assert.match(
      refused.stderr,
      /error: Cannot load the sandbox state .*\/sandbox\/state\.json: Deployment tracktion-dev\/analysis-service-blue: spec\.replicas: Invalid value: 100000000: must be less than or equal to 1000 \(the sandbox's limit\)/,
    );
    assert.match(refused.stderr, /Pass --reset to discard the saved state/);
    assert.deepEqual(await tree(dir), before, "no sandbox started, no run folder, state as it was");

    // `deno task sandbox` refuses it the same way.
    const task = await runWithin([
      "run",
      "-A",
      MAIN,
      "sandbox",
      "--state-dir",
      stateDir,
      "--port",
      "0",
    ], {
      cwd: dir,
      ms: 60_000,
    });
    assert.equal(task.killed, false);
    assert.equal(task.code, 2, task.stderr);
    assert.match(task.stderr, /spec\.replicas: Invalid value: 100000000[^]*--reset/);
    assert.deepEqual(await tree(dir), before);

    // --reset discards it: the run goes ahead on a freshly seeded cluster.
    const reset = await run(["--reset"]);
    assert.equal(reset.killed, false);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    assert.match(reset.stdout, /saved state discarded/);
    const state = await readState(`${stateDir}/state.json`);
    assert.ok(state);
    assert.equal(state.store.objects.some((o) => o.object.kind === "ReplicaSet"), false);
  });
});

Deno.test("a corrupt state.json is refused with --reset in the message, and left as it was", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sandbox`);
    await Deno.writeTextFile(`${dir}/sandbox/state.json`, '{"version":1,"store":{"objects":[');
    const before = await tree(dir);
    const r = await runWithin(
      sandboxRunArgs({ sandboxDir: `${dir}/sandbox`, runsDir: `${dir}/runs` }),
      { cwd: dir, ms: 60_000 },
    );
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /Cannot load the sandbox state .*state\.json: not valid JSON[^]*--reset/,
    );
    assert.deepEqual(await tree(dir), before);
  });
});

function controller(): {
  api: Api;
  clock: VirtualClock;
  rs: ReplicaSetController;
  creates: () => number;
  logs: string[];
} {
  // A virtual clock: the test moves time with clock.sleep, nothing waits on real time.
  const clock = virtualClock({ startMs: 1_000_000 });
  const api = new Api(new Store(), { clock });
  api.registerTypes(RESOURCE_TYPES);
  const namespaces = findResource("", "v1", "namespaces") as ResourceType;
  api.create(namespaces, "", { metadata: { name: NS } }, { manager: "test" });
  let creates = 0;
  const create = api.create.bind(api);
  api.create = (type, ...rest) => {
    if (type === PODS) creates++;
    return create(type, ...rest);
  };
  const logs: string[] = [];
  const rs = new ReplicaSetController(api, {
    clock,
    events: new EventRecorder(api),
    log: (line) => logs.push(line),
  });
  return { api, clock, rs, creates: () => creates, logs };
}

function replicaSet(replicas: number, podLabels: Record<string, string> = {}) {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web-1", namespace: NS, uid: crypto.randomUUID(), generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web", ...podLabels } },
        spec: { containers: [{ name: "app", image: "registry.local/web:1.0.0" }] },
      },
    },
  };
}

Deno.test("ReplicaSetController backs off a ReplicaSet whose pods cannot be created (one try, a Warning Event)", async () => {
  const t = controller();
  // Restored as-is (the store bypasses validation): its pods are invalid (a label value
  // with a space), so creating every one of them fails.
  t.api.store.put(REPLICASETS, replicaSet(3, { team: "web team" }));
  const started = performance.now();
  for (let i = 0; i < 1000; i++) t.rs.reconcile();
  const elapsed = performance.now() - started;
  assert.equal(t.creates(), 1, "one attempt, then backing off (no retry on every pass)");
  assert.ok(elapsed < 10_000, `1000 passes over a failing object took ${elapsed} ms`);
  const warning = t.api.store.scan(EVENTS, NS).find((e) => e.reason === "FailedCreate");
  assert.ok(warning, "a FailedCreate event is recorded");
  assert.equal(warning.type, "Warning");
  assert.match(
    String(warning.message),
    /^Error creating: Pod "web-1-\w+" is invalid: metadata\.labels: Invalid value: "web team"/,
  );
  assert.equal(t.logs.length, 1);
  assert.match(t.logs[0]!, /ReplicaSet tracktion-dev\/web-1: FailedCreate: .*backing off/);

  // The delay doubles: tries at +200 ms, then +400 ms after that; never in between.
  await t.clock.sleep(199);
  t.rs.reconcile();
  assert.equal(t.creates(), 1);
  await t.clock.sleep(1);
  for (let i = 0; i < 100; i++) t.rs.reconcile();
  assert.equal(t.creates(), 2);
  await t.clock.sleep(399);
  t.rs.reconcile();
  assert.equal(t.creates(), 2);
  await t.clock.sleep(1);
  t.rs.reconcile();
  assert.equal(t.creates(), 3);
  assert.equal(Number(warning.count ?? 1) >= 1, true);
  assert.equal(t.logs.length, 1, "one log line per failure streak, not one per try");
});

Deno.test("ReplicaSetController creates at most createsPerSync pods per reconcile, and no more than asked", () => {
  const t = controller();
  const replicas = SANDBOX_LIMITS.replicas;
  t.api.store.put(REPLICASETS, replicaSet(replicas));
  t.rs.reconcile();
  assert.equal(t.creates(), SANDBOX_LIMITS.createsPerSync);
  const passes = Math.ceil(replicas / SANDBOX_LIMITS.createsPerSync);
  for (let i = 1; i < passes + 3; i++) t.rs.reconcile();
  assert.equal(t.creates(), replicas);
  assert.equal(t.api.store.scan(PODS, NS).length, replicas);
  const names = new Set(
    t.api.store.scan(PODS, NS).map((p) =>
      String(p.metadata && (p.metadata as { name: string }).name)
    ),
  );
  assert.equal(names.size, replicas, "pod names are unique");
});

Deno.test("the sandbox API refuses replica counts over its limit (kubectl apply and scale: 422)", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(`apiVersion: apps/v1
kind: Deployment
metadata: {name: huge, namespace: ${NS}}
spec:
  replicas: 100000000
  selector: {matchLabels: {app: huge}}
  template:
    metadata: {labels: {app: huge}}
    spec: {containers: [{name: app, image: registry.local/huge:1.0.0}]}
`);
    const applied = await t.kubectl("apply", "-f", file);
    assert.notEqual(applied.code, 0);
    assert.match(
      applied.stderr,
      /spec\.replicas: Invalid value: 100000000: must be less than or equal to 1000 \(the sandbox's limit\)/,
    );
    await Deno.writeTextFile(file, (await Deno.readTextFile(file)).replace("100000000", "2"));
    await t.kubectlOk("apply", "-f", file);
    const scaled = await t.kubectl("scale", "deployment/huge", "-n", NS, "--replicas=5000");
    assert.notEqual(scaled.code, 0);
    assert.match(scaled.stderr, /must be less than or equal to 1000/);
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});
