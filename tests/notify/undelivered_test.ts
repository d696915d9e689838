// Nothing is silently lost, end to end: real staging deploys in a sandbox (×240) through the
// real CLI, with Slack a local receiver and GitHub a FAKE (the OpenAPI-checked stand-in behind
// a fault-injecting front, tests/notify/_fake_github.ts). A message that still fails after its
// retries is in the report's `undelivered` with its attempts, and printed; one that recovers
// is delivered and not listed; the exit code is the deploy's, whatever the messages did.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { DEFAULT_RETRY } from "../../lib/notify/retry.ts";
import type { UndeliveredRecord } from "../../lib/report/undelivered.ts";
import { type Deployment, Rehearsal } from "../deploy/_deploy.ts";
import { fakeGitHub } from "./_fake_github.ts";

const TOKEN = "ghp_undeliveredStandIn0001";
const HOOK_SECRET = "hookS3cretPathValue";

/** A Slack webhook receiver: `refuse(n)` says whether the n-th POST of a message is refused. */
function slack(refuse: (attempt: number) => boolean) {
  const tries = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.text();
    const n = (tries.get(body) ?? 0) + 1;
    tries.set(body, n);
    return refuse(n) ? new Response("service unavailable", { status: 503 }) : new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/services/T0/B0/${HOOK_SECRET}`,
    /** Each message's text and how many times it was posted. */
    messages: () =>
      [...tries].map(([body, n]) => ({ text: (JSON.parse(body) as { text: string }).text, n })),
    close: () => server.shutdown(),
  };
}

/** A staging deploy with its own sandbox (×240), Slack and the fake GitHub. */
async function deploy(
  r: Rehearsal,
  vars: Record<string, string>,
  extra: string[] = [],
): Promise<Deployment> {
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: r.sandboxDir,
    timeScale: 240,
    maxRealRate: 400,
  });
  try {
    return await r.deploy("staging", "v1.0.0", extra, vars);
  } finally {
    await sandbox.stop();
  }
}

function undelivered(d: Deployment): UndeliveredRecord[] {
  return (d.report as { undelivered?: UndeliveredRecord[] }).undelivered ?? [];
}

function assertNoSecrets(d: Deployment, report: string) {
  for (const secret of [HOOK_SECRET, TOKEN]) {
    assert.ok(!(d.stdout + d.stderr + report).includes(secret), `${secret} leaked`);
  }
}

Deno.test({
  name:
    "slack answering 503 always: each message retried, then listed undelivered and printed; exit 0; a flaky GitHub recovers and gets both statuses",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const hook = slack(() => true);
    const gh = await fakeGitHub(TOKEN);
    gh.faults.deployment.push("503");
    gh.faults.status.push("503", "secondary-limit", "503");
    try {
      const d = await deploy(r, {
        SLACK_WEBHOOK_URL: hook.url,
        GITHUB_TOKEN: TOKEN,
        GITHUB_API_URL: gh.url,
      });
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.report.status, "succeeded");
      // Every message the deploy meant to send: started, promoted, and the final one.
      const sent = hook.messages();
      assert.deepEqual(sent.map((m) => m.n), sent.map(() => DEFAULT_RETRY.attempts));
      assert.equal(sent.length, 3, JSON.stringify(sent));
      const lost = undelivered(d);
      assert.deepEqual(
        lost.map((u) => [u.channel, u.what, u.attempts]),
        [
          ["slack", "notification: started", DEFAULT_RETRY.attempts],
          ["slack", "notification: promoted", DEFAULT_RETRY.attempts],
          ["slack", "notification: succeeded", DEFAULT_RETRY.attempts],
        ],
      );
      assert.deepEqual(lost.map((u) => u.stage), ["github:start", "switch", "notify"]);
      for (const u of lost) {
        assert.equal(u.error, "HTTP 503: service unavailable");
        assert.ok(
          d.stdout.includes(
            `undelivered: ${u.what} to slack (${u.stage}, ${u.attempts} attempt(s)): ${u.error}`,
          ),
          d.stdout,
        );
      }
      // Printed before the report's path, which stays the last line.
      assert.match(d.stdout.trimEnd().split("\n").at(-1)!, /^report: /);
      // GitHub failed now and then and recovered: both statuses arrived, nothing listed.
      assert.deepEqual(gh.states(), [["in_progress", "success"]]);
      assert.deepEqual(gh.standIn.violations, []);
      assertNoSecrets(d, await Deno.readTextFile(d.reportPath));
    } finally {
      await hook.close();
      await gh.close();
      await r.remove();
    }
  },
});

Deno.test({
  name: "slack failing twice then answering: each message delivered the third time, none listed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const hook = slack((n) => n <= 2);
    try {
      const d = await deploy(r, { SLACK_WEBHOOK_URL: hook.url });
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.report.status, "succeeded");
      const sent = hook.messages();
      assert.equal(sent.length, 3, JSON.stringify(sent));
      assert.deepEqual(sent.map((m) => m.n), [3, 3, 3], "refused twice, delivered the third time");
      assert.deepEqual(undelivered(d), []);
      assert.equal("undelivered" in d.report, false, "the report lists nothing");
      assert.doesNotMatch(d.stdout, /undelivered:/);
      assertNoSecrets(d, await Deno.readTextFile(d.reportPath));
    } finally {
      await hook.close();
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "GitHub never answering its status POSTs: each retried to its deadline, then both statuses listed undelivered and printed; exit 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const gh = await fakeGitHub(TOKEN);
    gh.faults.status.push(...Array(2 * DEFAULT_RETRY.attempts).fill("hang"));
    // One attempt may take the environment's external_services.webhook_timeout: 2 s here
    // (no Slack in this run, so only GitHub's requests have it; a local answer takes ms).
    const envDir = `${r.dir}/environments`;
    await Deno.mkdir(envDir);
    const staging = await Deno.readTextFile("environments/staging.yml");
    assert.match(staging, /webhook_timeout: 30s/);
    await Deno.writeTextFile(
      `${envDir}/staging.yml`,
      staging.replace("webhook_timeout: 30s", "webhook_timeout: 2s"),
    );
    try {
      const d = await deploy(r, { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url }, [
        "--environments-dir",
        envDir,
      ]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.report.status, "succeeded");
      const lost = undelivered(d);
      assert.deepEqual(
        lost.map((u) => [u.stage, u.channel, u.what, u.attempts]),
        [
          ["github:start", "github", "deployment status: in_progress", DEFAULT_RETRY.attempts],
          ["github:finish", "github", "deployment status: success", DEFAULT_RETRY.attempts],
        ],
        JSON.stringify(lost),
      );
      for (const u of lost) {
        assert.match(
          u.error,
          /GitHub is unreachable \(timed out after 2000 ms \(4 attempt\(s\)\)\)/,
        );
        assert.ok(
          d.stdout.includes(`undelivered: ${u.what} to github (${u.stage}, 4 attempt(s))`),
          d.stdout,
        );
      }
      assert.equal(gh.hits.status, 2 * DEFAULT_RETRY.attempts, "every attempt reached GitHub");
      assert.deepEqual(gh.states(), [[]], "GitHub has no status, and the report says so");
      assertNoSecrets(d, await Deno.readTextFile(d.reportPath));
    } finally {
      await gh.close();
      await r.remove();
    }
  },
});
