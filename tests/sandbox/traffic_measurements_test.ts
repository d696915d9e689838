// The recorded measurements (real requests, real or scaled clocks) answer the same fields as
// the drawn model: the window measured, requests over a threshold, a latency sample.
import assert from "node:assert/strict";
import { Measurements } from "../../lib/sandbox/measurements.ts";
import { TrafficGenerator } from "../../lib/sandbox/traffic.ts";
import { latencySummary } from "../../lib/sandbox/traffic_stats.ts";
import { Store } from "../../lib/sandbox/store.ts";
import { Api } from "../../lib/sandbox/api.ts";
import { scaledClock, virtualClock } from "../../lib/clock/mod.ts";

const NS = "shop";

Deno.test("Measurements: window, over and latencies of the recorded requests", async () => {
  const clock = virtualClock({ startMs: Date.UTC(2026, 0, 1) });
  const m = new Measurements(clock);
  // 100 old requests (outside a 60 s window), then 1..200 ms on green and 5xx on blue.
  for (let i = 0; i < 100; i++) {
    m.record(NS, { at: clock.now(), status: 200, latencyMs: 5000, labels: { slot: "green" } });
  }
  await clock.sleep(120_000);
  for (let i = 1; i <= 200; i++) {
    m.record(NS, { at: clock.now(), status: 200, latencyMs: i, labels: { slot: "green" } });
    m.record(NS, { at: clock.now(), status: 503, latencyMs: 10, labels: { slot: "blue" } });
  }
  await clock.sleep(1_000);
  const green = m.measure(NS, {
    window: "60s",
    labelSelector: "slot=green",
    over: 150,
    samples: 20,
  });
  assert.equal(green.requests, 200);
  assert.equal(green.errors, 0);
  assert.equal(green.p95Ms, 190);
  assert.equal(green.over, 50);
  assert.equal(green.windowMs, 60_000);
  assert.equal(green.to, new Date(clock.now()).toISOString());
  assert.equal(green.from, new Date(clock.now() - 60_000).toISOString());
  assert.equal(green.latencies?.length, 20);
  assert.deepEqual(
    green.latencies,
    m.measure(NS, { window: "60s", labelSelector: "slot=green", samples: 20 }).latencies,
    "a deterministic subset",
  );
  // A systematic sample of 1..200: every tenth, so its spread is the window's.
  assert.deepEqual(green.latencies?.slice(0, 3), [5, 15, 25]);
  const all = m.measure(NS, { window: "1h" });
  assert.deepEqual([all.requests, all.errors, all.errorRate], [500, 200, 0.4]);
  assert.equal(all.over, undefined, "only when asked");
  assert.equal(all.latencies, undefined);
  assert.throws(() => m.measure(NS, { window: "1m", samples: -1 }), /samples=-1/);
  m.prune(30_000);
  assert.equal(m.size, 400, "the old requests are dropped");
});

Deno.test("Measurements: on a scaled clock a window of sandbox time is scale times shorter", () => {
  const clock = scaledClock(60);
  const m = new Measurements(clock);
  m.record(NS, { at: clock.now() - 2_000, status: 200, latencyMs: 50, labels: {} });
  m.record(NS, { at: clock.now(), status: 200, latencyMs: 70, labels: {} });
  // 60 s of sandbox time is 1 s of real time: only the second request is in it.
  const r = m.measure(NS, { window: "60s" });
  assert.equal(r.requests, 1);
  assert.equal(Date.parse(r.to) - Date.parse(r.from), 1_000);
  assert.equal(m.measure(NS, { window: "5m" }).requests, 2);
});

Deno.test("latencySummary(): weights stand for requests; no data is null, never 0", () => {
  assert.deepEqual(latencySummary({ values: [] }, { over: 1, samples: 3 }), {
    p95Ms: null,
    over: 0,
    latencies: [],
  });
  // 10 at 100 ms standing for 1 each, one at 900 ms standing for 90: p95 is 900.
  const values = [...Array(10).fill(100), 900], weights = [...Array(10).fill(1), 90];
  const s = latencySummary({ values, weights }, { over: 500, samples: 10 });
  assert.equal(s.p95Ms, 900);
  assert.equal(s.over, 90);
  assert.equal(s.latencies?.filter((l) => l === 900).length, 9, "proportional to weight");
});

Deno.test("TrafficGenerator: refuses a virtual clock (real requests cannot follow it)", async () => {
  const store = new Store();
  const clock = virtualClock({ startMs: 0 });
  const g = new TrafficGenerator(new Api(store, { clock }), {
    ports: () => new Map(),
    realRate: 10,
    clock,
  });
  assert.throws(() => g.start(), /Cannot send real traffic on a virtual clock/);
  g.observe();
  assert.equal(g.measure(NS, { window: "60s" }).requests, 0);
  await g.stop();
});
