// Notifications inside the real runner: a failure handler reaches Slack and PagerDuty
// through the "notifications" capability, which holds the secrets on the main thread.
import assert from "node:assert/strict";
import { notificationsCapability } from "../../lib/capabilities/notifications.ts";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun } from "../../lib/runner/run.ts";

Deno.test("a failure handler notifies Slack and PagerDuty through the notifications capability", async () => {
  const received: { path: string; body: Record<string, unknown> }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ path: new URL(req.url).pathname, body: await req.json() });
    return new URL(req.url).pathname === "/v2/enqueue"
      ? Response.json({ status: "success" }, { status: 202 })
      : new Response("ok");
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const runsDir = await Deno.makeTempDir({ prefix: "checks_runs_" });
  try {
    const prepared = await prepareRun({
      pipelineFile: new URL("./fixtures/notify_pipeline.ts", import.meta.url).pathname,
      environment: "development",
      skipTypeCheck: true,
    });
    const outcome = await executeRun(prepared, {
      runsDir,
      concurrency: 2,
      dryRun: false,
      capabilities: {
        notifications: notificationsCapability({
          slack: { webhookUrl: `${base}/services/T0/B0/secretpath123` },
          pagerduty: { routingKey: "routing-key-secret-0001", endpoint: `${base}/v2/enqueue` },
        }) as unknown as Record<string, () => unknown>,
      },
      approve: () => Promise.reject(new Error("no approvals here")),
    });
    assert.equal(outcome.report.status, "failed");
    const notify = outcome.report.stages.find((s) => s.id === "notify")!;
    assert.equal(notify.status, "succeeded");
    assert.deepEqual(received.map((r) => r.path).sort(), [
      "/services/T0/B0/secretpath123",
      "/v2/enqueue",
    ]);
    const slack = received.find((r) => r.path.startsWith("/services"))!;
    assert.equal(slack.body.text, "❌ Deploy to development failed");
    const pd = received.find((r) => r.path === "/v2/enqueue")!;
    assert.match(
      JSON.stringify(pd.body),
      /rollout of analysis-service exceeded its deadline/,
    );
    assert.ok(!JSON.stringify(outcome.report).includes("routing-key-secret-0001"));
    assert.ok(!JSON.stringify(outcome.report).includes("secretpath123"));
  } finally {
    await server.shutdown();
    await Deno.remove(runsDir, { recursive: true });
  }
});
