import assert from "node:assert/strict";
import { inspectMetricsText, metricsEndpoint, serviceHealth } from "../../checks/service.ts";
import { fakeContext, freePort, serve } from "./_support.ts";

Deno.test("serviceHealth() passes on healthy JSON with the expected version", async () => {
  const svc = serve(() => Response.json({ status: "healthy", version: "v1.2.4" }));
  try {
    const outcome = await serviceHealth(`${svc.url}/health`, {
      expectedVersion: "1.2.4",
      maxLatencyMs: 30_000,
    })
      .run(fakeContext());
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.evidence?.reportedVersion, "v1.2.4");
    assert.equal(outcome.evidence?.attempts, 1);
  } finally {
    await svc.stop();
  }
});

Deno.test("serviceHealth() fails on a wrong status, a wrong version, non-JSON or HTTP 500", async (t) => {
  let response = () => Response.json({ status: "degraded", version: "1.2.4" });
  const svc = serve(() => response());
  const url = `${svc.url}/health`;
  try {
    await t.step("degraded", async () => {
      const outcome = await serviceHealth(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /reports status "degraded"/);
    });
    await t.step("old version", async () => {
      response = () => Response.json({ status: "healthy", version: "1.2.3" });
      const outcome = await serviceHealth(url, { expectedVersion: "v1.2.4" }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /runs version "1.2.3", expected v1.2.4/);
    });
    await t.step("not JSON", async () => {
      response = () => new Response("healthy");
      const outcome = await serviceHealth(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /did not answer JSON/);
    });
    await t.step("HTTP 500 with a healthy body still fails", async () => {
      response = () => Response.json({ status: "healthy" }, { status: 500 });
      const outcome = await serviceHealth(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /HTTP 500/);
    });
  } finally {
    await svc.stop();
  }
});

Deno.test("serviceHealth() retries until the service becomes healthy", async () => {
  let calls = 0;
  const svc = serve(() => {
    calls++;
    return calls < 3
      ? Response.json({ status: "starting" }, { status: 503 })
      : Response.json({ status: "healthy" });
  });
  try {
    const ctx = fakeContext();
    const outcome = await serviceHealth(`${svc.url}/health`, {
      attempts: 5,
      intervalMs: 20,
      maxLatencyMs: 30_000,
    })
      .run(ctx);
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.evidence?.attempts, 3);
    assert.equal(ctx.lines.length, 2);
  } finally {
    await svc.stop();
  }
});

Deno.test("serviceHealth() fails after its attempts on a refused connection", async () => {
  const outcome = await serviceHealth(`http://127.0.0.1:${freePort()}/health`, {
    attempts: 2,
    intervalMs: 10,
  }).run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /connection refused/);
  assert.equal(outcome.evidence?.attempts, 2);
});

Deno.test("serviceHealth() fails a response slower than maxLatencyMs", async () => {
  const svc = serve(async () => {
    await new Promise((r) => setTimeout(r, 300));
    return Response.json({ status: "healthy" });
  });
  try {
    const outcome = await serviceHealth(svc.url, { maxLatencyMs: 100 }).run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /limit 100 ms/);
  } finally {
    await svc.stop();
  }
});

const GOOD_METRICS = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{service="analysis-service",code="200"} 1027
http_requests_total{service="analysis-service",code="500"} 3 1700000000000
# HELP process_start_time_seconds Start time.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
up NaN
`;

Deno.test("inspectMetricsText() counts families and samples and finds a bad line", () => {
  assert.deepEqual(inspectMetricsText(GOOD_METRICS), {
    families: ["http_requests_total", "process_start_time_seconds"],
    samples: 4,
  });
  assert.equal(inspectMetricsText("# TYPE a gauge\na 1\nthis is not a metric\n").invalidLine, 3);
  assert.equal(inspectMetricsText('a{b="c} 1').invalidLine, 1);
});

Deno.test("metricsEndpoint() passes on Prometheus text and fails on other content", async (t) => {
  let body = GOOD_METRICS;
  let type = "text/plain; version=0.0.4; charset=utf-8";
  const svc = serve(() => new Response(body, { headers: { "content-type": type } }));
  const url = `${svc.url}/metrics`;
  try {
    await t.step("good", async () => {
      const outcome = await metricsEndpoint(url, { requiredMetrics: ["http_requests_total"] })
        .run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(outcome.evidence?.samples, 4);
    });
    await t.step("a required metric is missing", async () => {
      const outcome = await metricsEndpoint(url, { requiredMetrics: ["http_request_duration"] })
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.deepEqual(outcome.evidence?.missing, ["http_request_duration"]);
    });
    await t.step("JSON instead of text", async () => {
      type = "application/json";
      body = '{"requests": 5}';
      const outcome = await metricsEndpoint(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /not Prometheus text format/);
    });
    await t.step("text without HELP/TYPE", async () => {
      type = "text/plain";
      body = "";
      const outcome = await metricsEndpoint(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /no # HELP\/# TYPE/);
    });
    await t.step("a malformed line", async () => {
      body = "# TYPE a gauge\na one\n";
      const outcome = await metricsEndpoint(url).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /line 2 is not a valid metric line/);
    });
  } finally {
    await svc.stop();
  }
});

Deno.test("HTTP checks reject an invalid URL when they are built", () => {
  assert.throws(
    () => serviceHealth("analysis-service:8000/health"),
    /Cannot create check "Service health": invalid URL "analysis-service:8000\/health"/,
  );
  assert.throws(() => metricsEndpoint("not a url"), TypeError);
});
