/** The deployment reporter against a STAND-IN for GitHub (see _github_standin.ts). */
import assert from "node:assert/strict";
import { createDeploymentReporter } from "../../lib/release/github_deployments.ts";
import { GitHubStandIn } from "./_github_standin.ts";

const TOKEN = "ghs_deploy_token_0123456789";
const REPOSITORY = "tracktion/tracktion";

async function setup(options: { token?: string } = {}) {
  const github = await GitHubStandIn.create({ token: TOKEN });
  const logged: string[] = [];
  const reporter = createDeploymentReporter({
    token: options.token ?? TOKEN,
    repository: REPOSITORY,
    fetch: github.fetch,
    log: (line) => logged.push(line),
  });
  return { github, reporter, logged };
}

Deno.test("createDeploymentReporter() creates a deployment for the tag and posts statuses", async () => {
  const { github, reporter, logged } = await setup();
  const started = await reporter.start("1.3.0", "staging", {
    logUrl: "https://ci.example.com/runs/42",
  });
  assert.equal(started.ok, true);
  assert.equal(reporter.deploymentId, started.ok ? started.id : -1);
  const done = await reporter.status("success", "Deployed v1.3.0", {
    environmentUrl: "https://staging.example.com",
  });
  assert.equal(done.ok, true);

  assert.deepEqual(github.violations, []);
  assert.deepEqual(github.calls, [
    "repos/create-deployment",
    "repos/create-deployment-status",
    "repos/create-deployment-status",
  ]);
  const [create, progress, success] = github.requests;
  assert.equal(create!.path, "/repos/tracktion/tracktion/deployments");
  assert.deepEqual(create!.body, {
    ref: "v1.3.0",
    environment: "staging",
    auto_merge: false,
    required_contexts: [],
    description: "Deploy v1.3.0 to staging",
    production_environment: false,
    payload: { version: "v1.3.0" },
  });
  assert.equal(
    progress!.path,
    `/repos/tracktion/tracktion/deployments/${reporter.deploymentId}/statuses`,
  );
  assert.deepEqual(progress!.body, {
    state: "in_progress",
    description: "Deploying v1.3.0",
    environment: "staging",
    log_url: "https://ci.example.com/runs/42",
    auto_inactive: true,
  });
  assert.equal(success!.body.state, "success");
  assert.equal(success!.body.environment_url, "https://staging.example.com");
  const stored = github.deployments.get(reporter.deploymentId!)!;
  assert.deepEqual(stored.statuses.map((s) => s.state), ["in_progress", "success"]);
  assert.deepEqual(logged, []);
});

Deno.test("createDeploymentReporter() posts failure and clips long descriptions to 140 characters", async () => {
  const { github, reporter } = await setup();
  await reporter.start("v2.0.0-rc.1", "production", { productionEnvironment: true });
  const outcome = await reporter.status("failure", `Canary failed: ${"x".repeat(300)}`);
  assert.equal(outcome.ok, true);
  const body = github.requests.at(-1)!.body;
  assert.equal(body.state, "failure");
  assert.equal(body.description.length, 140);
  assert.equal(github.requests[0]!.body.production_environment, true);
  assert.equal(github.requests[0]!.body.ref, "v2.0.0-rc.1");
  assert.deepEqual(github.violations, []);
});

Deno.test("createDeploymentReporter() returns and logs 401, 403 and 422 instead of throwing", async () => {
  const bad = await setup({ token: "ghp_wrong" });
  const unauthorized = await bad.reporter.start("1.0.0", "staging");
  assert.equal(unauthorized.ok, false);
  assert.match(
    unauthorized.ok ? "" : unauthorized.error,
    /^Cannot create deployment of v1\.0\.0 to staging in tracktion\/tracktion: GitHub answered 401 \(Bad credentials\)/,
  );
  // Without a deployment, later statuses are outcomes too, with no request made.
  const later = await bad.reporter.status("success", "done");
  assert.deepEqual(later, {
    ok: false,
    error: 'Cannot post deployment status "success": no deployment was created',
  });
  assert.equal(bad.github.requests.length, 1);
  assert.equal(bad.logged.length, 2);
  assert.ok(!bad.logged.join("\n").includes("ghp_wrong"));

  const { github, reporter, logged } = await setup();
  github.failNext("repos/create-deployment", 403);
  const forbidden = await reporter.start("1.0.0", "staging");
  assert.match(forbidden.ok ? "" : forbidden.error, /GitHub answered 403 .*lacks permission/);
  const started = await reporter.start("1.0.0", "staging");
  assert.equal(started.ok, true);
  github.failNext("repos/create-deployment-status", 422);
  const invalid = await reporter.status("success", "done");
  assert.match(
    invalid.ok ? "" : invalid.error,
    /^Cannot post deployment status "success" to tracktion\/tracktion: GitHub answered 422 \(Validation Failed/,
  );
  assert.equal(logged.length, 2);
  assert.deepEqual(github.violations, []);
});

Deno.test("createDeploymentReporter() survives GitHub being down or hanging", async () => {
  const { github, reporter, logged } = await setup();
  github.networkDown = true;
  const down = await reporter.start("1.0.0", "staging");
  assert.equal(down.ok, false);
  assert.match(down.ok ? "" : down.error, /GitHub is unreachable/);
  assert.match(logged[0]!, /^github deployments: Cannot create deployment/);

  const hanging = createDeploymentReporter({
    token: TOKEN,
    repository: REPOSITORY,
    timeoutMs: 100,
    log: () => {},
    fetch: (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      }),
  });
  const timedOut = await hanging.start("1.0.0", "staging");
  assert.match(timedOut.ok ? "" : timedOut.error, /no answer within 100 ms/);
});

Deno.test("createDeploymentReporter() rejects bad input as outcomes: repository, version, state", async () => {
  const noRepo = createDeploymentReporter({ token: TOKEN, repository: "nope", log: () => {} });
  assert.match(
    (await noRepo.start("1.0.0", "staging") as { error: string }).error,
    /Cannot parse repository "nope"/,
  );
  const { github, reporter } = await setup();
  assert.match(
    (await reporter.start("latest", "staging") as { error: string }).error,
    /Cannot parse version "latest"/,
  );
  await reporter.start("1.0.0", "staging");
  const outcome = await reporter.status("done" as "success", "x");
  assert.match((outcome as { error: string }).error, /unknown state "done"/);
  assert.deepEqual(github.calls, ["repos/create-deployment", "repos/create-deployment-status"]);
});
