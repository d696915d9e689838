// A failed rollout names its cause (the pods' waiting reason, restarts, last exit code, the
// log's last line), and a slot traffic left is scaled to 0 — against the real sandbox through
// the real capability, plus the pure parts on hand-made pods.
import assert from "node:assert/strict";
import { withCluster } from "./_helpers.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import { podConfig } from "../../lib/targets/sandbox_seed.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  type PodConfig,
  type PodConfiguredTarget,
  serviceManifest,
} from "../../lib/kubernetes/manifests.ts";
import {
  explainRollout,
  rolloutCause,
  scaleDownSlot,
  waitForRolloutWith,
} from "../../lib/kubernetes/rollout.ts";
import type { KubeObject, RolloutStatus } from "../../lib/kubernetes/capability.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const SECRET = { apiVersion: "v1", kind: "Secret" };

function pod(name: string, c: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    status: { containerStatuses: [{ name: "web", ready: false, restartCount: 0, ...c }] },
  };
}

Deno.test("rolloutCause: the first pod with a reason, how many are alike; starting or Ready pods are no cause", () => {
  const config = pod("a", {
    state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "db" not found' } },
  });
  const ready = pod("b", { ready: true, state: { running: {} } });
  assert.equal(
    rolloutCause([config, config, ready]),
    'pod a (2 of 3 not ready): container web CreateContainerConfigError (secret "db" not found), restarts 0',
  );
  const crash = pod("c", {
    restartCount: 7,
    state: { waiting: { reason: "CrashLoopBackOff" } },
    lastState: { terminated: { exitCode: 137, message: 'x\n{"level":"FATAL","message":"y"}\n' } },
  });
  assert.equal(
    rolloutCause([crash]),
    'pod c (1 of 1 not ready): container web CrashLoopBackOff, restarts 7, last exit code 137, last log line: "y"',
  );
  assert.equal(
    rolloutCause([pod("d", { state: { waiting: { reason: "ContainerCreating" } } })]),
    null,
  );
  assert.equal(rolloutCause([ready]), null);
  assert.equal(rolloutCause([]), null);
});

Deno.test("waitForRolloutWith: the cause is appended when the rollout fails or times out, never when it is done", async () => {
  const base = { replicas: 1, updatedReplicas: 1, availableReplicas: 0 };
  const failed: RolloutStatus = { ...base, done: false, failed: true, message: "exceeded" };
  let asked = 0;
  const explain = () => {
    asked++;
    return Promise.resolve("pod p: CrashLoopBackOff");
  };
  const r1 = await waitForRolloutWith(() => Promise.resolve(failed), { timeoutMs: 1_000, explain });
  assert.equal(r1.message, "exceeded: pod p: CrashLoopBackOff");
  assert.equal(r1.failed, true);
  const waiting: RolloutStatus = { ...base, done: false, failed: false, message: "waiting" };
  const r2 = await waitForRolloutWith(() => Promise.resolve(waiting), {
    timeoutMs: 0,
    explain,
  });
  assert.equal(r2.message, "timed out after 0 ms: waiting: pod p: CrashLoopBackOff");
  assert.equal(asked, 2);
  const done: RolloutStatus = { ...base, done: true, failed: false, message: "ok" };
  assert.equal(
    (await waitForRolloutWith(() => Promise.resolve(done), { timeoutMs: 1, explain })).message,
    "ok",
  );
  assert.equal(asked, 2, "not asked when done");
  const broken = () => Promise.reject(new Error("API down"));
  const r3 = await waitForRolloutWith(() => Promise.resolve(failed), {
    timeoutMs: 1,
    explain: broken,
  });
  assert.equal(r3.message, "exceeded", "a cause that cannot be read leaves the message");
});

async function target(pods?: PodConfig): Promise<PodConfiguredTarget> {
  const env = await loadEnvironment("production");
  return { ...kubeTarget(env), pods: pods ?? podConfig(env) };
}

Deno.test("a missing Secret key: the rollout fails at its progress deadline naming CreateContainerConfigError and the key", async () => {
  await withCluster(async ({ k }) => {
    const t = await target();
    await k.patch(
      SECRET,
      t.namespace,
      "db-credentials",
      [{ op: "remove", path: "/data/password" }],
      "json",
    );
    const manifest = deploymentManifest(t, {
      service: "file-watcher",
      slot: "blue",
      version: "1.0.0",
    });
    await k.apply(manifest);
    const name = manifest.metadata.name;
    // The deadline is 600 s of sandbox time; at ×300 that is 2 s: wait up to 30× that.
    const timeoutMs = (600_000 / 300) * 30; // withCluster's time scale
    const r = await waitForRolloutWith(() => k.rolloutStatus(t.namespace, name), {
      timeoutMs,
      pollMs: 50,
      explain: () => explainRollout(k, t.namespace, name),
    });
    assert.equal(r.failed, true);
    assert.match(
      r.message,
      /exceeded its progress deadline: pod file-watcher-blue-\S+ \(3 of 3 not ready\): container file-watcher CreateContainerConfigError \(couldn't find key password in Secret tracktion-prod\/db-credentials\), restarts 0$/,
    );
  });
});

Deno.test("an invalid variable: the cause names CrashLoopBackOff, the restarts, exit code 1 and the log's last line", async () => {
  await withCluster(async ({ k }) => {
    const env = await loadEnvironment("production");
    const pods = podConfig(env);
    const t = await target({
      ...pods,
      services: { "notification-service": [{ name: "DATABASE_PORT", value: "5432x" }] },
    });
    const manifest = deploymentManifest(t, {
      service: "notification-service",
      slot: "green",
      version: "1.0.0",
    });
    await k.apply(manifest);
    let cause: string | null = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      cause = await explainRollout(k, t.namespace, manifest.metadata.name);
      if (cause && /restarts [2-9]/.test(cause)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(
      cause ?? "",
      /^pod notification-service-green-\S+ \(2 of 2 not ready\): container notification-service CrashLoopBackOff \(back-off restarting failed container notification-service in pod \S+\), restarts [2-9], last exit code 1, last log line: "fatal: configuration: DATABASE_PORT=\\"5432x\\" is not a port \(1-65535\)"$/,
    );
    // The healthy services of the same target are not refused by the same check.
    const ok = deploymentManifest(t, { service: "file-watcher", slot: "green", version: "1.0.0" });
    await k.apply(ok);
    const r = await k.waitForRollout(t.namespace, ok.metadata.name, {
      timeoutMs: 30_000,
      pollMs: 50,
    });
    assert.equal(r.done, true, r.message);
  });
});

Deno.test("scaleDownSlot: refuses while the Service selects the slot or the route weighs it; else 0 replicas", async () => {
  await withCluster(async ({ k }) => {
    const t = await target();
    const ns = t.namespace;
    const service = "tracklist-service";
    for (const slot of ["blue", "green"] as const) {
      await k.apply(
        deploymentManifest(t, { service, slot, version: slot === "blue" ? "1.0.0" : "1.1.0" }),
      );
    }
    await k.apply(serviceManifest(t, { service, slot: "green" }));
    const selected = await scaleDownSlot(k, { namespace: ns, service, slot: "green" });
    assert.equal(selected.refused, "Service tracklist-service still selects green");
    await k.apply(serviceManifest(t, { service, slot: "blue" }));
    await k.apply(httpRouteManifest(t, { service, weights: { blue: 95, green: 5 } }));
    const weighed = await scaleDownSlot(k, { namespace: ns, service, slot: "green" });
    assert.equal(
      weighed.refused,
      "HTTPRoute tracklist-service still sends 5% to tracklist-service-green",
    );
    const untouched = await k.get(DEPLOYMENT, ns, `${service}-green`);
    assert.equal((untouched!.spec as { replicas: number }).replicas, 4, "refused: unchanged");
    await k.apply(httpRouteManifest(t, { service, weights: { blue: 100, green: 0 } }));
    const standby = await scaleDownSlot(k, {
      namespace: ns,
      service,
      slot: "green",
      version: "1.2.0",
    });
    assert.equal(standby.refused, "it runs 1.1.0 now, not 1.2.0 (kept as a standby)");
    const done = await scaleDownSlot(k, {
      namespace: ns,
      service,
      slot: "green",
      version: "1.1.0",
    });
    assert.deepEqual(done, { deployment: `${service}-green`, replicasBefore: 4 });
    const d = await k.get(DEPLOYMENT, ns, `${service}-green`);
    assert.equal((d!.spec as { replicas: number }).replicas, 0);
    assert.deepEqual(await scaleDownSlot(k, { namespace: ns, service, slot: "green" }), {
      deployment: `${service}-green`,
      replicasBefore: 0,
    });
    assert.deepEqual(await scaleDownSlot(k, { namespace: ns, service: "nope", slot: "blue" }), {
      deployment: "nope-blue",
      replicasBefore: null,
    });
    const blue = await k.get(DEPLOYMENT, ns, `${service}-blue`);
    assert.equal((blue!.spec as { replicas: number }).replicas, 4, "the live slot is untouched");
  });
});
