/**
 * The post-deployment checks added for the runbook's validation suite: rate limiting (real
 * HTTP), the monitoring objects and the backup CronJob (a real sandbox and its API), and test
 * Jobs run to their end (the sandbox's Job controller, its tests-fail scenario).
 */
import assert from "node:assert/strict";
import { rateLimitHeaders } from "../../checks/http_endpoint.ts";
import { cronJobActive, objectsExist, PROMETHEUS_RULE } from "../../checks/cluster_objects.ts";
import { testJobPassed } from "../../checks/test_jobs.ts";
import { fakeContext, serve } from "./_support.ts";
import { stageContext, withCluster } from "../kubernetes/_helpers.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import type { StageContext } from "../../lib/dsl/types.ts";
import { realClock } from "../../lib/clock/mod.ts";

/** A stage context over the capability, on real time (the sandbox runs scaled ×300). */
function context(k: KubernetesCapability): StageContext {
  return Object.assign(stageContext(k), {
    now: () => realClock.now(),
    sleep: (ms: number | string) => realClock.sleep(Number(ms)),
    check: () => Promise.reject(new Error("not here")),
  });
}

const NS = "tracktion-staging";

Deno.test("rateLimitHeaders: passes on announced limits; fails without them or on 5xx", async () => {
  let calls = 0;
  let mode: "limited" | "silent" | "broken" = "limited";
  const server = serve(() => {
    calls++;
    if (mode === "broken") return new Response("down", { status: 503 });
    const headers: Record<string, string> = mode === "limited"
      ? { "RateLimit-Limit": "100", "RateLimit-Remaining": String(100 - calls) }
      : {};
    return new Response("{}", { status: calls > 4 && mode === "limited" ? 429 : 200, headers });
  });
  try {
    const url = `${server.url}/api/v1/health`;
    const ok = await rateLimitHeaders(url).run(fakeContext());
    assert.equal(ok.ok, true, ok.message);
    assert.deepEqual(ok.evidence!.statuses, [200, 200, 200, 200, 429]);
    assert.equal((ok.evidence!.rateLimit as Record<string, string>)["RateLimit-Limit"], "100");
    mode = "silent";
    const silent = await rateLimitHeaders(url, { requests: 2 }).run(fakeContext());
    assert.equal(silent.ok, false);
    assert.match(silent.message, /announces no rate limit/);
    mode = "broken";
    const broken = await rateLimitHeaders(url, { requests: 1 }).run(fakeContext());
    assert.equal(broken.ok, false);
    assert.match(broken.message, /answered HTTP 503 after 1 requests, not 200 or 429/);
  } finally {
    await server.stop();
  }
  const dead = await rateLimitHeaders("http://127.0.0.1:1/x", { requests: 1, timeoutMs: 2_000 })
    .run(fakeContext());
  assert.equal(dead.ok, false);
  assert.match(dead.message, /unreachable/);
});

Deno.test({
  name: "cluster objects and test Jobs against a real sandbox",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withCluster(async ({ k }) => {
      const ctx = context(k);
      await t.step("a kind the cluster does not serve fails with what to install", async () => {
        // The sandbox serves ServiceMonitor and PrometheusRule; not PodMonitor.
        const podMonitor = { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor" } as const;
        const o = await objectsExist(NS, podMonitor, "tracktion", { install: "the CRDs" })
          .run(ctx);
        assert.equal(o.ok, false);
        assert.match(o.message, /serves no monitoring.coreos.com\/v1 PodMonitor: install the CRDs/);
        assert.equal(o.evidence!.served, false);
        // A served kind with no such object: missing, not "not served".
        const rule = await objectsExist(NS, PROMETHEUS_RULE, "tracktion").run(ctx);
        assert.equal(rule.ok, false);
        assert.notEqual(rule.evidence!.served, false);
      });

      await t.step("a served kind: found by name, or named as missing", async () => {
        const cm = { apiVersion: "v1", kind: "ConfigMap" } as const;
        const missing = await objectsExist(NS, cm, "tracktion-alerts").run(ctx);
        assert.equal(missing.ok, false);
        assert.match(
          missing.message,
          /No ConfigMap named \*tracktion-alerts\* in tracktion-staging/,
        );
        await k.apply({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "tracktion-alerts", namespace: NS },
          data: {},
        });
        const found = await objectsExist(NS, cm, "tracktion-alerts").run(ctx);
        assert.equal(found.ok, true, found.message);
        assert.deepEqual(found.evidence!.found, ["tracktion-alerts"]);
      });

      await t.step("the backup CronJob: missing, suspended, active", async () => {
        const missing = await cronJobActive(NS, "database-backup").run(ctx);
        assert.equal(missing.ok, false);
        assert.match(missing.message, /No CronJob tracktion-staging\/database-backup/);
        const cronjob = (suspend: boolean) => ({
          apiVersion: "batch/v1",
          kind: "CronJob",
          metadata: { name: "database-backup", namespace: NS },
          spec: {
            schedule: "0 3 * * *",
            suspend,
            jobTemplate: {
              spec: {
                template: {
                  spec: {
                    restartPolicy: "OnFailure",
                    containers: [{ name: "backup", image: "postgres:15" }],
                  },
                },
              },
            },
          },
        });
        await k.apply(cronjob(true));
        const suspended = await cronJobActive(NS, "database-backup").run(ctx);
        assert.equal(suspended.ok, false);
        assert.match(suspended.message, /is suspended/);
        await k.apply(cronjob(false));
        const active = await cronJobActive(NS, "database-backup").run(ctx);
        assert.equal(active.ok, true, active.message);
        assert.equal(active.evidence!.schedule, "0 3 * * *");
      });

      await t.step("a test Job the API refuses fails the check, naming the Job", async () => {
        const o = await testJobPassed(NS, {
          name: "Smoke_Tests",
          suite: "smoke",
          image: "ghcr.io/tracktion/analysis-service:1.0.0",
          command: ["./scripts/smoke-tests.sh"],
        }).run(ctx);
        assert.equal(o.ok, false);
        assert.match(o.message, /smoke tests: cannot run Job tracktion-staging\/Smoke_Tests: /);
      });
    });
  },
});

Deno.test({
  name: "test Jobs: pass when Complete; under tests-fail/smoke the smoke Job fails, others pass",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(async ({ k }) => {
      const ctx = context(k);
      const job = (suite: string, name: string) => ({
        name,
        suite,
        image: "ghcr.io/tracktion/analysis-service:1.0.0",
        command: ["./scripts/smoke-tests.sh"],
        labels: { version: "1.0.0" },
      });
      const smoke = await testJobPassed(NS, job("smoke", "smoke-tests-a"), { pollMs: 200 })
        .run(ctx);
      assert.equal(smoke.ok, false, smoke.message);
      assert.match(
        smoke.message,
        /smoke tests failed: Job tracktion-staging\/smoke-tests-a BackoffLimitExceeded; last exit code 1/,
      );
      const other = await testJobPassed(NS, job("integration", "integration-tests-a"), {
        pollMs: 200,
      }).run(ctx);
      assert.equal(other.ok, true, other.message);
      assert.equal((other.evidence!.condition as { type: string }).type, "Complete");
      // A second run of a suite replaces the first: the latest run is the record.
      await testJobPassed(NS, job("integration", "integration-tests-b"), { pollMs: 200 }).run(ctx);
      const jobs = await k.list({ apiVersion: "batch/v1", kind: "Job" }, NS, {
        labelSelector: "type=test,suite=integration",
      });
      assert.deepEqual(jobs.map((j) => j.metadata.name), ["integration-tests-b"]);
      const pods = await k.list({ apiVersion: "v1", kind: "Pod" }, NS, {
        labelSelector: "job-name=integration-tests-a",
      });
      assert.deepEqual(pods.map((p) => p.metadata.name), [], "the replaced Job's pods are gone");
    }, { scenario: "tests-fail/smoke" });
  },
});
