// The Kubernetes layer on the run's clock: every request to the API server holds it while
// in flight (a virtual clock does not jump past a slow answer — and does, without holds);
// a rollout wait polls on the clock and is not held between its readings; lease times and
// event names come from the clock. Against a small fake API server that answers slowly.
import assert from "node:assert/strict";
import { type Clock, virtualClock } from "../../lib/clock/mod.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";

const START = Date.UTC(2026, 0, 1);
const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" };

/** A fake API server: discovery, one slow ConfigMap, a Deployment that never rolls out. */
async function fakeApi(slowMs: number) {
  const seen: { method: string; path: string; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seen.push({ method: req.method, path, body: await req.text() });
    const json = (v: unknown, status = 200) =>
      new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });
    if (path === "/api/v1") {
      return json({
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "configmaps", namespaced: true, kind: "ConfigMap", verbs: ["get", "create"] },
          { name: "events", namespaced: true, kind: "Event", verbs: ["create"] },
        ],
      });
    }
    if (path === "/apis/apps/v1") {
      return json({
        kind: "APIResourceList",
        groupVersion: "apps/v1",
        resources: [{ name: "deployments", namespaced: true, kind: "Deployment", verbs: ["get"] }],
      });
    }
    if (path === "/api/v1/namespaces/ns/configmaps/slow") {
      await new Promise((r) => setTimeout(r, slowMs));
      return json({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "slow" } });
    }
    if (path === "/apis/apps/v1/namespaces/ns/deployments/stuck") {
      return json({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "stuck", generation: 1 },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 0 },
      });
    }
    if (path === "/api/v1/namespaces/ns/events" && req.method === "POST") {
      return json(JSON.parse(seen.at(-1)!.body), 201);
    }
    return json({ kind: "Status", code: 404, reason: "NotFound", message: "not here" }, 404);
  });
  const dir = await Deno.makeTempDir({ prefix: "kube-clock-" });
  const kubeconfigPath = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfigPath,
    `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${server.addr.port}", insecure-skip-tls-verify: true } }]
users: [{ name: nobody, user: {} }]
contexts: [{ name: fake, context: { cluster: fake, user: nobody } }]
current-context: fake
`,
  );
  return {
    kubeconfigPath,
    seen,
    async close() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A virtual clock whose holds do nothing. */
function withoutHolds(): Clock {
  const clock = virtualClock({ startMs: START });
  return {
    kind: clock.kind,
    scale: clock.scale,
    now: () => clock.now(),
    since: (s) => clock.since(s),
    sleep: (ms, o) => clock.sleep(ms, o),
    schedule: (ms, fn) => clock.schedule(ms, fn),
    timeout: (ms) => clock.timeout(ms),
    hold: () => () => {},
    track: (_what, work) => work,
  };
}

/** Whether a slow GET ends before a minute's sleep started beside it, on that clock. */
async function slowGetRace(clock: Clock, kubeconfigPath: string) {
  const k = createKubernetesCapability({ kubeconfigPath, clock });
  const order: string[] = [];
  const got = k.get(CONFIG_MAP, "ns", "slow").then(() => order.push(`got@${clock.now() - START}`));
  const slept = clock.sleep(60_000).then(() => order.push(`slept@${clock.now() - START}`));
  await Promise.all([got, slept]);
  return order;
}

Deno.test("a request to the API server holds the clock while in flight (and nothing does without holds)", async () => {
  const api = await fakeApi(300);
  try {
    assert.deepEqual(await slowGetRace(virtualClock({ startMs: START }), api.kubeconfigPath), [
      "got@0",
      "slept@60000",
    ]);
    assert.deepEqual(await slowGetRace(withoutHolds(), api.kubeconfigPath), [
      "slept@60000",
      "got@60000",
    ]);
  } finally {
    await api.close();
  }
});

Deno.test("waitForRollout polls on the clock, held only while it reads: 10 minutes of polls in real moments", async () => {
  const api = await fakeApi(0);
  try {
    const clock = virtualClock({ startMs: START });
    const k = createKubernetesCapability({ kubeconfigPath: api.kubeconfigPath, clock });
    const t0 = performance.now();
    // maxPollMs = pollMs: a reading a minute, as the runbook's loop (no backing off here).
    const status = await k.waitForRollout("ns", "stuck", {
      timeoutMs: 600_000,
      pollMs: 60_000,
      maxPollMs: 60_000,
    });
    const wallMs = performance.now() - t0;
    assert.equal(status.failed, true);
    assert.match(status.message, /^timed out after 600000 ms: .*0 of 2 updated replicas/);
    assert.equal(clock.now(), START + 600_000);
    const reads = api.seen.filter((r) => r.path.endsWith("/deployments/stuck"));
    // One reading at the start, one a minute for 10 minutes, and the failure's explanation
    // (explainRollout reads the Deployment once more to say why).
    assert.equal(reads.length, 12, "11 readings a minute apart, then the explanation's");
    // Held for all of it, a virtual clock could not have moved at all; on real time the
    // same wait is 10 minutes.
    assert.ok(wallMs < 600_000 / 10, `the 10 virtual minutes took ${wallMs} ms`);
    assert.deepEqual(clock.held(), []);
  } finally {
    await api.close();
  }
});

Deno.test("events are stamped and named from the clock: the same clock gives the same name", async () => {
  const names: string[] = [];
  for (let i = 0; i < 2; i++) {
    const api = await fakeApi(0);
    try {
      const clock = virtualClock({ startMs: START });
      const k = createKubernetesCapability({ kubeconfigPath: api.kubeconfigPath, clock });
      const object = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "web", namespace: "ns" },
      };
      await k.event(object, { reason: "Deployed", message: "v1.2.4", type: "Normal" });
      await k.event(object, { reason: "Deployed", message: "again", type: "Normal" });
      const posted = api.seen.filter((r) => r.method === "POST").map((r) => JSON.parse(r.body));
      assert.equal(posted.length, 2);
      assert.equal(posted[0].firstTimestamp, new Date(START).toISOString());
      assert.notEqual(posted[0].metadata.name, posted[1].metadata.name);
      names.push(...posted.map((e) => e.metadata.name as string));
    } finally {
      await api.close();
    }
  }
  assert.deepEqual(names.slice(0, 2), names.slice(2));
  assert.match(names[0]!, /^web\.[0-9a-f]+$/);
});
