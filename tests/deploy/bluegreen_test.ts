import assert from "node:assert/strict";
import { Rehearsal, stage } from "./_deploy.ts";
import { GitHubStandIn } from "../release/_github_standin.ts";

Deno.test({
  name: "deploy development and staging (blue-green): each deploy switches to the other slot",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    // Slack is a local receiver; its webhook URL is a secret that must not leak.
    const received: { text?: string }[] = [];
    const slack = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      received.push(await req.json());
      return new Response("ok");
    });
    const webhook = `http://127.0.0.1:${slack.addr.port}/services/T0001/B0002/s3cretW3bh00kPath`;
    // GitHub's Deployments API: the STAND-IN of tests/release (recorded and OpenAPI-checked answers).
    const github = await GitHubStandIn.create({ token: "ghp_deployStandInToken0001" });
    const githubServer = github.serve();
    try {
      const first = await r.deploy("development", "v2.0.0", [], {
        SLACK_WEBHOOK_URL: webhook,
        GITHUB_TOKEN: "ghp_deployStandInToken0001",
        GITHUB_API_URL: `http://127.0.0.1:${githubServer.addr.port}`,
      });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.equal(first.report.status, "succeeded");
      assert.match(first.stdout, /switch: analysis-service: traffic none → blue/);
      assert.equal(stage(first, "confirm").status, "skipped");
      assert.equal(first.report.target.kind, "sandbox");
      const migrate = stage(first, "migrate") as unknown as { status: string };
      assert.equal(migrate.status, "succeeded");
      assert.match(first.stdout, /migrate: applied \d+ migration\(s\)/);
      // The runbook's phases: started, promoted (the switch), then finished.
      const texts = received.map((m) => JSON.stringify(m));
      assert.equal(received.length, 3, texts.join("\n"));
      assert.match(texts[1]!, /v2\.0\.0 promoted in development: traffic switched/);
      assert.match(texts[2]!, /v2\.0\.0 deployed to development/);
      const artefacts = await Deno.readTextFile(first.reportPath) +
        await Deno.readTextFile(first.reportPath.replace("report.json", "events.jsonl")) +
        first.stdout +
        first.stderr;
      assert.ok(!artefacts.includes("s3cretW3bh00kPath"), "the webhook URL leaked");
      assert.ok(!artefacts.includes("ghp_deployStandInToken0001"), "the GitHub token leaked");
      assert.deepEqual(github.violations, []);
      const deployments = [...github.deployments.values()];
      assert.equal(deployments.length, 1);
      assert.equal(deployments[0]!.deployment.ref, "v2.0.0");
      assert.equal(deployments[0]!.deployment.environment, "development");
      assert.deepEqual(deployments[0]!.statuses.map((s: { state: string }) => s.state), [
        "in_progress",
        "success",
      ]);

      const second = await r.deploy("development", "v2.0.1");
      assert.equal(second.code, 0, second.stdout);
      assert.match(second.stdout, /switch: analysis-service: traffic blue → green/);
      assert.match(second.stdout, /migrate: applied 0 migration\(s\)/);

      const staging = await r.deploy("staging", "v2.0.1");
      assert.equal(staging.code, 0, staging.stdout);
      assert.match(staging.stdout, /switch: tracklist-service: traffic none → blue \(2 pods\)/);
    } finally {
      await githubServer.shutdown();
      await slack.shutdown();
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "bad deploy input (no confirmation, unknown scenario, bad option) exits 2 and starts nothing",
  async fn() {
    const r = await Rehearsal.create();
    try {
      const d = await r.deploy("production", "v2.0.0");
      assert.equal(d.code, 2);
      assert.match(d.stderr, /needs the confirmation "DEPLOY TO PRODUCTION"/);
      assert.equal(await Deno.stat(r.sandboxDir).then(() => true, () => false), false);
      const bad = await r.deploy("development", "v2.0.0", ["--scenario", "canary-error"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Unknown scenario "canary-error" \(known: canary-errors,/);
      const pause = await r.deploy("development", "v2.0.0", ["--option", "on-breach=wait"]);
      assert.equal(pause.code, 2);
      assert.match(pause.stderr, /on-breach takes pause or rollback, got "wait"/);
      assert.equal(await Deno.stat(r.sandboxDir).then(() => true, () => false), false);
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "deploy with the rolling strategy updates the live slot in place with the Deployment's own strategy",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const envDir = `${r.dir}/environments`;
    await Deno.mkdir(envDir);
    const dev = await Deno.readTextFile("environments/development.yml");
    assert.match(dev, /strategy: blue-green/);
    await Deno.writeTextFile(
      `${envDir}/development.yml`,
      dev.replace("strategy: blue-green", "strategy: rolling"),
    );
    try {
      const first = await r.deploy("development", "v3.0.0", ["--environments-dir", envDir]);
      assert.equal(first.code, 0, first.stdout);
      const second = await r.deploy("development", "v3.0.1", ["--environments-dir", envDir]);
      assert.equal(second.code, 0, second.stdout);
      assert.match(second.stdout, /rolled out to analysis-service-blue/);
      assert.match(second.stdout, /switch: analysis-service: traffic blue → blue/);
      const deployed = stage(second, "deploy:analysis-service") as unknown as {
        output: Record<string, string>;
      };
      assert.deepEqual(deployed.output, {
        service: "analysis-service",
        slot: "blue",
        previousSlot: "blue",
        version: "3.0.1",
        previousVersion: "3.0.0",
      });
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name: "deploy --dry-run says what it would do, measures no gate and changes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const { startSandbox } = await import("../../lib/sandbox/mod.ts");
    const { sandboxSeedFromDir } = await import("../../lib/targets/sandbox_seed.ts");
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      timeScale: 240,
    });
    try {
      // Production deploys only what succeeded in staging: a dry run deploys nothing there.
      const refused = await r.deploy("production", "v6.0.0", ["--dry-run"]);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(stage(refused, "preflight:production").reason!, /never succeeded in staging/);
      assert.equal(stage(refused, "canary-5").status, "skipped");
      const staged = await r.deploy("staging", "v6.0.0");
      assert.equal(staged.code, 0, staged.stdout + staged.stderr);
      const d = await r.deploy("production", "v6.0.0", ["--dry-run"]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.report.dryRun, true);
      assert.match(d.stdout, /canary-5: would send 5% of analysis-service to blue/);
      assert.ok(stage(d, "canary-5").gates.every((g) => g.verdict === "not_measured"));
      const deployments = await r.kubectl(
        "get",
        "deployments",
        "-n",
        "tracktion-prod",
        "-o",
        "name",
      );
      assert.equal(deployments.trim(), "", "a dry run created Deployments");
      const leases = await r.kubectl("get", "leases", "-n", "tracktion-prod", "-o", "name");
      assert.equal(leases.trim(), "", "a dry run took the lock");
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});
