import assert from "node:assert/strict";
import {
  cleanupExpiredSlots,
  currentWeights,
  DELETE_AFTER_ANNOTATION,
  deployIdleSlot,
  liveSlot,
  recordDeployment,
  rollbackService,
  rollingUpdate,
  scheduleCleanup,
  setWeights,
  switchService,
  verifySlotHealth,
} from "../../lib/kubernetes/strategies/mod.ts";
import { acrossWorkerBoundary, poll, targetOf, withCluster } from "./_helpers.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const SERVICE = { apiVersion: "v1", kind: "Service" };
const ROUTE = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" };
const NS = "tracktion-dev";
const FAST = { pollMs: 100 };
const HEALTH = { intervalMs: 200, retries: 50 };

Deno.test("strategies: blue-green deploy, switch, canary weights, rollback and clean-up on the sandbox", async (t) => {
  const target = await targetOf("development");
  const service = "analysis-service";
  await withCluster(async ({ proxied: k }) => {
    await t.step("liveSlot() is null before the first deploy", async () => {
      assert.equal(await liveSlot(k, { target, service }), null);
    });

    await t.step(
      "deployIdleSlot() deploys the first version to blue and waits for it",
      async () => {
        const d = await deployIdleSlot(k, {
          target,
          service,
          version: "v1.0.0",
          ...FAST,
        });
        assert.deepEqual([d.slot, d.previousSlot, d.version], ["blue", null, "1.0.0"]);
        assert.equal(d.rollout.done, true);
        assert.equal(
          d.rollout.message,
          'deployment "analysis-service-blue" successfully rolled out',
        );
        const svc = await k.get(SERVICE, NS, "analysis-service-blue");
        assert.equal((svc?.spec as { selector: Record<string, string> }).selector.slot, "blue");
      },
    );

    await t.step("verifySlotHealth() asks /health of every ready pod of the slot", async () => {
      const h = await verifySlotHealth(k, {
        target,
        service,
        slot: "blue",
        ...HEALTH,
        version: "1.0.0",
      });
      assert.equal(h.healthy, true, h.message);
      assert.ok(h.pods.length >= 1);
      for (const pod of h.pods) {
        assert.equal(pod.status, 200);
        assert.equal(pod.version, "1.0.0");
        assert.match(pod.address, /^127\.0\.0\.1:\d+$/);
      }
      const wrong = await verifySlotHealth(k, {
        target,
        service,
        slot: "blue",
        retries: 2,
        intervalMs: 50,
        version: "9.9.9",
      });
      assert.equal(wrong.healthy, false);
      assert.equal(wrong.attempts, 2);
      assert.match(
        wrong.message,
        /unhealthy after 2 attempts: .*reports version 1\.0\.0, expected 9\.9\.9/,
      );
    });

    await t.step(
      "switchService() creates the Service on blue and verifies running pods",
      async () => {
        const s = await switchService(k, { target, service, slot: "blue" });
        assert.deepEqual([s.slot, s.previousSlot], ["blue", null]);
        assert.ok(s.activePods >= 1);
        assert.equal(await liveSlot(k, { target, service }), "blue");
      },
    );

    await t.step("recordDeployment() writes deployment-info", async () => {
      const data = await recordDeployment(k, {
        target,
        version: "1.0.0",
        runId: "run-1",
        slots: { [service]: "blue" },
        time: "2026-01-01T00:00:00.000Z",
      });
      assert.equal(data.version, "1.0.0");
      assert.equal(data[`slot.${service}`], "blue");
      const cm = await k.get({ apiVersion: "v1", kind: "ConfigMap" }, NS, "deployment-info");
      assert.equal((cm?.data as Record<string, string>).run_id, "run-1");
    });

    await t.step("deployIdleSlot() puts the next version on the idle slot (green)", async () => {
      const d = await deployIdleSlot(k, { target, service, version: "1.1.0", ...FAST });
      assert.deepEqual([d.slot, d.previousSlot, d.version], ["green", "blue", "1.1.0"]);
      assert.equal(
        await liveSlot(k, { target, service }),
        "blue",
        "traffic has not moved yet",
      );
      const blue = await k.get(DEPLOYMENT, NS, "analysis-service-blue");
      assert.equal(blue?.metadata.labels?.version, "1.0.0", "the live slot is untouched");
      const h = await verifySlotHealth(k, {
        target,
        service,
        slot: "green",
        ...HEALTH,
        version: "1.1.0",
      });
      assert.equal(h.healthy, true, h.message);
    });

    await t.step("setWeights() shifts canary traffic through the HTTPRoute", async () => {
      assert.equal(await currentWeights(k, { target, service }), null);
      assert.deepEqual(
        await setWeights(k, { target, service, weights: { blue: 95, green: 5 } }),
        {
          blue: 95,
          green: 5,
        },
      );
      assert.deepEqual(await currentWeights(k, { target, service }), {
        blue: 95,
        green: 5,
      });
      await setWeights(k, { target, service, weights: { blue: 80, green: 20 } });
      const route = await k.get(ROUTE, NS, service);
      const refs = (route?.spec as { rules: { backendRefs: { name: string; weight: number }[] }[] })
        .rules[0]!.backendRefs;
      assert.deepEqual(refs.map((r) => [r.name, r.weight]), [
        ["analysis-service-blue", 80],
        ["analysis-service-green", 20],
      ]);
      await assert.rejects(
        setWeights(k, { target, service, weights: { blue: 0, green: 0 } }),
        RangeError,
      );
      assert.deepEqual(await currentWeights(k, { target, service }), {
        blue: 80,
        green: 20,
      });
    });

    await t.step("switchService() patches the selector to green", async () => {
      await setWeights(k, { target, service, weights: { blue: 0, green: 100 } });
      const s = await switchService(k, { target, service, slot: "green" });
      assert.deepEqual([s.slot, s.previousSlot], ["green", "blue"]);
      const svc = await k.get(SERVICE, NS, service);
      assert.deepEqual((svc?.spec as { selector: Record<string, string> }).selector, {
        app: "tracktion",
        service,
        slot: "green",
      });
    });

    await t.step("rollbackService() puts the selector and the weights back on blue", async () => {
      const r = await rollbackService(k, { target, service, slot: "blue" });
      assert.deepEqual(r, {
        service,
        slot: "blue",
        selectorChanged: true,
        weights: { blue: 100, green: 0 },
      });
      assert.equal(await liveSlot(k, { target, service }), "blue");
      assert.deepEqual(await currentWeights(k, { target, service }), {
        blue: 100,
        green: 0,
      });
      assert.ok(await k.get(DEPLOYMENT, NS, "analysis-service-green"), "green keeps running");
      const again = await rollbackService(k, { target, service, slot: "blue" });
      assert.equal(again.selectorChanged, false);
    });

    await t.step(
      "scheduleCleanup() marks the idle slot; cleanupExpiredSlots() scales it after the window",
      async () => {
        const now = new Date("2026-06-01T00:00:00.000Z");
        const s = await scheduleCleanup(k, { target, service, slot: "green", now });
        assert.deepEqual(s, {
          deployment: "analysis-service-green",
          deleteAfter: new Date(now.getTime() + target.rollbackWindowMs).toISOString(),
        });
        const green = await k.get(DEPLOYMENT, NS, "analysis-service-green");
        assert.equal(green?.metadata.annotations?.[DELETE_AFTER_ANNOTATION], s?.deleteAfter);
        // the live slot is never scaled down, even if marked
        await scheduleCleanup(k, { target, service, slot: "blue", now });
        assert.deepEqual(await cleanupExpiredSlots(k, { target, now }), []);
        const later = new Date(now.getTime() + target.rollbackWindowMs + 1);
        assert.deepEqual(await cleanupExpiredSlots(k, { target, now: later }), [
          "analysis-service-green",
        ]);
        const scaled = await k.get(DEPLOYMENT, NS, "analysis-service-green");
        assert.equal((scaled?.spec as { replicas: number }).replicas, 0);
        assert.equal(scaled?.metadata.annotations?.[DELETE_AFTER_ANNOTATION], undefined);
        const blue = await k.get(DEPLOYMENT, NS, "analysis-service-blue");
        assert.equal((blue?.spec as { replicas: number }).replicas, 1);
        assert.equal(
          await scheduleCleanup(k, { target, service: "file-watcher", slot: "blue" }),
          null,
        );
        // deploying to a slot marked for clean-up takes the mark off: it is in use again
        await scheduleCleanup(k, { target, service, slot: "green", now });
        const d = await deployIdleSlot(k, {
          target,
          service,
          version: "1.2.0",
          ...FAST,
        });
        assert.equal(d.slot, "green");
        const reused = await k.get(DEPLOYMENT, NS, "analysis-service-green");
        assert.equal(reused?.metadata.annotations?.[DELETE_AFTER_ANNOTATION], undefined);
        assert.equal((reused?.spec as { replicas: number }).replicas, 1, "scaled back up");
        assert.deepEqual(await cleanupExpiredSlots(k, { target, now: later }), []);
      },
    );

    await t.step("verifySlotHealth() reports a slot without ready pods as unhealthy", async () => {
      const h = await verifySlotHealth(k, {
        target,
        service: "file-watcher",
        slot: "green",
        retries: 2,
        intervalMs: 20,
      });
      assert.equal(h.healthy, false);
      assert.match(h.message, /file-watcher-green: no ready pods \(0 pods\) after 2 attempts/);
    });
  }, { timeScale: 300 });
});

Deno.test("deployIdleSlot() fails a crash-looping version at its progress deadline", async () => {
  const target = await targetOf("staging");
  await withCluster(async ({ proxied: k }) => {
    await assert.rejects(
      deployIdleSlot(k, { target, service: "file-watcher", version: "2.0.0", ...FAST }),
      /Cannot deploy file-watcher 2\.0\.0 to slot blue: Deployment tracktion-staging\/file-watcher-blue: deployment "file-watcher-blue" exceeded its progress deadline/,
    );
    const h = await verifySlotHealth(k, {
      target,
      service: "file-watcher",
      slot: "blue",
      retries: 2,
      intervalMs: 20,
    });
    assert.equal(h.healthy, false, "a crash-looping slot never counts as healthy");
    assert.equal(
      await liveSlot(k, { target, service: "file-watcher" }),
      null,
      "no traffic was moved",
    );
  }, { scenario: "crashloop", timeScale: 600 });
});

/** Requests pods of a slot answered in the last `window` (sandbox time), from the sandbox. */
async function requests(
  sandbox: { url: string; kubeconfigPath: string },
  selector: string,
  window: string,
): Promise<number> {
  const token = /token: (\S+)/.exec(await Deno.readTextFile(sandbox.kubeconfigPath))?.[1];
  const url = new URL(`${sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements`);
  url.searchParams.set("labelSelector", selector);
  url.searchParams.set("window", window);
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return (await response.json()).requests;
}

Deno.test("setWeights() and rollbackService() move real simulated traffic between slots", async () => {
  const target = await targetOf("development");
  const service = "tracklist-service";
  const blue = `service=${service},slot=blue`;
  const green = `service=${service},slot=green`;
  await withCluster(async ({ proxied: k, sandbox }) => {
    await deployIdleSlot(k, { target, service, version: "1.0.0", ...FAST });
    await switchService(k, { target, service, slot: "blue" });
    // the route first: the sandbox sends traffic to any Service no route refers to
    await setWeights(k, { target, service, weights: { blue: 100, green: 0 } });
    await deployIdleSlot(k, { target, service, version: "1.1.0", ...FAST });
    await poll(() => requests(sandbox, blue, "10m"), (n) => n > 20, { what: "blue traffic" });
    assert.equal(await requests(sandbox, green, "10m"), 0, "weight 0 and no selector: no traffic");
    await setWeights(k, { target, service, weights: { blue: 0, green: 100 } });
    await poll(() => requests(sandbox, green, "10m"), (n) => n > 10, { what: "green traffic" });
    await rollbackService(k, { target, service, slot: "blue" });
    // after the rollback, a short recent window sees blue traffic only
    await poll(
      async () => [await requests(sandbox, green, "20s"), await requests(sandbox, blue, "20s")],
      ([g, b]) => g === 0 && b! > 0,
      { what: "traffic back on blue only", timeoutMs: 60_000, intervalMs: 200 },
    );
  }, { timeScale: 60, trafficRate: 2 });
});

Deno.test("strategies on a dry-run capability validate on the server and change nothing", async () => {
  const target = await targetOf("development");
  const service = "file-watcher";
  await withCluster(async ({ k, capability }) => {
    const dry = acrossWorkerBoundary(capability({ dryRun: true }));
    const d = await deployIdleSlot(dry, {
      target,
      service,
      version: "3.0.0",
      ...FAST,
      dryRun: true,
    });
    assert.equal(d.slot, "blue");
    assert.match(
      d.rollout.message,
      /^dry run: Deployment tracktion-dev\/file-watcher-blue validated/,
    );
    const h = await verifySlotHealth(dry, { target, service, slot: "blue", dryRun: true });
    assert.deepEqual([h.healthy, h.skipped, h.attempts], [false, true, 0]);
    const s = await switchService(dry, { target, service, slot: "blue", dryRun: true });
    assert.deepEqual([s.slot, s.previousSlot, s.activePods], ["blue", null, 0]);
    await setWeights(dry, { target, service, weights: { blue: 95, green: 5 } });
    await recordDeployment(dry, {
      target,
      version: "3.0.0",
      runId: "dry",
      slots: { [service]: "blue" },
    });
    for (
      const [kind, name] of [
        [DEPLOYMENT, "file-watcher-blue"],
        [SERVICE, "file-watcher-blue"],
        [SERVICE, "file-watcher"],
        [ROUTE, "file-watcher"],
        [{ apiVersion: "v1", kind: "ConfigMap" }, "deployment-info"],
      ] as const
    ) {
      assert.equal(await k.get(kind, NS, name), null, `${kind.kind} ${name} was not created`);
    }
    // the server still validates: a bad manifest is refused on a dry run too
    await assert.rejects(
      dry.apply({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "bad", namespace: NS },
        spec: { replicas: "x" },
      }),
      /Cannot apply Deployment tracktion-dev\/bad: 400/,
    );
  });
});

Deno.test("deployIdleSlot() in a canary environment routes all traffic to the live slot first", async () => {
  const target = await targetOf("production");
  const service = "notification-service";
  await withCluster(async ({ proxied: k }) => {
    await deployIdleSlot(k, { target, service, version: "1.0.0", ...FAST });
    assert.equal(
      await currentWeights(k, { target, service }),
      null,
      "first deploy: no route needed",
    );
    await switchService(k, { target, service, slot: "blue" });
    const d = await deployIdleSlot(k, { target, service, version: "1.1.0", ...FAST });
    assert.equal(d.slot, "green");
    assert.deepEqual(await currentWeights(k, { target, service }), {
      blue: 100,
      green: 0,
    });
    // an existing route is left alone
    await setWeights(k, { target, service, weights: { blue: 80, green: 20 } });
    await deployIdleSlot(k, { target, service, version: "1.1.1", ...FAST });
    assert.deepEqual(await currentWeights(k, { target, service }), {
      blue: 80,
      green: 20,
    });
  });
});

Deno.test("verifySlotHealth() stops retrying when its signal aborts", async () => {
  const target = await targetOf("development");
  await withCluster(async ({ proxied: k }) => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const h = await verifySlotHealth(k, {
      target,
      service: "file-watcher",
      slot: "blue",
      retries: 100,
      intervalMs: 5_000,
      signal: controller.signal,
    });
    assert.equal(h.healthy, false);
    assert.match(h.message, /\(aborted\)$/);
    assert.ok(Date.now() - started < 4_000, "did not wait out the interval");
  });
});

Deno.test("rollingUpdate() updates the live slot in place with the Deployment's rolling update", async () => {
  const target = await targetOf("development");
  const service = "file-watcher";
  await withCluster(async ({ proxied: k }) => {
    const first = await rollingUpdate(k, { target, service, version: "1.0.0", ...FAST });
    assert.deepEqual([first.slot, first.previousSlot, first.version], ["blue", null, "1.0.0"]);
    assert.equal(first.previousVersion, undefined, "a first deploy replaces nothing");
    await switchService(k, { target, service, slot: "blue" });
    const r = await rollingUpdate(k, { target, service, version: "v1.1.0", ...FAST });
    assert.deepEqual(
      [r.slot, r.previousSlot, r.version, r.previousVersion],
      ["blue", "blue", "1.1.0", "1.0.0"],
    );
    assert.equal(r.rollout.message, 'deployment "file-watcher-blue" successfully rolled out');
    const blue = await k.get(DEPLOYMENT, NS, "file-watcher-blue");
    assert.equal(blue?.metadata.labels?.version, "1.1.0");
    assert.deepEqual((blue?.spec as { strategy: unknown }).strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
    });
    assert.equal(await k.get(DEPLOYMENT, NS, "file-watcher-green"), null, "no second slot");
    assert.equal(await liveSlot(k, { target, service }), "blue", "traffic never moved");
    const h = await verifySlotHealth(k, {
      target,
      service,
      slot: "blue",
      ...HEALTH,
      version: "1.1.0",
    });
    assert.equal(h.healthy, true, h.message);
  });
});

Deno.test("rollingUpdate() fails, naming the Deployment, when the rollout does not finish in time", async () => {
  const target = await targetOf("development");
  const service = "file-watcher";
  await withCluster(async ({ proxied: k }) => {
    await rollingUpdate(k, { target, service, version: "1.0.0", ...FAST });
    await switchService(k, { target, service, slot: "blue" });
    await assert.rejects(
      rollingUpdate(k, { target, service, version: "1.1.0", timeoutMs: 200, ...FAST }),
      /^Error: Cannot roll file-watcher 1\.1\.0 out on slot blue: Deployment tracktion-dev\/file-watcher-blue: timed out after 200 ms: Waiting for deployment "file-watcher-blue" rollout to finish/,
    );
    assert.equal(await liveSlot(k, { target, service }), "blue");
  }, { scenario: "slow-rollout", timeScale: 60 });
});
