// The sandbox on the shared clock (issue 11): on a virtual clock pods become Ready after
// their simulated start-up with the clock moved by exactly that much and almost no wall
// time; a crash loop follows the kubelet's back-off schedule; an idle sandbox (even with a
// watch open) leaves the clock still and sets no timer; the saved state's clockAt keeps the
// next clock from starting behind it; real kubectl still works on a scaled clock.
import assert from "node:assert/strict";
import { scaledClock, type VirtualClock, virtualClock } from "../../lib/clock/mod.ts";
import { type Sandbox, savedClockAt, startSandbox } from "../../lib/sandbox/mod.ts";
import { crashSchedule } from "../../lib/sandbox/kubelet.ts";
import { deploymentYaml, tempFile, waitFor, withSandbox } from "./_helpers.ts";

const NS = "shop-dev";
const START = Date.UTC(2030, 0, 1);

/** A Deployment of `replicas` pods (image `registry.local/web:<version>`), as JSON. */
function deployment(name: string, version: string, o: { replicas?: number; deadline?: number }) {
  const labels = { app: "web", service: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: o.replicas ?? 2,
      progressDeadlineSeconds: o.deadline ?? 600,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, version } },
        spec: { containers: [{ name: "app", image: `registry.local/web:${version}` }] },
      },
    },
  };
}

/** A request to the sandbox's API, holding the clock while it is in flight (as clients do). */
async function api(
  clock: VirtualClock,
  sandbox: Sandbox,
  path: string,
  init: RequestInit = {},
): Promise<Record<string, unknown>> {
  const response = await clock.track(
    "test request",
    fetch(`${sandbox.url}${path}`, {
      ...init,
      headers: { "content-type": "application/json", ...init.headers },
    }),
  );
  const body = await clock.track("test body", response.json());
  assert.ok(response.ok, `${path}: ${response.status} ${JSON.stringify(body)}`);
  return body as Record<string, unknown>;
}

async function virtualSandbox(
  scenario?: string,
  o: { trafficRate?: number; randomSeed?: number } = {},
) {
  const clock = virtualClock({ startMs: START });
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-virtual-" });
  const sandbox = await startSandbox({
    stateDir,
    clock,
    port: 0,
    trafficRate: o.trafficRate ?? 0,
    ...(o.randomSeed !== undefined ? { randomSeed: o.randomSeed } : {}),
    seed: { namespaces: [{ name: NS }] },
    ...(scenario ? { scenario } : {}),
  });
  return {
    clock,
    sandbox,
    stateDir,
    async close() {
      await sandbox.stop();
      clock.dispose();
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}

type Pod = { status?: { containerStatuses?: { ready?: boolean; restartCount?: number }[] } };

function readyPods(list: Record<string, unknown>): number {
  return ((list.items ?? []) as Pod[]).filter((p) => p.status?.containerStatuses?.[0]?.ready)
    .length;
}

Deno.test("virtual clock: pods become Ready after their simulated start-up, the clock moved by exactly that, in little wall time", async () => {
  // slow-rollout: a new version's pods take 3 minutes of sandbox time to be Ready.
  const t = await virtualSandbox("slow-rollout");
  try {
    const startupMs = 180_000;
    const t0 = t.clock.now();
    const wall0 = performance.now();
    await api(t.clock, t.sandbox, `/apis/apps/v1/namespaces/${NS}/deployments`, {
      method: "POST",
      body: JSON.stringify(deployment("web", "2.0.0", {})),
    });
    // Nothing holds the clock now: it jumps from deadline to deadline by itself.
    const list = await waitFor(
      "two Ready pods",
      async () => {
        const pods = await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/pods`);
        return readyPods(pods) === 2 ? pods : undefined;
      },
      60_000,
    );
    const wallMs = performance.now() - wall0;
    const moved = t.clock.now() - t0;
    assert.equal(readyPods(list), 2);
    assert.ok(
      moved >= startupMs && moved <= startupMs + 1_000,
      `the clock moved ${moved} ms for a ${startupMs} ms start-up`,
    );
    // A 3-minute start-up on a 60x clock would take 3 s of wall time; virtual: a few passes.
    assert.ok(wallMs < startupMs / 60, `took ${wallMs.toFixed(0)} ms of wall time`);
    const rollout = await api(t.clock, t.sandbox, `/apis/apps/v1/namespaces/${NS}/deployments/web`);
    const status = rollout.status as { availableReplicas?: number; conditions?: unknown[] };
    assert.equal(status.availableReplicas, 2);
    assert.match(JSON.stringify(status.conditions), /NewReplicaSetAvailable/);

    // Rolled out: nothing changes by itself any more, so the clock stays where it is.
    const settled = t.clock.now();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.clock.now(), settled, "no timer moves the clock after the rollout");
  } finally {
    await t.close();
  }
});

Deno.test("virtual clock: a crash loop restarts on the kubelet's back-off schedule, and the progress deadline passes on time", async () => {
  const t = await virtualSandbox("crashloop");
  try {
    const t0 = t.clock.now();
    await api(t.clock, t.sandbox, `/apis/apps/v1/namespaces/${NS}/deployments`, {
      method: "POST",
      body: JSON.stringify(deployment("web", "2.0.0", { replicas: 1, deadline: 120 })),
    });
    const seen: { atMs: number; restarts: number; expected: number }[] = [];
    const progressing: string[] = [];
    // Look between crash times (2 s, 12 s, 32 s, 72 s, 152 s, 312 s, 612 s: back-offs of
    // 10 s doubling up to 5 minutes).
    for (const atMs of [1_500, 5_000, 20_000, 50_000, 100_000, 200_000, 400_000, 700_000]) {
      await t.clock.sleep(t0 + atMs - t.clock.now());
      const release = t.clock.hold("test looks"); // the clock stands still while we read
      try {
        const pods = await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/pods`);
        const pod = ((pods.items ?? []) as Pod[])[0];
        const restarts = pod?.status?.containerStatuses?.[0]?.restartCount ?? -1;
        seen.push({ atMs, restarts, expected: crashSchedule(atMs).restarts });
        const d = await api(t.clock, t.sandbox, `/apis/apps/v1/namespaces/${NS}/deployments/web`);
        const conditions = (d.status as { conditions?: { type: string; reason: string }[] })
          .conditions ?? [];
        progressing.push(conditions.find((c) => c.type === "Progressing")?.reason ?? "none");
      } finally {
        release();
      }
    }
    assert.deepEqual(
      seen.map((s) => s.restarts),
      seen.map((s) => s.expected),
      JSON.stringify(seen),
    );
    assert.deepEqual(seen.map((s) => s.expected), [0, 1, 2, 3, 4, 5, 6, 7]);
    // Deadline 120 s: still progressing at 100 s, exceeded at 200 s and after.
    assert.deepEqual(progressing.slice(4, 6), ["ReplicaSetUpdated", "ProgressDeadlineExceeded"]);
    assert.equal(progressing.at(-1), "ProgressDeadlineExceeded");
    const events = await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/events`);
    const reasons = (events.items ?? []) as { reason: string; count?: number }[];
    assert.ok(reasons.some((e) => e.reason === "BackOff"), "BackOff events recorded");
  } finally {
    await t.close();
  }
});

Deno.test("virtual clock: an idle sandbox sets no timer and leaves the clock still, even with a watch open", async () => {
  const t = await virtualSandbox();
  try {
    // Quiet: let the start-up settle (the first pass, the seed's controllers).
    await new Promise((r) => setTimeout(r, 200));
    const at = t.clock.now();
    const fired = t.clock.fired;
    const pending = t.clock.pending();
    // A watch (kubectl get -w, an informer) is a client's wait: its time limit is not a
    // cluster event and must not move the clock.
    const watch = await fetch(`${t.sandbox.url}/api/v1/namespaces/${NS}/pods?watch=true`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(t.clock.now(), at, "the clock did not move");
    assert.equal(t.clock.fired, fired, "no timer fired");
    assert.ok(t.clock.pending() <= pending + 1, `pending ${t.clock.pending()} (was ${pending})`);
    assert.deepEqual(t.clock.held(), [], "nothing holds the clock while idle");
    await watch.body?.cancel();

    // One change, then idle again: a pass ran, and the clock is still where it was.
    await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/configmaps`, {
      method: "POST",
      body: JSON.stringify({ metadata: { name: "c" }, data: { a: "1" } }),
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.clock.now(), at);
    assert.ok(t.clock.pending() <= pending + 2, `pending ${t.clock.pending()}`);
  } finally {
    await t.close();
  }
});

/** Deploys `web` (2 pods) and its Service, lets five virtual minutes pass, and measures. */
async function drawnCanary(randomSeed: number, scenario?: string) {
  const t = await virtualSandbox(scenario, { trafficRate: 50, randomSeed });
  try {
    await api(t.clock, t.sandbox, `/apis/apps/v1/namespaces/${NS}/deployments`, {
      method: "POST",
      body: JSON.stringify(deployment("web", "2.0.0", {})),
    });
    await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/services`, {
      method: "POST",
      body: JSON.stringify({
        metadata: { name: "web" },
        spec: { selector: { service: "web" }, ports: [{ port: 80, targetPort: 8000 }] },
      }),
    });
    const wall0 = performance.now();
    await t.clock.sleep(300_000);
    const release = t.clock.hold("test measures");
    try {
      const path = `/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements`;
      const m = await api(
        t.clock,
        t.sandbox,
        `${path}?labelSelector=service%3Dweb&window=60s&over=100&samples=5`,
      );
      const bad = await t.clock.track(
        "bad",
        fetch(`${t.sandbox.url}${path}?window=60s&samples=-1`),
      );
      const badBody = await t.clock.track("bad body", bad.text());
      const pods = await api(t.clock, t.sandbox, `/api/v1/namespaces/${NS}/pods`);
      const names = ((pods.items ?? []) as { metadata: { name: string; uid: string } }[])
        .map((p) => `${p.metadata.name} ${p.metadata.uid}`);
      const bad_ = { status: bad.status, body: badBody };
      return { m, bad: bad_, names, wallMs: performance.now() - wall0 };
    } finally {
      release();
    }
  } finally {
    await t.close();
  }
}

Deno.test("virtual clock: traffic is drawn per interval from the seed (same seed, same numbers and names), over and samples pass through", async () => {
  const a = await drawnCanary(7);
  const b = await drawnCanary(7);
  const m = a.m as { requests: number; errors: number; over?: number; latencies?: number[] };
  // 50 requests per sandbox second over a 60 s window: about 3,000 (Poisson).
  assert.ok(m.requests > 2_500 && m.requests < 3_500, `requests ${m.requests}`);
  assert.equal(typeof m.over, "number", "over=100 counts the requests slower than 100 ms");
  assert.ok(m.over! > 0 && m.over! < m.requests);
  assert.equal(m.latencies?.length, 5, "samples=5: five latencies");
  assert.deepEqual(a.m, b.m, "the same seed gives the same measurement");
  assert.equal(a.names.length, 2);
  assert.deepEqual(a.names, b.names, "the same seed names pods (and their uids) the same");
  const other = await drawnCanary(8);
  assert.notDeepEqual((other.m as { latencies?: number[] }).latencies, m.latencies);
  assert.notDeepEqual(other.names, a.names);
  assert.equal(a.bad.status, 400, a.bad.body);
  assert.match(a.bad.body, /samples/);
  // Five minutes of canary traffic on the virtual clock: no real time to wait.
  assert.ok(a.wallMs < 300_000 / 60, `took ${a.wallMs.toFixed(0)} ms`);
});

Deno.test("state.json keeps the clock's time (clockAt): a clock behind it is refused, nothing written; the default clock starts after it", async () => {
  const t = await virtualSandbox();
  const ahead = START + 3_600_000;
  await t.clock.sleep(3_600_000); // an hour of virtual time
  await t.sandbox.stop();
  t.clock.dispose();
  assert.equal(t.sandbox.clockAt, ahead);
  assert.equal(await savedClockAt(t.stateDir), ahead);
  const before = await Deno.readTextFile(`${t.stateDir}/state.json`);
  const behind = virtualClock({ startMs: START });
  await assert.rejects(
    () => startSandbox({ stateDir: t.stateDir, clock: behind, port: 0, trafficRate: 0 }),
    (e: Error) =>
      e instanceof RangeError && /clockAt/.test(e.message) && /at or after it/.test(e.message) &&
      e.message.includes(new Date(ahead).toISOString()),
  );
  assert.equal(await Deno.readTextFile(`${t.stateDir}/state.json`), before, "nothing written");
  behind.dispose();

  // A virtual clock at clockAt is accepted; so is the default clock, whose stamps start no
  // earlier than clockAt even though it is in the future of real time.
  const later = virtualClock({ startMs: ahead });
  const again = await startSandbox({ stateDir: t.stateDir, clock: later, port: 0, trafficRate: 0 });
  await again.stop();
  later.dispose();
  const real = await startSandbox({ stateDir: t.stateDir, port: 0, trafficRate: 0 });
  try {
    assert.equal(real.clock.kind, "scaled");
    assert.ok(real.clock.now() >= ahead, "the default clock starts at or after clockAt");
    const info =
      await (await fetch(`${real.url}/api/v1/namespaces/kube-system/configmaps/sandbox-info`))
        .json();
    assert.equal(info.data.clock, "scaled");
  } finally {
    await real.stop();
    await Deno.remove(t.stateDir, { recursive: true });
  }
});

Deno.test("real kubectl get pods works against a sandbox on a scaled clock", async () => {
  const t = await withSandbox({ clock: scaledClock(600), trafficRate: 0 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "api", namespace: "tracktion-dev", version: "1.0.0" }),
    );
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk(
      "rollout",
      "status",
      "deployment/api",
      "-n",
      "tracktion-dev",
      "--timeout=60s",
    );
    const out = await t.kubectlOk("get", "pods", "-n", "tracktion-dev", "-l", "service=api");
    const rows = out.trim().split("\n");
    assert.match(rows[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    assert.equal(rows.length, 3, out);
    for (const row of rows.slice(1)) assert.match(row, /^api-\w+-\w+\s+1\/1\s+Running\s+0\s+\d+s/);
    const info = JSON.parse(
      await t.kubectlOk("get", "configmap", "sandbox-info", "-n", "kube-system", "-o", "json"),
    );
    assert.equal(info.data.clock, "scaled");
    assert.equal(info.data.timeScale, "600");
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});
