/**
 * The release's GitHub part against a STAND-IN for GitHub (see _github_standin.ts):
 * recorded answers from @octokit/fixtures, others from GitHub's OpenAPI examples,
 * every request and answer checked against GitHub's OpenAPI description.
 */
import assert from "node:assert/strict";
import { ReleaseFailedError, ReleaseRefusedError } from "../../lib/release/errors.ts";
import { release, type ReleaseOptions } from "../../lib/release/release.ts";
import { createTempRepo, git, type TempRepo } from "./_git_repo.ts";
import { GitHubStandIn } from "./_github_standin.ts";

const TOKEN = "ghs_standin_token_0123456789";
const REPOSITORY = "octokit-fixture-org/hello-world";

function run(repo: TempRepo, github: GitHubStandIn, options: Partial<ReleaseOptions> = {}) {
  const lines: string[] = [];
  const promise = release({
    cwd: repo.work,
    bump: "minor",
    token: TOKEN,
    repository: REPOSITORY,
    fetch: github.fetch,
    now: new Date("2024-01-15T10:00:00Z"),
    log: (line) => lines.push(line),
    ...options,
  });
  return { promise, lines };
}

async function rejectsWith(
  promise: Promise<unknown>,
  kind: typeof ReleaseFailedError | typeof ReleaseRefusedError,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, new RegExp(TOKEN));
    return true;
  });
}

Deno.test("release() creates the GitHub release with the notes (stand-in GitHub)", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: dark mode (#7)");
  const github = await GitHubStandIn.create({ token: TOKEN });
  const { promise, lines } = run(repo, github);
  const result = await promise;
  assert.deepEqual(github.violations, []);
  assert.deepEqual(github.calls, [
    "repos/get",
    "repos/get-release-by-tag",
    "repos/create-release",
  ]);
  const create = github.requests[2]!;
  assert.equal(create.method, "POST");
  assert.equal(create.path, "/repos/octokit-fixture-org/hello-world/releases");
  assert.deepEqual(create.body, {
    tag_name: "v0.1.0",
    name: "Release v0.1.0",
    body: result.notes,
    draft: false,
    prerelease: false,
    make_latest: "true",
  });
  assert.match(
    result.notes,
    /\[#7\]\(https:\/\/github\.com\/octokit-fixture-org\/hello-world\/pull\/7\)/,
  );
  assert.equal(result.githubRelease?.action, "created");
  assert.equal(
    result.githubRelease?.url,
    "https://github.com/octokit-fixture-org/hello-world/releases/tag/v0.1.0",
  );
  assert.ok(lines.at(-1)!.startsWith("done: GitHub release v0.1.0 created"));
  assert.ok(!lines.join("\n").includes(TOKEN), "the token is never printed");
});

Deno.test("release() marks pre-releases and does not make them latest", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  await run(repo, github, { pre: "rc" }).promise;
  const body = github.requests.at(-1)!.body;
  assert.equal(body.tag_name, "v0.1.0-rc.1");
  assert.equal(body.prerelease, true);
  assert.equal(body.make_latest, "false");
  assert.deepEqual(github.violations, []);
});

Deno.test("release() refuses without a token or a GitHub remote, before changing anything", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  await rejectsWith(
    run(repo, github, { token: "" }).promise,
    ReleaseRefusedError,
    /GITHUB_TOKEN is not set; .* or pass --no-github/,
  );
  await rejectsWith(
    run(repo, github, { repository: undefined as unknown as string }).promise,
    ReleaseRefusedError,
    /Cannot release to GitHub: Cannot find the GitHub repository in remote URL ".*remote\.git".*pass --repository <owner>\/<name> or --no-github/,
  );
  assert.deepEqual(github.requests, []);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});

Deno.test("release() refuses on 401 and 403 from GitHub before tagging", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  await rejectsWith(
    run(repo, github, { token: "ghp_wrong" }).promise,
    ReleaseRefusedError,
    /^Cannot read GitHub repository octokit-fixture-org\/hello-world: GitHub answered 401 \(Bad credentials\): the token is invalid or expired; check GITHUB_TOKEN$/,
  );
  github.failNext("repos/get", 403);
  await rejectsWith(
    run(repo, github).promise,
    ReleaseRefusedError,
    /GitHub answered 403 \(Resource not accessible by personal access token\): the token lacks permission/,
  );
  const readOnly = await GitHubStandIn.create({ token: TOKEN, push: false });
  await rejectsWith(
    run(repo, readOnly).promise,
    ReleaseRefusedError,
    /the token has no push permission there/,
  );
  assert.deepEqual([...github.violations, ...readOnly.violations], []);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
  assert.equal((await repo.git(["log", "-1", "--format=%s"])).trim(), "feat: a");
});

Deno.test("release() fails when GitHub is unreachable before tagging (exit 1, nothing changed)", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  github.networkDown = true;
  await rejectsWith(
    run(repo, github).promise,
    ReleaseFailedError,
    /^Cannot read GitHub repository octokit-fixture-org\/hello-world: GitHub is unreachable \(dns error/,
  );
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});

Deno.test("release() fails on 422 after pushing, then a re-run completes without duplicates", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  github.failNext("repos/create-release", 422);
  await rejectsWith(
    run(repo, github).promise,
    ReleaseFailedError,
    /^Cannot create GitHub release v0\.1\.0 in octokit-fixture-org\/hello-world: GitHub answered 422 \(Validation Failed: Label color invalid\)$/,
  );
  // Tag pushed, release missing.
  assert.equal((await git(repo.remote, ["tag", "--list"])).trim(), "v0.1.0");
  assert.equal(github.releases.size, 0);

  github.requests.length = 0;
  const resumed = await run(repo, github).promise;
  assert.equal(resumed.resumed, true);
  assert.deepEqual(resumed.steps.map((s) => [s.step, s.status]), [
    ["changelog", "skipped"],
    ["tag", "skipped"],
    ["push", "skipped"],
    ["github", "done"],
  ]);
  assert.deepEqual(github.calls, ["repos/get", "repos/get-release-by-tag", "repos/create-release"]);
  assert.equal(github.releases.size, 1);
  assert.equal(github.releases.get("v0.1.0").body, resumed.notes);

  // A third run finds everything done: no new commits, nothing to do.
  github.requests.length = 0;
  await rejectsWith(
    run(repo, github).promise,
    ReleaseRefusedError,
    /no commits since v0\.1\.0, which is already fully released/,
  );
  assert.deepEqual(github.calls, ["repos/get", "repos/get-release-by-tag"]);
  assert.equal(github.releases.size, 1);
  assert.deepEqual(github.violations, []);
});

Deno.test("release() fails when the network drops after pushing, and a re-run finishes", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  let calls = 0;
  const flaky: typeof fetch = (input, init) => {
    calls++;
    if (calls > 1) github.networkDown = true;
    return github.fetch(input, init);
  };
  await rejectsWith(
    run(repo, github, { fetch: flaky }).promise,
    ReleaseFailedError,
    /^Cannot look up GitHub release v0\.1\.0 in octokit-fixture-org\/hello-world: GitHub is unreachable/,
  );
  github.networkDown = false;
  const resumed = await run(repo, github).promise;
  assert.equal(resumed.githubRelease?.action, "created");
  assert.equal(github.releases.size, 1);
});

Deno.test("release() updates a GitHub release whose notes differ, and times out a hanging GitHub", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const github = await GitHubStandIn.create({ token: TOKEN });
  await run(repo, github).promise;
  github.releases.get("v0.1.0").body = "edited by hand";
  github.requests.length = 0;
  const again = await run(repo, github).promise;
  assert.equal(again.githubRelease?.action, "updated");
  assert.deepEqual(github.calls, ["repos/get", "repos/get-release-by-tag", "repos/update-release"]);
  assert.equal(github.requests[2]!.method, "PATCH");
  assert.equal(github.releases.get("v0.1.0").body, again.notes);
  assert.deepEqual(github.violations, []);

  const hanging: typeof fetch = (_input, init) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
    });
  await repo.commit("fix: b");
  await rejectsWith(
    run(repo, github, { fetch: hanging, timeoutMs: 200 }).promise,
    ReleaseFailedError,
    /GitHub is unreachable \(no answer within 200 ms\)/,
  );
});
