/**
 * Slack gets the runbook's phase messages — started, each canary step, promoted, finished —
 * from a real deploy rehearsal, posted to a real local webhook receiver. A message the
 * receiver refuses (HTTP 500) is retried, then recorded as undelivered in its stage's log;
 * the deploy is not affected and the webhook URL (a secret) appears nowhere.
 */
import assert from "node:assert/strict";
import { Rehearsal, stage, VIRTUAL_LEASE } from "../deploy/_deploy.ts";
import { baseline } from "../deploy/_baseline.ts";
import { DEFAULT_RETRY } from "../../lib/notify/retry.ts";

interface Received {
  phase: string;
  text: string;
  status: number;
}

function receiver(refuse: (phase: string) => boolean) {
  const received: Received[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.text();
    const parsed = JSON.parse(body) as { text: string };
    const phase = /\*Phase\*\\n([a-z0-9-]+)/.exec(body)?.[1] ?? "final";
    const status = refuse(phase) ? 500 : 200;
    received.push({ phase, text: parsed.text, status });
    return new Response(status === 200 ? "ok" : "boom", { status });
  });
  return {
    received,
    url: `http://127.0.0.1:${server.addr.port}/services/T0SECRET/B0SECRET/hooksecretvalue`,
    close: () => server.shutdown(),
  };
}

Deno.test({
  name: "slack: started, every canary step, promoted and finished; refused ones undelivered",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    const live = await Rehearsal.create();
    const slack = receiver((phase) => phase === "canary-20");
    const vars = { SLACK_WEBHOOK_URL: slack.url };
    const delivered = () => slack.received.filter((m) => m.status === 200).map((m) => m.phase);
    try {
      await t.step("staging (blue-green): started, promoted, finished", async () => {
        const d = await r.deploy("staging", "v1.0.0", [], vars);
        assert.equal(d.code, 0, d.stdout + d.stderr);
        assert.deepEqual(delivered(), ["started", "promoted", "final"]);
        assert.match(slack.received[0]!.text, /^🚀 Deploy of v1\.0\.0 to staging started/);
        assert.match(slack.received.at(-1)!.text, /^✅ v1\.0\.0 deployed to staging/);
      });

      await t.step(
        "production (canary): each step; a refused one retried, then undelivered",
        async () => {
          // The shared baseline: v1.0.0 live in production, v1.1.0 succeeded in staging.
          await baseline(live);
          slack.received.length = 0;
          const confirm = ["--confirm", "DEPLOY TO PRODUCTION", ...VIRTUAL_LEASE];
          const d = await live.deploy("production", "v1.1.0", confirm, vars);
          assert.equal(d.code, 0, d.stdout + d.stderr);
          assert.deepEqual(delivered(), ["started", "canary-5", "promoted", "final"]);
          // canary-20 was sent and refused at every attempt (the notifier's retries).
          const refused = slack.received.filter((m) => m.phase === "canary-20");
          assert.equal(refused.length, DEFAULT_RETRY.attempts);
          assert.match(refused[0]!.text, /v1\.1\.0 canary-20 in production: 20% of traffic/);
          const logFile = (stage(d, "canary-20") as unknown as { log: string }).log;
          const log = await Deno.readTextFile(
            `${d.reportPath.replace(/report\.json$/, "")}${logFile}`,
          );
          assert.match(
            log,
            new RegExp(
              `canary-20: slack undelivered after ${DEFAULT_RETRY.attempts} attempt\\(s\\): HTTP 500`,
            ),
          );
          const everything = d.stdout + d.stderr + (await Deno.readTextFile(d.reportPath));
          assert.ok(!everything.includes("hooksecretvalue"), "the webhook URL leaked");
        },
      );
    } finally {
      await slack.close();
      await r.remove();
      await live.remove();
    }
  },
});
