// The drawn traffic model on a virtual clock: determinism, weights, rates, baseline errors,
// fault onsets, p95, `over`/`latencies`, bounded memory. Bounds are derived from the draws'
// distributions (k standard deviations), never guessed.
import assert from "node:assert/strict";
import { Store } from "../../lib/sandbox/store.ts";
import { findResource, type ResourceType } from "../../lib/sandbox/resources.ts";
import { TrafficModel, type TrafficModelOptions } from "../../lib/sandbox/traffic_model.ts";
import { parseScenario } from "../../lib/sandbox/scenarios.ts";
import { virtualClock } from "../../lib/clock/mod.ts";

const NS = "shop";
const type = (group: string, plural: string) => findResource(group, "v1", plural) as ResourceType;
const PODS = type("", "pods"), SERVICES = type("", "services");
const ROUTES = type("gateway.networking.k8s.io", "httproutes");
const DEPLOYMENTS = type("apps", "deployments");
/** Five standard deviations: a correct model fails such a bound about once in 3.5 million. */
const K = 5;

function slot(store: Store, service: string, slotName: string, version: string, pods: number) {
  const selector = { app: "shop", service, slot: slotName };
  const image = `registry.local/${service}:${version}`;
  store.put(DEPLOYMENTS, {
    metadata: { name: `${service}-${slotName}`, namespace: NS },
    spec: { template: { metadata: { labels: selector }, spec: { containers: [{ image }] } } },
  });
  store.put(SERVICES, {
    metadata: { name: `${service}-${slotName}`, namespace: NS },
    spec: { selector },
  });
  for (let i = 0; i < pods; i++) {
    const name = `${service}-${slotName}-${i}`;
    store.put(PODS, {
      metadata: {
        name,
        namespace: NS,
        uid: name,
        labels: { ...selector, version },
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: { containers: [{ name: "app", image }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    });
  }
}

function route(store: Store, service: string, blue: number, green: number) {
  store.put(ROUTES, {
    metadata: { name: service, namespace: NS },
    spec: {
      rules: [{
        backendRefs: [
          { name: `${service}-blue`, port: 80, weight: blue },
          { name: `${service}-green`, port: 80, weight: green },
        ],
      }],
    },
  });
}

/** A canary of `api`: blue 1.0.0 (known before), green 1.1.0 (being deployed), 95/5. */
function canary(green = 5): Store {
  const store = new Store();
  slot(store, "api", "blue", "1.0.0", 2);
  slot(store, "api", "green", "1.1.0", 2);
  route(store, "api", 100 - green, green);
  return store;
}

const KNOWN = { [`${NS}|registry.local/api`]: ["1.0.0"] };

function model(store: Store, o: Partial<TrafficModelOptions> & { rps?: number } = {}) {
  const clock = virtualClock({ startMs: 0 });
  const m = new TrafficModel({ store }, {
    clock,
    seed: 7,
    versions: KNOWN,
    rates: { [NS]: { api: { requestsPerSecond: o.rps ?? 1000, medianMs: 80, p95Ms: 300 } } },
    ...o,
  });
  m.start();
  return { m, clock };
}

Deno.test("TrafficModel: the same seed gives the same measurements, another seed others", async () => {
  const run = async (seed: number) => {
    const { m, clock } = model(canary(), { seed });
    await clock.sleep(90_000);
    const q = { window: "60s", labelSelector: "slot=green", over: 200, samples: 50 };
    return [m.measure(NS, q), m.measure(NS, { ...q, labelSelector: "slot=blue" }), m.sent];
  };
  const a = await run(1), b = await run(1), c = await run(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // Measuring more often changes nothing: draws depend on (seed, pod series, second) only.
  const { m, clock } = model(canary(), { seed: 1 });
  for (let t = 0; t < 9; t++) {
    await clock.sleep(10_000);
    m.measure(NS, { window: "5s" });
  }
  const q = { window: "60s", labelSelector: "slot=green", over: 200, samples: 50 };
  assert.deepEqual(m.measure(NS, q), a[0]);
});

Deno.test("TrafficModel: requests scale with the rate and follow the weights (5% gets ~5%)", async () => {
  for (const rps of [200, 2000]) {
    const { m, clock } = model(canary(5), { rps });
    await clock.sleep(300_000);
    const all = m.measure(NS, { window: "5m" });
    const green = m.measure(NS, { window: "5m", labelSelector: "slot=green" });
    // Poisson counts: mean = variance = rate × seconds (× the weight's share).
    const mean = rps * 300, greenMean = mean * 0.05;
    assert.ok(Math.abs(all.requests - mean) <= K * Math.sqrt(mean), `${all.requests} vs ${mean}`);
    assert.ok(
      Math.abs(green.requests - greenMean) <= K * Math.sqrt(greenMean),
      `green ${green.requests} vs ${greenMean}`,
    );
    assert.equal(all.windowMs, 300_000);
    assert.equal(all.to, new Date(300_000).toISOString());
    assert.equal(all.from, new Date(0).toISOString());
  }
});

Deno.test("TrafficModel: a healthy version fails about 0.05% of many requests", async () => {
  const { m, clock } = model(canary(50), { rps: 2000 });
  await clock.sleep(1_800_000);
  const r = m.measure(NS, { window: "30m" });
  const p = 0.0005, sd = Math.sqrt(r.requests * p * (1 - p));
  assert.ok(r.requests > 3_000_000, `${r.requests} requests`);
  assert.ok(Math.abs(r.errors - r.requests * p) <= K * sd, `${r.errors} errors of ${r.requests}`);
  assert.ok(r.errors > 0, "a healthy version is not error-free");
});

Deno.test("TrafficModel: a fault with onset 4m shifts nothing before and the version after", async () => {
  const faults = parseScenario("high-error-rate@4m,latency:1s@4m");
  const { m, clock } = model(canary(50), { faults });
  // The green version is first seen by start() at t=0: the faults begin at 4m.
  await clock.sleep(240_000);
  const before = m.measure(NS, { window: "4m", labelSelector: "slot=green" });
  await clock.sleep(240_000);
  const after = m.measure(NS, { window: "4m", labelSelector: "slot=green" });
  const blue = m.measure(NS, { window: "4m", labelSelector: "slot=blue" });
  const bound = (n: number, p: number) => n * p + K * Math.sqrt(n * p * (1 - p));
  assert.ok(before.errors <= bound(before.requests, 0.0005), `before: ${before.errors}`);
  const p = 0.0305, sd = Math.sqrt(after.requests * p * (1 - p));
  assert.ok(Math.abs(after.errors - after.requests * p) <= K * sd, `after: ${after.errors}`);
  assert.ok(blue.errors <= bound(blue.requests, 0.0005), "the old version is not faulted");
  // p95 300 ms before; +1 s after (every request 1 s slower); within 5% (see the p95 test).
  assert.ok(Math.abs(before.p95Ms! - 300) <= 15, `p95 before ${before.p95Ms}`);
  assert.ok(Math.abs(after.p95Ms! - 1300) <= 65, `p95 after ${after.p95Ms}`);
  assert.ok(Math.abs(blue.p95Ms! - 300) <= 15, `blue p95 ${blue.p95Ms}`);
});

Deno.test("TrafficModel: p95 within 5% of the profile; over and latencies agree with it", async () => {
  const { m, clock } = model(canary(50), { rps: 400 });
  await clock.sleep(300_000);
  const r = m.measure(NS, { window: "5m", over: 300, samples: 2000 });
  // The p95 of N log-normal draws (sigma = ln(300/80)/1.645 = 0.80) has a relative standard
  // error of sqrt(0.95·0.05/N)/(phi(1.645)/sigma) = 1.69/sqrt(N): the model draws every
  // request's latency here (100 a second per pod, under its 256), N = 120,000: 0.5%, so 5% is
  // ten standard errors (the latency codes add 0.02%, rounding to 1 ms 0.17%).
  assert.ok(Math.abs(r.p95Ms! - 300) <= 15, `p95 ${r.p95Ms}`);
  // Requests over the configured p95: 5% of them, within the same error in the quantile.
  assert.ok(Math.abs(r.over! / r.requests - 0.05) <= 0.01, `over ${r.over} of ${r.requests}`);
  assert.equal(r.latencies!.length, 2000);
  const overShare = r.latencies!.filter((l) => l > 300).length / 2000;
  // A binomial share of 2,000: sd = sqrt(0.05·0.95/2000) = 0.49%.
  assert.ok(Math.abs(overShare - 0.05) <= K * 0.0049, `sample share over ${overShare}`);
  const none = m.measure(NS, { window: "5m", labelSelector: "slot=none", over: 1, samples: 5 });
  assert.deepEqual([none.requests, none.errorRate, none.p95Ms, none.over, none.latencies], [
    0,
    null,
    null,
    0,
    [],
  ]);
});

Deno.test("TrafficModel: with few requests every latency is drawn: over and p95 are exact", async () => {
  const { m, clock } = model(canary(5), { rps: 40 });
  await clock.sleep(60_000);
  const r = m.measure(NS, {
    window: "60s",
    labelSelector: "slot=green",
    over: 150,
    samples: 10_000,
  });
  const all = r.latencies!;
  assert.equal(all.length, r.requests, "all of the window's latencies");
  assert.equal(r.over, all.filter((l) => l > 150).length);
  const sorted = [...all].sort((a, b) => a - b);
  const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
  assert.ok(Math.abs(r.p95Ms! - p95) <= 1, `${r.p95Ms} vs ${p95}`);
});

Deno.test("TrafficModel: routing changes move the traffic; only Ready pods and live entries get any", async () => {
  const store = canary(50);
  const { m, clock } = model(store);
  await clock.sleep(30_000);
  route(store, "api", 100, 0);
  m.observe();
  await clock.sleep(30_000);
  assert.equal(m.measure(NS, { window: "30s", labelSelector: "slot=green" }).requests, 0);
  assert.ok(m.measure(NS, { window: "60s", labelSelector: "slot=green" }).requests > 0);
  const pod = store.get(PODS, NS, "api-blue-0")!;
  pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
  store.put(PODS, pod);
  m.observe();
  await clock.sleep(30_000);
  assert.equal(m.measure(NS, { window: "30s", labelSelector: "pod=api-blue-0" }).requests, 0);
  const rest = m.measure(NS, { window: "30s", labelSelector: "pod=api-blue-1" }).requests;
  assert.ok(Math.abs(rest - 30_000) <= K * Math.sqrt(30_000), `the other pod took it all: ${rest}`);

  // Blue-green without a route: the Service named for the service carries its traffic; the
  // slots' own Services (the idle one too) get none of their own.
  const bg = new Store();
  slot(bg, "api", "blue", "1.0.0", 1);
  slot(bg, "api", "green", "1.1.0", 1);
  bg.put(SERVICES, {
    metadata: { name: "api", namespace: NS },
    spec: { selector: { app: "shop", service: "api", slot: "blue" } },
  });
  const b = model(bg, { rps: 100 });
  await b.clock.sleep(60_000);
  const blue = b.m.measure(NS, { window: "60s", labelSelector: "slot=blue" }).requests;
  assert.equal(b.m.measure(NS, { window: "60s", labelSelector: "slot=green" }).requests, 0);
  assert.ok(Math.abs(blue - 6000) <= K * Math.sqrt(6000), `blue ${blue}`);
});

Deno.test("TrafficModel: memory stays bounded over simulated hours; sent keeps counting", async () => {
  const { m, clock } = model(canary(50), { rps: 2000 });
  for (let t = 0; t < 2 * 360; t++) {
    await clock.sleep(10_000);
    m.observe();
  }
  const kept = m.storage();
  assert.ok(kept.buckets <= 3600, `${kept.buckets} buckets`);
  assert.ok(kept.counts <= 3600 * 4, `${kept.counts} counts`);
  assert.ok(kept.segments <= 2, `${kept.segments} segments`);
  const mean = 2000 * 7200;
  assert.ok(Math.abs(m.sent - mean) <= K * Math.sqrt(mean), `sent ${m.sent}`);
  const r = m.measure(NS, { window: "2h" });
  assert.equal(r.windowMs, 3_600_000, "a window is cut to the hour kept");
});

Deno.test("TrafficModel: bad queries are refused naming what is wrong", () => {
  const { m } = model(canary());
  assert.throws(() => m.measure(NS, { window: "soon" }), /Cannot parse duration "soon"/);
  assert.throws(() => m.measure(NS, { window: "1m", samples: 1.5 }), /samples=1.5/);
  assert.throws(() => m.measure(NS, { window: "1m", over: -1 }), /over=-1/);
  assert.throws(
    () =>
      new TrafficModel({ store: new Store() }, { clock: virtualClock(), seed: 1, defaultRate: -1 }),
    /default rate -1/,
  );
});
