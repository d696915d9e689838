import assert from "node:assert/strict";
import { KubeClient } from "../../lib/kubernetes/client.ts";
import { acquireLease, releaseLease, renewLease } from "../../lib/kubernetes/lease.ts";
import { LeaseHeldError } from "../../lib/kubernetes/errors.ts";
import { withCluster } from "./_helpers.ts";

const NS = "tracktion-staging";
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" };

Deno.test("acquireLease() locks, refuses others, expires, renews and releases", async (t) => {
  await withCluster(async ({ k, capability }) => {
    let first!: Awaited<ReturnType<typeof k.acquireLease>>;

    await t.step("creates the Lease when missing, with MicroTime renewTime", async () => {
      first = await k.acquireLease(NS, "deploy-lock", { holder: "run-a", durationSeconds: 30 });
      assert.equal(first.holder, "run-a");
      const expires = Date.parse(first.expiresAt);
      assert.ok(expires > Date.now() + 25_000 && expires <= Date.now() + 31_000);
      const lease = await k.get(LEASE, NS, "deploy-lock");
      const spec = lease?.spec as Record<string, unknown>;
      assert.equal(spec.holderIdentity, "run-a");
      assert.equal(spec.leaseDurationSeconds, 30);
      assert.match(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    });

    await t.step("refuses another holder while held, naming the holder and expiry", async () => {
      await assert.rejects(
        k.acquireLease(NS, "deploy-lock", { holder: "run-b", durationSeconds: 30 }),
        (error: Error) => {
          assert.ok(error instanceof LeaseHeldError);
          assert.equal(error.holder, "run-a");
          assert.match(
            error.message,
            /^Cannot acquire Lease tracktion-staging\/deploy-lock: held by run-a since \d{4}-.* until \d{4}-.*a dead runner's lock is free at \d{4}-/,
          );
          return true;
        },
      );
    });

    await t.step("the holder may take it again (renewal keeps acquireTime)", async () => {
      const before = (await k.get(LEASE, NS, "deploy-lock"))?.spec as Record<string, unknown>;
      const renewed = await k.renewLease(first);
      assert.equal(renewed.holder, "run-a");
      const after = (await k.get(LEASE, NS, "deploy-lock"))?.spec as Record<string, unknown>;
      assert.equal(after.acquireTime, before.acquireTime);
      assert.equal(after.leaseTransitions, before.leaseTransitions);
      first = renewed;
    });

    await t.step("release sets the duration to 1 s and frees it for others", async () => {
      await k.releaseLease(first);
      const spec = (await k.get(LEASE, NS, "deploy-lock"))?.spec as Record<string, unknown>;
      assert.equal(spec.leaseDurationSeconds, 1);
      assert.equal(spec.holderIdentity, "");
      const b = await k.acquireLease(NS, "deploy-lock", { holder: "run-b", durationSeconds: 1 });
      assert.equal(b.holder, "run-b");
      const after = (await k.get(LEASE, NS, "deploy-lock"))?.spec as Record<string, unknown>;
      assert.equal(after.leaseTransitions, 1);
      await assert.rejects(k.renewLease(first), /no longer held by "run-a" \(held by "run-b"\)/);
    });

    await t.step("an expired hold is taken over", async () => {
      // run-b held it for 1 s and did not renew
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      const c = await k.acquireLease(NS, "deploy-lock", { holder: "run-c", durationSeconds: 60 });
      assert.equal(c.holder, "run-c");
      const spec = (await k.get(LEASE, NS, "deploy-lock"))?.spec as Record<string, unknown>;
      assert.equal(spec.holderIdentity, "run-c");
      assert.equal(spec.leaseTransitions, 2);
    });

    await t.step("dry run checks but writes nothing", async () => {
      const dry = capability({ dryRun: true });
      await assert.rejects(
        dry.acquireLease(NS, "deploy-lock", { holder: "run-d", durationSeconds: 5 }),
        LeaseHeldError,
      );
      await dry.acquireLease(NS, "other-lock", { holder: "run-d", durationSeconds: 5 });
      assert.equal(await k.get(LEASE, NS, "other-lock"), null);
    });

    await t.step("bad input is refused before any call", async () => {
      await assert.rejects(
        k.acquireLease(NS, "x", { holder: "h", durationSeconds: 0 }),
        RangeError,
      );
      await assert.rejects(k.acquireLease(NS, "x", { holder: "", durationSeconds: 5 }), TypeError);
    });
  });
});

Deno.test("acquireLease() refuses when another holder wins the update race (409)", async () => {
  await withCluster(async ({ sandbox }) => {
    const client = KubeClient.connect(sandbox.kubeconfigPath);
    const lease = { namespace: NS, name: "race" };
    // An expired hold by someone else: both racers may take it over.
    const old = new Date(Date.now() - 120_000);
    await acquireLease(client, lease, {
      holder: "dead-runner",
      durationSeconds: 5,
      now: () => old,
    });
    // Racer A reads the lease; before A writes, racer B takes it over (a real update).
    const coordination = client.coordination;
    const realRead = coordination.readNamespacedLease.bind(coordination);
    let interleaved = false;
    coordination.readNamespacedLease = async (...args: Parameters<typeof realRead>) => {
      const stale = await realRead(...args);
      if (!interleaved) {
        interleaved = true;
        const other = KubeClient.connect(sandbox.kubeconfigPath);
        await acquireLease(other, lease, { holder: "runner-b", durationSeconds: 30 });
      }
      return stale;
    };
    await assert.rejects(
      acquireLease(client, lease, { holder: "runner-a", durationSeconds: 30 }),
      (error: Error) => {
        assert.ok(error instanceof LeaseHeldError);
        assert.match(error.message, /409 Conflict\): another holder won/);
        return true;
      },
    );
    coordination.readNamespacedLease = realRead;
    const now = await client.coordination.readNamespacedLease({ namespace: NS, name: "race" });
    assert.equal(now.spec?.holderIdentity, "runner-b");
    // Releasing a lease that is no longer ours leaves it alone.
    const released = await releaseLease(client, {
      ...lease,
      holder: "runner-a",
      expiresAt: new Date().toISOString(),
    });
    assert.equal(released, false);
  });
});

Deno.test("acquireLease() lets exactly one of two concurrent runners win", async () => {
  await withCluster(async ({ k }) => {
    const results = await Promise.allSettled([
      k.acquireLease(NS, "concurrent", { holder: "one", durationSeconds: 30 }),
      k.acquireLease(NS, "concurrent", { holder: "two", durationSeconds: 30 }),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok((lost[0] as PromiseRejectedResult).reason instanceof LeaseHeldError);
  });
});

Deno.test("releaseLease() releases even when its own renewal lands between read and write (409)", async () => {
  await withCluster(async ({ sandbox }) => {
    const client = KubeClient.connect(sandbox.kubeconfigPath);
    const held = await acquireLease(client, { namespace: NS, name: "renewing" }, {
      holder: "runner-a",
      durationSeconds: 30,
    });
    // The heartbeat's renewal was in flight when the run released: it lands after release
    // read the lease, so release's write conflicts.
    const coordination = client.coordination;
    const realRead = coordination.readNamespacedLease.bind(coordination);
    let renewed = 0;
    coordination.readNamespacedLease = async (...args: Parameters<typeof realRead>) => {
      const stale = await realRead(...args);
      if (renewed++ === 0) await renewLease(KubeClient.connect(sandbox.kubeconfigPath), held);
      return stale;
    };
    assert.equal(await releaseLease(client, held), true);
    coordination.readNamespacedLease = realRead;
    const now = await client.coordination.readNamespacedLease({ namespace: NS, name: "renewing" });
    assert.equal(now.spec?.holderIdentity, "", "released, not left held by runner-a");
    assert.equal(now.spec?.leaseDurationSeconds, 1);
    assert.ok(renewed >= 2, "it read the lease again after the conflict");
  });
});
