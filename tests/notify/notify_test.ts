import assert from "node:assert/strict";
import {
  type NotificationEvent,
  notify,
  notifyOptionsFromEnvironment,
  pagerDutyEvent,
  sendPagerDuty,
  sendSlack,
} from "../../lib/notify/mod.ts";
import { DEFAULT_RETRY } from "../../lib/notify/retry.ts";
import { loadEnvironment } from "../../lib/config/load_environment.ts";

interface Received {
  path: string;
  contentType: string | null;
  body: Record<string, unknown>;
}

/** A local HTTP receiver that records requests and answers with `respond`. */
function receiver(respond: (n: number) => Response | Promise<Response>) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({
      path: new URL(req.url).pathname,
      contentType: req.headers.get("content-type"),
      body: await req.json(),
    });
    return await respond(received.length);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, received, stop: () => server.shutdown() };
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const FAILED: NotificationEvent = {
  outcome: "rolled_back",
  title: "Deploy of v1.2.4 to production rolled back",
  text: "canary-5: error_rate 3.1% > 1% in 3 of 3 samples",
  environment: "production",
  version: "1.2.4",
  pipeline: "deploy",
  runId: "20261127-0347-abcd",
  user: "alice",
  reportPath: ".tracktion/runs/20261127-0347-abcd/report.json",
  details: { stage: "canary-5" },
};

const SLACK_SECRET_PATH = "/services/T0SECRET/B0SECRET/xoxSecretToken123";
const ROUTING_KEY = "R0UTINGKEYsecret0000000000000000";

Deno.test("sendSlack() posts text and blocks to the webhook", async () => {
  const slack = receiver(() => new Response("ok"));
  try {
    const result = await sendSlack(FAILED, {
      webhookUrl: `${slack.url}${SLACK_SECRET_PATH}`,
      channel: "#deployments",
    });
    assert.deepEqual({ ok: result.ok, status: result.status, attempts: result.attempts }, {
      ok: true,
      status: 200,
      attempts: 1,
    });
    const [req] = slack.received;
    assert.equal(req?.path, SLACK_SECRET_PATH);
    assert.equal(req?.contentType, "application/json");
    assert.equal(req?.body.text, "⏪ Deploy of v1.2.4 to production rolled back");
    assert.equal(req?.body.channel, "#deployments");
    const blocks = req?.body.blocks as { type: string }[];
    assert.deepEqual(blocks.map((b) => b.type), ["header", "section", "section", "context"]);
    assert.match(JSON.stringify(blocks), /\*Version\*\\n1.2.4/);
  } finally {
    await slack.stop();
  }
});

Deno.test("sendPagerDuty() posts an Events API v2 trigger", async () => {
  const pd = receiver(() =>
    Response.json({ status: "success", message: "Event processed", dedup_key: "x" }, {
      status: 202,
    })
  );
  try {
    const result = await sendPagerDuty(FAILED, {
      routingKey: ROUTING_KEY,
      endpoint: `${pd.url}/v2/enqueue`,
      severities: { rolled_back: "critical" },
    });
    assert.equal(result.ok, true);
    assert.equal(result.status, 202);
    const body = pd.received[0]!.body as {
      routing_key: string;
      event_action: string;
      dedup_key: string;
      payload: Record<string, unknown>;
    };
    assert.equal(pd.received[0]!.path, "/v2/enqueue");
    assert.equal(body.routing_key, ROUTING_KEY);
    assert.equal(body.event_action, "trigger");
    assert.equal(body.dedup_key, "tracktion-deploy/deploy/production/20261127-0347-abcd");
    assert.equal(body.payload.summary, FAILED.title);
    assert.equal(body.payload.severity, "critical");
    assert.equal(body.payload.source, "tracktion-deploy/production");
    assert.deepEqual(body.payload.custom_details, {
      version: "1.2.4",
      run_id: "20261127-0347-abcd",
      user: "alice",
      detail: FAILED.text,
      report: FAILED.reportPath,
      stage: "canary-5",
    });
    const resolve = await sendPagerDuty(FAILED, {
      routingKey: ROUTING_KEY,
      endpoint: `${pd.url}/v2/enqueue`,
      action: "resolve",
    });
    assert.equal(resolve.ok, true);
    assert.equal(pd.received[1]!.body.event_action, "resolve");
    assert.equal(pd.received[1]!.body.payload, undefined);
  } finally {
    await pd.stop();
  }
});

Deno.test("notify() sends to Slack and pages PagerDuty on failure, concurrently", async () => {
  const slack = receiver(() => new Response("ok"));
  const pd = receiver(() => Response.json({ status: "success" }, { status: 202 }));
  try {
    const results = await notify(FAILED, {
      slack: { webhookUrl: `${slack.url}${SLACK_SECRET_PATH}` },
      pagerduty: { routingKey: ROUTING_KEY, endpoint: `${pd.url}/v2/enqueue` },
    });
    assert.deepEqual(results.map((r) => [r.channel, r.ok]), [["slack", true], [
      "pagerduty",
      true,
    ]]);
    assert.equal(slack.received.length, 1);
    assert.equal(pd.received.length, 1);
  } finally {
    await slack.stop();
    await pd.stop();
  }
});

Deno.test("notify() does not page on success", async () => {
  const slack = receiver(() => new Response("ok"));
  const pd = receiver(() => Response.json({ status: "success" }, { status: 202 }));
  try {
    const results = await notify(
      { outcome: "succeeded", title: "Deployed v1.2.4 to staging", environment: "staging" },
      {
        slack: { webhookUrl: `${slack.url}/hook` },
        pagerduty: { routingKey: ROUTING_KEY, endpoint: `${pd.url}/v2/enqueue` },
      },
    );
    assert.equal(results[1]?.skipped, "outcome succeeded does not page");
    assert.equal(pd.received.length, 0);
    assert.equal(slack.received.length, 1);
  } finally {
    await slack.stop();
    await pd.stop();
  }
});

Deno.test("notify() never throws: non-2xx, refused and timed-out notifiers become results", async () => {
  const slack = receiver(() => new Response("invalid_token", { status: 403 }));
  const hang = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await new Promise((r) => setTimeout(r, 2_000));
    await req.body?.cancel();
    return new Response("late");
  });
  const logged: string[] = [];
  try {
    const results = await notify(FAILED, {
      slack: { webhookUrl: `${slack.url}${SLACK_SECRET_PATH}` },
      pagerduty: {
        routingKey: ROUTING_KEY,
        endpoint: `http://127.0.0.1:${hang.addr.port}/v2/enqueue/${ROUTING_KEY}`,
      },
      timeoutMs: 300,
      retryDelayMs: 10,
      log: (line) => logged.push(line),
    });
    assert.equal(results[0]?.ok, false);
    assert.equal(results[0]?.status, 403);
    assert.equal(results[0]?.attempts, 1); // a 4xx is not retried
    assert.match(results[0]?.error ?? "", /HTTP 403: invalid_token/);
    assert.equal(results[1]?.ok, false);
    // a timeout is a failed attempt, retried like a network error (the default attempts)
    assert.equal(results[1]?.attempts, DEFAULT_RETRY.attempts);
    assert.match(results[1]?.error ?? "", /timed out after 300 ms/);
    assert.equal(logged.length, 2);
    const everything = JSON.stringify({ results, logged });
    for (const secret of ["T0SECRET", "xoxSecretToken123", ROUTING_KEY]) {
      assert.ok(!everything.includes(secret), `${secret} leaked`);
    }
  } finally {
    await slack.stop();
    await hang.shutdown();
  }
});

Deno.test("notify() redacts the webhook URL from a connection error", async () => {
  const port = closedPort();
  const logged: string[] = [];
  const results = await notify(FAILED, {
    slack: { webhookUrl: `http://127.0.0.1:${port}${SLACK_SECRET_PATH}` },
    attempts: 2,
    retryDelayMs: 10,
    log: (line) => logged.push(line),
  });
  assert.equal(results[0]?.ok, false);
  assert.equal(results[0]?.error, "connection refused");
  assert.ok(!JSON.stringify(logged).includes("xoxSecretToken123"));
});

Deno.test("notify() retries a 5xx and succeeds", async () => {
  const slack = receiver((n) =>
    n === 1 ? new Response("oops", { status: 503 }) : new Response("ok")
  );
  try {
    const [result] = await notify(FAILED, {
      slack: { webhookUrl: `${slack.url}/hook` },
      retryDelayMs: 10,
    });
    assert.equal(result?.ok, true);
    assert.equal(result?.attempts, 2);
  } finally {
    await slack.stop();
  }
});

Deno.test("notify() survives a fetch that throws synchronously", async () => {
  const results = await notify(FAILED, {
    slack: { webhookUrl: "https://hooks.invalid/x" },
    fetch: () => {
      throw new TypeError("boom https://hooks.invalid/x");
    },
    attempts: 1,
    log: () => {},
  });
  assert.equal(results[0]?.ok, false);
  assert.ok(!results[0]?.error?.includes("hooks.invalid/x"));
});

Deno.test("notifyOptionsFromEnvironment() reads the production notifications section", async () => {
  const env = await loadEnvironment("production");
  const options = notifyOptionsFromEnvironment(
    env,
    new Map([
      ["notifications.slack.webhook_url", "https://hooks.slack.example/services/X"],
      ["notifications.pagerduty.routing_key", ROUTING_KEY],
    ]),
  );
  assert.equal(options.slack?.webhookUrl, "https://hooks.slack.example/services/X");
  assert.equal(options.slack?.channel, "#deployments");
  assert.equal(options.pagerduty?.routingKey, ROUTING_KEY);
  // production.yml pages a failure as critical; nothing in lib/ knows "production".
  assert.deepEqual(options.pagerduty?.severities, { failed: "critical", rolled_back: "critical" });
  assert.equal(typeof options.timeoutMs, "number");
  const none = notifyOptionsFromEnvironment(env, new Map());
  assert.equal(none.slack, undefined);
  assert.equal(none.pagerduty, undefined);
});

Deno.test("scrub() hides a webhook URL and its path parts inside an error text", async () => {
  const { scrub } = await import("../../lib/notify/_send.ts");
  const url = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxSecretToken123";
  const text =
    `error sending request for url (${url}): dns error; path /services/T0SECRET/B0SECRET`;
  const out = scrub(text, [url]);
  for (const part of ["T0SECRET", "B0SECRET", "xoxSecretToken123"]) assert.ok(!out.includes(part));
  assert.match(out, /^error sending request for url \(\*\*\*\): dns error/);
});

Deno.test("notificationsCapability() sends with the secrets it holds", async () => {
  const { notificationsCapability } = await import("../../lib/capabilities/notifications.ts");
  const slack = receiver(() => new Response("ok"));
  try {
    const capability = notificationsCapability({ slack: { webhookUrl: `${slack.url}/hook` } });
    const results = await capability.notify(FAILED);
    assert.equal(results[0]?.ok, true);
    assert.equal(slack.received.length, 1);
  } finally {
    await slack.stop();
  }
});

Deno.test("pagerDutyEvent() takes its severity from the options, never from the environment's name", () => {
  const event: NotificationEvent = { ...FAILED, outcome: "failed", environment: "production" };
  assert.equal(pagerDutyEvent(event, { routingKey: ROUTING_KEY }).payload?.severity, "error");
  assert.equal(
    pagerDutyEvent({ ...event, environment: "shop-live" }, {
      routingKey: ROUTING_KEY,
      severities: { failed: "critical" },
    }).payload?.severity,
    "critical",
  );
  const paused: NotificationEvent = { ...event, outcome: "paused" };
  assert.equal(pagerDutyEvent(paused, { routingKey: ROUTING_KEY }).payload?.severity, "warning");
  assert.equal(
    pagerDutyEvent({ ...event, severity: "info" }, {
      routingKey: ROUTING_KEY,
      severities: { failed: "critical" },
    }).payload?.severity,
    "info",
    "an event's own severity wins",
  );
  const shop = pagerDutyEvent(event, {
    routingKey: ROUTING_KEY,
    dedupPrefix: "shop",
    source: "shop/prod",
  });
  assert.equal(shop.dedup_key, "shop/deploy/production/20261127-0347-abcd");
  assert.equal(shop.payload?.source, "shop/prod");
});
