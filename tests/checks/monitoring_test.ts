import assert from "node:assert/strict";
import { alertmanagerHealthy, grafanaHealthy, prometheusHealthy } from "../../checks/monitoring.ts";
import { metricsEndpoint } from "../../checks/service.ts";
import { fakeContext, freePort, serve, startPrometheus } from "./_support.ts";

Deno.test("prometheusHealthy() passes against a real Prometheus, healthy and ready", async () => {
  const prom = await startPrometheus();
  try {
    const healthy = await prometheusHealthy(prom.url).run(fakeContext());
    assert.equal(healthy.ok, true, healthy.message);
    assert.equal(healthy.evidence?.status, 200);
    assert.match(String(healthy.evidence?.body), /Healthy/);
    const ready = await prometheusHealthy(`${prom.url}/`, { ready: true }).run(fakeContext());
    assert.equal(ready.ok, true, ready.message);
    assert.equal(ready.evidence?.url, `${prom.url}/-/ready`);
    // Prometheus's own /metrics is real Prometheus text format.
    const metrics = await metricsEndpoint(`${prom.url}/metrics`, {
      requiredMetrics: ["prometheus_build_info", "go_goroutines"],
    }).run(fakeContext());
    assert.equal(metrics.ok, true, metrics.message);
    assert.ok((metrics.evidence?.samples as number) > 100);
  } finally {
    await prom.stop();
  }
});

Deno.test("prometheusHealthy() fails when Prometheus is down or unhealthy", async () => {
  const down = await prometheusHealthy(`http://127.0.0.1:${freePort()}`).run(fakeContext());
  assert.equal(down.ok, false);
  assert.match(down.message, /unreachable: connection refused/);
  const sick = serve(() => new Response("Service Unavailable", { status: 503 }));
  try {
    const outcome = await prometheusHealthy(sick.url).run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.evidence?.status, 503);
  } finally {
    await sick.stop();
  }
});

Deno.test("prometheusHealthy() fails on a deadline instead of hanging", async () => {
  const slow = serve(async () => {
    await new Promise((r) => setTimeout(r, 1_500));
    return new Response("Prometheus Server is Healthy.");
  });
  try {
    const outcome = await prometheusHealthy(slow.url, { timeoutMs: 200 }).run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /timed out after 200 ms/);
  } finally {
    await slow.stop();
  }
});

Deno.test("grafanaHealthy() requires database ok", async () => {
  let database = "ok";
  const grafana = serve((req) => {
    assert.equal(new URL(req.url).pathname, "/grafana/api/health");
    return Response.json({ commit: "abc", database, version: "10.2.0" });
  });
  try {
    const ok = await grafanaHealthy(`${grafana.url}/grafana`).run(fakeContext());
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.evidence?.version, "10.2.0");
    database = "failing";
    const bad = await grafanaHealthy(`${grafana.url}/grafana`).run(fakeContext());
    assert.equal(bad.ok, false);
    assert.match(bad.message, /database "failing"/);
  } finally {
    await grafana.stop();
  }
});

Deno.test("grafanaHealthy() fails on a non-JSON answer", async () => {
  const html = serve(() => new Response("<html>login</html>", { status: 200 }));
  try {
    const outcome = await grafanaHealthy(html.url).run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /did not answer JSON/);
  } finally {
    await html.stop();
  }
});

Deno.test("alertmanagerHealthy() passes on 200 and fails otherwise", async () => {
  let status = 200;
  const am = serve(() => new Response("OK", { status }));
  try {
    assert.equal((await alertmanagerHealthy(am.url).run(fakeContext())).ok, true);
    status = 500;
    const bad = await alertmanagerHealthy(am.url, { required: false }).run(fakeContext());
    assert.equal(bad.ok, false);
    assert.match(bad.message, /HTTP 500/);
    assert.equal(alertmanagerHealthy(am.url, { required: false }).required, false);
  } finally {
    await am.stop();
  }
});
