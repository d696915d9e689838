/**
 * The drawn traffic model's `measure()` at production rates (the production environment's
 * `traffic:` section, ~1,070 req/s over 4 services of 5/3/4/2 pods per slot, a 5% canary):
 * what a statistical gate's look costs, for a 10 s and a 60 s window, canary and baseline.
 *
 * Run: `deno bench -A bench/traffic_model_bench.ts` (per-call averages), or
 * `deno run -A bench/traffic_model_bench.ts rehearsal` for a 55-minute rehearsal's looks with the
 * median per call and the total (looks every 10 s of target time: each service's canary and
 * baseline, a 10 s window with `over` (the baseline with 1,000 `samples` too) and a 60 s one).
 */
import { Store } from "../lib/sandbox/store.ts";
import { findResource, type ResourceType } from "../lib/sandbox/resources.ts";
import { TrafficModel } from "../lib/sandbox/traffic_model.ts";
import { type Clock, virtualClock } from "../lib/clock/mod.ts";

const NS = "prod";
const SERVICES = {
  "analysis-service": { pods: 5, rps: 300, medianMs: 120, p95Ms: 450 },
  "file-watcher": { pods: 3, rps: 20, medianMs: 15, p95Ms: 60 },
  "tracklist-service": { pods: 4, rps: 600, medianMs: 40, p95Ms: 140 },
  "notification-service": { pods: 2, rps: 150, medianMs: 30, p95Ms: 110 },
} as const;
const type = (group: string, plural: string) => findResource(group, "v1", plural) as ResourceType;
const [PODS, SVCS] = [type("", "pods"), type("", "services")];
const ROUTES = type("gateway.networking.k8s.io", "httproutes");
const DEPLOYMENTS = type("apps", "deployments");

function production(): Store {
  const store = new Store();
  for (const [service, s] of Object.entries(SERVICES)) {
    for (const [slot, version] of [["blue", "1.0.0"], ["green", "1.1.0"]] as const) {
      const selector = { app: "shop", service, slot };
      const image = `registry.local/${service}:${version}`;
      const name = `${service}-${slot}`;
      const template = { metadata: { labels: selector }, spec: { containers: [{ image }] } };
      store.put(DEPLOYMENTS, { metadata: { name, namespace: NS }, spec: { template } });
      store.put(SVCS, { metadata: { name, namespace: NS }, spec: { selector } });
      for (let i = 0; i < s.pods; i++) {
        store.put(PODS, {
          metadata: {
            name: `${name}-${i}`,
            namespace: NS,
            uid: `${name}-${i}`,
            labels: { ...selector, version },
            creationTimestamp: "2026-01-01T00:00:00Z",
          },
          spec: { containers: [{ name: "app", image }] },
          status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
        });
      }
    }
    store.put(ROUTES, {
      metadata: { name: service, namespace: NS },
      spec: {
        rules: [{
          backendRefs: [
            { name: `${service}-blue`, port: 80, weight: 95 },
            { name: `${service}-green`, port: 80, weight: 5 },
          ],
        }],
      },
    });
  }
  return store;
}

/** A clock whose time the bench sets (the model only reads `now()`). */
function steppedClock(): Clock & { t: number } {
  const base = virtualClock({ startMs: 0 });
  const clock = {
    t: 0,
    kind: "virtual" as const,
    scale: Infinity,
    now: () => clock.t,
    since: (stamp: number) => clock.t - stamp,
    sleep: base.sleep.bind(base),
    schedule: base.schedule.bind(base),
    timeout: base.timeout.bind(base),
    hold: base.hold.bind(base),
    track: base.track.bind(base),
  };
  return clock;
}

function productionModel(seed = 1) {
  const clock = steppedClock();
  const rates = {
    [NS]: Object.fromEntries(
      Object.entries(SERVICES).map(([name, s]) => [name, {
        requestsPerSecond: s.rps,
        medianMs: s.medianMs,
        p95Ms: s.p95Ms,
      }]),
    ),
  };
  const model = new TrafficModel({ store: production() }, {
    clock,
    seed,
    rates,
    versions: Object.fromEntries(
      Object.keys(SERVICES).map((s) => [`${NS}|registry.local/${s}`, ["1.0.0"]]),
    ),
  });
  model.start();
  return { model, clock };
}

type Query = { window: string; labelSelector: string; over?: number; samples?: number };

/** One look of every gate: each service's canary and baseline, 10 s and 60 s windows. */
function looks(): { query: Query; window: "10s" | "60s" }[] {
  const out: { query: Query; window: "10s" | "60s" }[] = [];
  for (const [service, s] of Object.entries(SERVICES)) {
    for (const slot of ["green", "blue"]) {
      const labelSelector = `service=${service},slot=${slot}`;
      const samples = slot === "blue" ? { samples: 1000 } : {};
      out.push({
        query: { window: "10s", labelSelector, over: s.p95Ms, ...samples },
        window: "10s",
      });
      out.push({ query: { window: "60s", labelSelector, over: s.p95Ms }, window: "60s" });
    }
  }
  return out;
}

const LOOK = looks();
const gate = productionModel();
gate.clock.t = 600_000;
gate.model.observe();

Deno.bench("one look of 16 measures (clock +10 s, new seconds drawn)", { group: "look" }, () => {
  gate.clock.t += 10_000;
  for (const { query } of LOOK) gate.model.measure(NS, query);
});

const fixed = productionModel(2);
fixed.clock.t = 1_800_000;
fixed.model.observe();
fixed.model.measure(NS, { window: "60s" });
for (const [name, window] of [["10 s", "10s"], ["60 s", "60s"]] as const) {
  const q = { window, labelSelector: "service=tracklist-service,slot=blue", over: 140 };
  Deno.bench(`measure ${name} window, baseline (95%), over`, { group: "measure" }, () => {
    fixed.model.measure(NS, q);
  });
  Deno.bench(`measure ${name} window, canary (5%), over`, { group: "measure" }, () => {
    fixed.model.measure(NS, { ...q, labelSelector: "service=tracklist-service,slot=green" });
  });
  Deno.bench(`measure ${name} window, baseline, 1,000 samples`, { group: "measure" }, () => {
    fixed.model.measure(NS, { ...q, samples: 1000 });
  });
}

/** A 55-minute rehearsal's looks, every 10 s of target time: per-call medians and total. */
function rehearsal(): void {
  const { model, clock } = productionModel(3);
  const times: Record<"10s" | "60s", number[]> = { "10s": [], "60s": [] };
  let total = 0;
  const started = performance.now();
  for (let t = 10_000; t <= 55 * 60_000; t += 10_000) {
    clock.t = t;
    for (const { query, window } of LOOK) {
      const at = performance.now();
      model.measure(NS, query);
      const took = performance.now() - at;
      times[window].push(took);
      total += took;
    }
  }
  const wall = performance.now() - started;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
  for (const w of ["10s", "60s"] as const) {
    const xs = times[w];
    console.log(
      `${w} window: ${xs.length} calls, median ${median(xs).toFixed(3)} ms, ` +
        `p95 ${p95(xs).toFixed(3)} ms`,
    );
  }
  console.log(`all measures: ${total.toFixed(0)} ms (loop ${wall.toFixed(0)} ms)`);
  console.log(`kept: ${JSON.stringify(model.storage())}`);
}

// `deno run -A bench/traffic_model_bench.ts rehearsal` (Deno.bench registers nothing then).
if (Deno.args[0] === "rehearsal") rehearsal();
