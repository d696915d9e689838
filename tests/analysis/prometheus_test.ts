import assert from "node:assert/strict";
import { prometheusProvider } from "../../lib/analysis/prometheus.ts";
import { startPrometheus } from "../_support/prometheus.ts";
import { metrics } from "../../pipelines/metrics.ts";

// A real Prometheus scrapes a real endpoint whose counters the test drives; the gate's
// PromQL (pipelines/metrics.ts) is evaluated by Prometheus itself.

interface Service {
  port: number;
  set(o: { okPerSecond: number; errorsPerSecond: number; latencySeconds: number }): void;
  close(): Promise<void>;
}

function fakeService(): Service {
  let ok = 0;
  let errors = 0;
  let rate = { okPerSecond: 0, errorsPerSecond: 0, latencySeconds: 0.1 };
  let last = Date.now();
  const buckets = [0.1, 0.25, 0.5, 1, 2.5, 5];
  const counts = new Map<number, number>(buckets.map((b) => [b, 0]));
  let observed = 0;
  let sum = 0;
  const advance = () => {
    const now = Date.now();
    const dt = (now - last) / 1000;
    last = now;
    const n = (rate.okPerSecond + rate.errorsPerSecond) * dt;
    ok += rate.okPerSecond * dt;
    errors += rate.errorsPerSecond * dt;
    observed += n;
    sum += n * rate.latencySeconds;
    for (const b of buckets) if (rate.latencySeconds <= b) counts.set(b, counts.get(b)! + n);
  };
  const labels = 'namespace="tracktion-prod",service="api",slot="green"';
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    advance();
    const lines = [
      "# TYPE http_requests_total counter",
      `http_requests_total{${labels},status="200"} ${ok}`,
      `http_requests_total{${labels},status="500"} ${errors}`,
      "# TYPE http_request_duration_seconds histogram",
      ...buckets.map((b) =>
        `http_request_duration_seconds_bucket{${labels},le="${b}"} ${counts.get(b)}`
      ),
      `http_request_duration_seconds_bucket{${labels},le="+Inf"} ${observed}`,
      `http_request_duration_seconds_sum{${labels}} ${sum}`,
      `http_request_duration_seconds_count{${labels}} ${observed}`,
    ];
    return new Response(lines.join("\n") + "\n", {
      headers: { "content-type": "text/plain; version=0.0.4" },
    });
  });
  return {
    port: server.addr.port,
    set(o) {
      advance();
      rate = o;
    },
    close: () => server.shutdown(),
  };
}

const target = { namespace: "tracktion-prod", service: "api", slot: "green" };
const error_rate = { ...metrics.error_rate, name: "error_rate" };
const p95 = { ...metrics.p95_latency, name: "p95_latency" };

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    v = await fn();
  }
  return v;
}

Deno.test("prometheusProvider() reads error rate and p95 that a real Prometheus computed from scrapes", async () => {
  const svc = fakeService();
  const prom = await startPrometheus({ targets: [{ address: `127.0.0.1:${svc.port}` }] });
  try {
    const provider = prometheusProvider({ url: prom.url, minWindowSeconds: 5 });
    // No traffic: the rate is 0/0 = NaN, which is inconclusive, never 0%.
    const idle = await eventually(
      () => provider.measure(error_rate, target, { windowMs: 5_000 }),
      (m) => m.kind === "inconclusive",
    );
    assert.equal(idle.kind, "inconclusive");
    svc.set({ okPerSecond: 97, errorsPerSecond: 3, latencySeconds: 0.4 });
    const bad = await eventually(
      () => provider.measure(error_rate, target, { windowMs: 5_000 }),
      (m) => m.kind === "value" && Math.abs(m.value - 3) < 0.3,
    );
    assert.equal(bad.kind, "value");
    assert.ok(bad.kind === "value" && Math.abs(bad.value - 3) < 0.3, JSON.stringify(bad));
    const latency = await provider.measure(p95, target, { windowMs: 5_000 });
    assert.equal(latency.kind, "value");
    assert.ok(
      latency.kind === "value" && latency.value > 250 && latency.value <= 500,
      JSON.stringify(latency),
    );
    // A target nobody exports: an empty result is inconclusive.
    const none = await provider.measure(error_rate, { ...target, service: "nope" }, {
      windowMs: 5_000,
    });
    assert.equal(none.kind, "inconclusive");
  } finally {
    await prom.stop();
    await svc.close();
  }
});

Deno.test("prometheusProvider() reports an error, not a value, when Prometheus is down", async () => {
  const prom = await startPrometheus();
  await prom.stop();
  const provider = prometheusProvider({ url: prom.url, timeoutMs: 2_000 });
  const m = await provider.measure(error_rate, target, { windowMs: 60_000 });
  assert.equal(m.kind, "error");
  assert.match((m as { detail: string }).detail, /cannot reach Prometheus/);
});

Deno.test("prometheusProvider() reports a bad query as an error with Prometheus' message", async () => {
  const prom = await startPrometheus();
  try {
    const provider = prometheusProvider({ url: prom.url });
    const m = await provider.measure({ ...error_rate, query: "sum(rate(x[" }, target, {
      windowMs: 60_000,
    });
    assert.equal(m.kind, "error");
    assert.match((m as { detail: string }).detail, /Prometheus answered 400/);
  } finally {
    await prom.stop();
  }
});
