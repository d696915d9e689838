// The Kubernetes layer's retries against a real sandbox under api-chaos: every fault class
// seen and survived (over HTTP on a scaled clock, and in-process on a virtual one), a 409
// re-read, Retry-After waited on the clock, a POST never duplicated and never taken for
// someone else's, a call that keeps failing named with its attempts and last status, and a
// watch that resumes and re-lists.
import assert from "node:assert/strict";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { KubeClient } from "../../lib/kubernetes/client.ts";
import { KubernetesApiError } from "../../lib/kubernetes/errors.ts";
import type { KubeObject } from "../../lib/kubernetes/capability.ts";
import type { RetryEvent } from "../../lib/kubernetes/retry.ts";
import { type WatchEvent, watchObjects } from "../../lib/kubernetes/watch.ts";
import { type Clock, virtualClock } from "../../lib/clock/mod.ts";
import { V1MicroTime } from "@kubernetes/client-node";

const CM = { apiVersion: "v1", kind: "ConfigMap" };
const NS = "default";

async function withChaos(
  scenario: string,
  fn: (s: Sandbox) => Promise<void>,
  o: { clock?: Clock; seed?: number } = {},
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "retry-test-" });
  const s = await startSandbox({
    stateDir,
    reset: true,
    trafficRate: 0,
    scenario,
    randomSeed: o.seed ?? 3,
    ...(o.clock ? { clock: o.clock } : { timeScale: 240 }),
  });
  try {
    await fn(s);
  } finally {
    await s.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

function dataOf(o: KubeObject | null): Record<string, string> {
  return (o?.data ?? {}) as Record<string, string>;
}

function configMap(name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data };
}

/** Creates, applies, merge-patches, reads, lists, deletes, and takes and renews a Lease. */
async function workload(client: KubeClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const name = `cm-${i}`;
    await client.create(configMap(name, { v: "0" }));
    await client.apply(configMap(name, { v: "1" }));
    await client.patch(CM, NS, name, { patch: { data: { w: "2" } }, type: "merge" });
    const got = await client.get(CM, NS, name);
    assert.deepEqual(got?.data, { v: "1", w: "2" });
  }
  const names = (await client.list(CM, NS)).map((o) => o.metadata.name).filter((x) =>
    x.startsWith("cm-")
  );
  assert.equal(names.length, n);
  for (let i = 0; i < n; i += 2) assert.equal(await client.delete(CM, NS, `cm-${i}`), true);
  assert.equal(
    (await client.list(CM, NS)).filter((o) => o.metadata.name.startsWith("cm-")).length,
    n / 2,
  );
  // the Lease calls of lease.ts go through the same library
  const now = new V1MicroTime(client.clock.now());
  await client.coordination.createNamespacedLease({
    namespace: NS,
    body: {
      metadata: { name: "lock", namespace: NS },
      spec: { holderIdentity: "me", leaseDurationSeconds: 30, renewTime: now, acquireTime: now },
    },
  });
  for (let i = 0; i < 5; i++) {
    const lease = await client.coordination.readNamespacedLease({ namespace: NS, name: "lock" });
    lease.spec!.renewTime = new V1MicroTime(client.clock.now());
    lease.spec!.leaseDurationSeconds = 30 + i;
    await client.coordination.replaceNamespacedLease({ namespace: NS, name: "lock", body: lease });
  }
  const lease = await client.coordination.readNamespacedLease({ namespace: NS, name: "lock" });
  assert.equal(lease.spec?.leaseDurationSeconds, 34);
  assert.equal(lease.spec?.holderIdentity, "me");
}

const CLASSES = ["internal", "unavailable", "timeout", "conflict", "throttle", "slow"] as const;

Deno.test({
  name: "retry: under api-chaos at 40% (HTTP, scaled clock) every fault class is met and survived",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos(
      "api-chaos:40%/internal+unavailable+timeout+conflict+throttle+slow",
      async (s) => {
        const events: RetryEvent[] = [];
        const client = KubeClient.connect(s.kubeconfigPath, {
          clock: s.clock,
          onRetry: (e) => events.push(e),
        });
        await workload(client, 12);
        for (const f of CLASSES) {
          assert.ok(s.apiChaos!.faults[f] > 0, `no ${f}: ${JSON.stringify(s.apiChaos)}`);
        }
        const statuses = new Set(events.map((e) => e.status));
        for (const code of [0, 409, 429, 500, 503, 504]) {
          assert.ok(statuses.has(code), `no retry of ${code}`);
        }
        assert.ok(events.some((e) => e.status === 0 && /timed out after 20000 ms/.test(e.reason)));
      },
    );
  },
});

Deno.test({
  name:
    "retry: on a virtual clock (in-process) slow answers are waited on the clock, backoffs too, nothing deadlocks",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const clock = virtualClock({ startMs: Date.UTC(2026, 0, 1) });
    await withChaos("api-chaos:40%", async (s) => {
      const events: RetryEvent[] = [];
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock,
        transport: s.handle,
        onRetry: (e) => events.push(e),
      });
      const t0 = clock.now();
      const real0 = performance.now();
      await workload(client, 8);
      const slow = s.apiChaos!.faults.slow;
      assert.ok(slow > 0, JSON.stringify(s.apiChaos));
      // each slow answer cost its 20 s timeout on the clock, not in real time
      assert.ok(clock.since(t0) >= slow * 20_000, `${clock.since(t0)} ms for ${slow} slow`);
      assert.ok(performance.now() - real0 < slow * 20_000, "a virtual wait took real time");
      assert.ok(events.length > 0);
    }, { clock });
  },
});

Deno.test({
  name:
    "retry: a 409 on a conditional update is re-read: sent again when nothing changed, the caller's when someone else changed it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:50%/conflict", async (s) => {
      const events: RetryEvent[] = [];
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        onRetry: (e) => events.push(e),
      });
      await client.create(configMap("c", { v: "0" }));
      for (let i = 1; i <= 6; i++) {
        const current = await client.core.readNamespacedConfigMap({ namespace: NS, name: "c" });
        await client.core.replaceNamespacedConfigMap({
          namespace: NS,
          name: "c",
          body: { ...current, data: { v: String(i) } },
        });
      }
      assert.equal(dataOf(await client.get(CM, NS, "c")).v, "6");
      assert.ok(events.some((e) => e.status === 409 && e.call.startsWith("PUT")), "no 409 met");
      // a real conflict: another writer changed it after we read it
      const stale = await client.core.readNamespacedConfigMap({ namespace: NS, name: "c" });
      await client.apply(configMap("c", { v: "theirs" }));
      await assert.rejects(
        client.core.replaceNamespacedConfigMap({
          namespace: NS,
          name: "c",
          body: { ...stale, data: { v: "mine" } },
        }),
        (e: { code?: number }) => e.code === 409,
      );
      assert.equal(dataOf(await client.get(CM, NS, "c")).v, "theirs");
    });
  },
});

Deno.test({
  name: "retry: a 429's Retry-After is waited on the clock before the next attempt",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:30%/throttle", async (s) => {
      const seen: { at: number; status: number; after: number }[] = [];
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        transport: async (request) => {
          const at = s.clock.now();
          const res = await s.handle(request);
          seen.push({ at, status: res.status, after: Number(res.headers.get("retry-after") ?? 0) });
          return res;
        },
      });
      for (let i = 0; i < 20; i++) await client.get(CM, NS, `nothing-${i}`);
      const throttled = seen.map((x, i) => ({ ...x, next: seen[i + 1] })).filter((x) =>
        x.status === 429 && x.next
      );
      assert.ok(throttled.length >= 3, `${throttled.length} throttled`);
      for (const t of throttled) {
        assert.ok(t.after >= 1);
        // now() stamps real time on a scaled clock: since() measures target time; a timer
        // may fire within its 1 real ms granularity (×240: 240 target ms) of its due time
        const waited = s.clock.since(t.at) - s.clock.since(t.next!.at);
        assert.ok(waited >= t.after * 1000 - s.clock.scale, `waited ${waited} ms of ${t.after} s`);
      }
    });
  },
});

Deno.test({
  name:
    "retry: a POST whose answer was lost is not duplicated; someone else's object of that name is not taken for ours",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:40%/timeout+slow", async (s) => {
      const events: RetryEvent[] = [];
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        transport: s.handle,
        onRetry: (e) => events.push(e),
      });
      for (let i = 0; i < 10; i++) {
        const made = await client.create(configMap(`p-${i}`, { i: String(i) }));
        assert.equal(made.metadata.name, `p-${i}`);
      }
      assert.ok(
        events.some((e) => e.call.startsWith("POST") && (e.status === 504 || e.status === 0)),
      );
      const mine = (await client.list(CM, NS)).filter((o) => o.metadata.name.startsWith("p-"));
      assert.equal(mine.length, 10);
    });
    await withChaos("none", async (s) => {
      // the first POST is refused unanswered (503), and meanwhile another writer creates it
      let first = true;
      const other = KubeClient.connect(s.kubeconfigPath, { clock: s.clock });
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        transport: async (request) => {
          if (request.method === "POST" && first) {
            first = false;
            await other.create(configMap("x", { owner: "other" }));
            return new Response(JSON.stringify({ kind: "Status", code: 503 }), { status: 503 });
          }
          return await s.handle(request);
        },
      });
      await assert.rejects(
        client.create(configMap("x", { owner: "me" })),
        (e: KubernetesApiError) => e.status === 409 && e.reason === "AlreadyExists",
      );
      assert.equal(dataOf(await client.get(CM, NS, "x")).owner, "other");
    });
  },
});

Deno.test({
  name:
    "retry: a call that keeps failing ends naming the call, its attempts and last status, no credentials",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%/unavailable", async (s) => {
      const token = /token: (\S+)/.exec(await Deno.readTextFile(s.kubeconfigPath))![1]!;
      const events: RetryEvent[] = [];
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        onRetry: (e) => events.push(e),
      });
      const error = await client.get(CM, NS, "c").then(() => undefined, (e) => e);
      assert.ok(error instanceof KubernetesApiError);
      assert.match(error.message, /^Cannot get ConfigMap default\/c: /);
      assert.match(error.message, /503 ServiceUnavailable/);
      assert.match(error.message, /gave up after 8 attempts/);
      assert.equal(error.status, 503);
      assert.ok(!error.message.includes(token));
      // the first request (discovery of v1) is the one that gave up: 7 retries, then the error
      assert.equal(events.length, 7);
      assert.ok(events.every((e) => e.call === "GET /api/v1" && e.status === 503));
    });
  },
});

Deno.test({
  name:
    "retry: no answer at all (slow past the timeout, every attempt) is an Error naming the call and attempts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%/slow", async (s) => {
      const client = KubeClient.connect(s.kubeconfigPath, {
        clock: s.clock,
        retry: { attempts: 2 },
      });
      const error = await client.list(CM, NS).then(() => undefined, (e) => e);
      assert.ok(error instanceof KubernetesApiError, String(error));
      assert.equal(error.status, 0);
      assert.match(error.message, /^Cannot list ConfigMap objects in namespace default: /);
      assert.match(
        error.message,
        /GET \/api\/v1: no answer after 2 attempts \(last: timed out after 20000 ms\)/,
      );
    });
  },
});

Deno.test({
  name:
    "watch: dropped streams resume from the last resourceVersion, a 410 re-lists, every change is seen",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%/watch-drop+watch-expired", async (s) => {
      const client = KubeClient.connect(s.kubeconfigPath, { clock: s.clock, transport: s.handle });
      const seen = new Map<string, string>();
      const done = new AbortController();
      const watching = watchObjects(client, CM, NS, {
        signal: done.signal,
        onEvent: (e: WatchEvent) => {
          if (e.type === "relist") return;
          if (e.type === "DELETED") seen.delete(e.object!.metadata.name);
          else seen.set(e.object!.metadata.name, String(dataOf(e.object!).v));
          return [...Array(8).keys()].every((i) => seen.get(`w-${i}`) === "3");
        },
      });
      for (let round = 0; round <= 3; round++) {
        for (let i = 0; i < 8; i++) await client.apply(configMap(`w-${i}`, { v: String(round) }));
        await s.clock.sleep(2_000);
      }
      const stats = await Promise.race([
        watching,
        s.clock.sleep(600_000).then(() => {
          throw new Error(`the watch missed changes: ${JSON.stringify([...seen])}`);
        }),
      ]);
      done.abort();
      assert.ok(stats.resumes > 0, JSON.stringify(stats));
      assert.ok(stats.relists > 0, JSON.stringify(stats));
      assert.ok(s.apiChaos!.faults["watch-drop"] > 0 && s.apiChaos!.faults["watch-expired"] > 0);
    });
  },
});
