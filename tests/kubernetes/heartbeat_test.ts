/**
 * The deploy lock's heartbeat against a real sandbox: a short lease stays held past its
 * duration while renewed; released, it stops being renewed; a runner that stops renewing
 * frees it one lease duration after its last renewal; renewals that fail past the renew
 * deadline fail the run closed (changes refused, nothing changed) until a renewal proves
 * the lease is still ours; a lease someone else took is lost for good.
 *
 * Bounds: every wait is a multiple of the lease's own timings (`heartbeatTimings`), polled,
 * with a generous ceiling: a busy machine only makes them slower, never wrong.
 */
import assert from "node:assert/strict";
import { heartbeatTimings, LeaseLostError } from "../../lib/kubernetes/heartbeat.ts";
import type { KubernetesCapability, LeaseHandle } from "../../lib/kubernetes/capability.ts";
import { testDeployment, withCluster } from "./_helpers.ts";

/** Calls `read` every `intervalMs` until it gives a value, or throws after `timeoutMs`. */
async function until<T>(
  read: () => T | undefined | Promise<T | undefined>,
  o: { timeoutMs: number; intervalMs: number },
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  while (true) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${o.timeoutMs} ms`);
    await sleep(o.intervalMs);
  }
}

const NS = "tracktion-staging";
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" };
const SECONDS = 3;
const T = heartbeatTimings(SECONDS);

async function renewTime(k: KubernetesCapability, name: string): Promise<number> {
  const lease = await k.get(LEASE, NS, name);
  return Date.parse(String((lease?.spec as { renewTime?: string }).renewTime));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a held lease is renewed past its duration, and no longer once released", async () => {
  await withCluster(async ({ k, capability }) => {
    const stop = new AbortController();
    const runner = capability({ heartbeat: { stopped: stop.signal } });
    try {
      const lease = await runner.acquireLease(NS, "beat", {
        holder: "ann/run-1",
        durationSeconds: SECONDS,
        exact: true,
      });
      const first = await renewTime(k, "beat");
      // Past the lease's whole duration: only renewals keep it ours.
      await sleep(SECONDS * 1000 + T.renewEveryMs);
      assert.ok(await renewTime(k, "beat") > first, "renewed");
      await assert.rejects(
        k.acquireLease(NS, "beat", { holder: "bob/run-2", durationSeconds: SECONDS }),
        /held by ann for run run-1 since .* until .*deno task resume run-1/,
      );
      await runner.releaseLease(lease);
      const released = await renewTime(k, "beat");
      await sleep(2 * T.renewEveryMs);
      assert.equal(await renewTime(k, "beat"), released, "not renewed after release");
      await k.acquireLease(NS, "beat", { holder: "bob/run-2", durationSeconds: SECONDS });
    } finally {
      stop.abort();
    }
  });
});

Deno.test("a runner that stops renewing frees its lock one lease duration after its last renewal", async () => {
  await withCluster(async ({ k, capability }) => {
    const stop = new AbortController();
    const runner = capability({ heartbeat: { stopped: stop.signal } });
    await runner.acquireLease(NS, "dead", {
      holder: "ann/run-1",
      durationSeconds: SECONDS,
      exact: true,
    });
    await sleep(T.renewEveryMs * 2);
    stop.abort(); // the runner is gone: nothing renews it
    const last = await renewTime(k, "dead");
    const taken = await until(
      () =>
        k.acquireLease(NS, "dead", { holder: "bob/run-2", durationSeconds: SECONDS })
          .then(() => Date.now(), () => undefined),
      { timeoutMs: SECONDS * 1000 * 10, intervalMs: 50 },
    );
    const free = taken - last;
    assert.ok(free >= SECONDS * 1000 - 50, `not before the lease expired (${free} ms)`);
  });
});

Deno.test("renewals failing past the deadline fail the run closed, until one proves the lease is ours", async () => {
  await withCluster(async ({ sandbox, capability }) => {
    const stop = new AbortController();
    let broken = false;
    const lost: Error[] = [];
    const runner = capability({
      transport: (request) =>
        broken ? Promise.reject(new TypeError("connection refused")) : sandbox.handle(request),
      heartbeat: { stopped: stop.signal, onLost: (e) => lost.push(e) },
    });
    try {
      await runner.acquireLease(NS, "flaky", {
        holder: "ann/run-1",
        durationSeconds: SECONDS,
        exact: true,
      });
      broken = true;
      const brokenAt = Date.now();
      await until(() => lost.length > 0 || undefined, {
        timeoutMs: SECONDS * 1000 * 10,
        intervalMs: 20,
      });
      assert.ok(Date.now() - brokenAt >= T.deadlineMs - T.renewEveryMs, "not before the deadline");
      assert.equal(lost.length, 1);
      assert.ok(lost[0] instanceof LeaseLostError);
      assert.match(
        lost[0]!.message,
        /lost its deploy lock: .*not renewed for \d+ s .*renew deadline is 2 s of a 3 s lease/,
      );
      broken = false;
      // Lost: a change is refused before any request is made.
      await assert.rejects(
        runner.apply(testDeployment(NS, "after-loss")),
        (e: Error) =>
          e instanceof LeaseLostError &&
          /Cannot apply Deployment .*Nothing was changed/.test(e.message),
      );
      // The next renewal shows the lease is still ours (nobody took it): changes resume.
      await until(
        () => runner.apply(testDeployment(NS, "after-regain")).then(() => true, () => undefined),
        { timeoutMs: SECONDS * 1000 * 10, intervalMs: 20 },
      );
      assert.equal(lost.length, 1, "told once");
    } finally {
      stop.abort();
    }
  });
});

Deno.test("a lease someone else took is lost for good: changes stay refused", async () => {
  await withCluster(async ({ k, capability }) => {
    const stop = new AbortController();
    const lost: Error[] = [];
    const runner = capability({ heartbeat: { stopped: stop.signal, onLost: (e) => lost.push(e) } });
    try {
      const lease: LeaseHandle = await runner.acquireLease(NS, "stolen", {
        holder: "ann/run-1",
        durationSeconds: SECONDS,
        exact: true,
      });
      assert.equal(lease.holder, "ann/run-1");
      await k.delete(LEASE, NS, "stolen");
      await k.acquireLease(NS, "stolen", { holder: "bob/run-2", durationSeconds: 600 });
      await until(() => lost.length > 0 || undefined, {
        timeoutMs: SECONDS * 1000 * 10,
        intervalMs: 20,
      });
      assert.match(lost[0]!.message, /another holder took the lock .*stolen/);
      await sleep(2 * T.renewEveryMs);
      await assert.rejects(runner.delete(LEASE, NS, "stolen"), LeaseLostError);
      const spec = (await k.get(LEASE, NS, "stolen"))?.spec as { holderIdentity?: string };
      assert.equal(spec.holderIdentity, "bob/run-2", "the other holder keeps it");
    } finally {
      stop.abort();
    }
  });
});
