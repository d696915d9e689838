/**
 * `deno task release` (`deno run -A lib/cli/main.ts release`) as a process: exit codes, messages, and a full release over
 * real HTTP on 127.0.0.1 against the GitHub STAND-IN (see _github_standin.ts).
 */
import assert from "node:assert/strict";
import { createTempRepo, git } from "./_git_repo.ts";
import { GitHubStandIn } from "./_github_standin.ts";

const MAIN = new URL("../../lib/cli/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "ghs_cli_token_0123456789";

async function cli(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", MAIN, "release", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    clearEnv: false,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function withoutToken(): Record<string, string> {
  // The child inherits this process's environment; make sure no real token leaks in.
  return { GITHUB_TOKEN: "", GITHUB_API_URL: "http://127.0.0.1:9" };
}

Deno.test("release main() exits 2 with usage on bad arguments", async () => {
  for (const args of [[], ["sideways"], ["minor", "extra"], ["minor", "--bogus"]]) {
    const result = await cli(args, withoutToken());
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^error: .*\n\nusage: deno task release <major\|minor\|patch>/);
  }
  for (const cwd of ["/nonexistent", "deno.json"]) {
    const result = await cli(["patch", "--no-github", "--cwd", cwd], withoutToken());
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`^error: --cwd ${cwd} is not a folder\n\nusage:`));
  }
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--dry-run/);
});

Deno.test("release main() exits 2 on a dirty tree, a missing token and a bad pre id", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  await Deno.writeTextFile(`${repo.work}/README.md`, "dirty\n");
  const dirty = await cli(["minor", "--cwd", repo.work], withoutToken());
  assert.equal(dirty.code, 2);
  assert.equal(
    dirty.stderr,
    "error: Cannot release: the working tree is not clean (README.md); commit or remove the changes first\n",
  );
  await repo.git(["checkout", "-q", "--", "README.md"]);
  const noToken = await cli(
    ["minor", "--repository", "o/r", "--cwd", repo.work],
    withoutToken(),
  );
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /GITHUB_TOKEN is not set/);
  const badPre = await cli(
    ["minor", "--pre", "1x", "--no-github", "--cwd", repo.work],
    withoutToken(),
  );
  assert.equal(badPre.code, 2);
  assert.match(badPre.stderr, /pre-release id "1x"/);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});

Deno.test("release main() --dry-run --no-github prints the notes and changes nothing", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: batch analysis API");
  const result = await cli(
    ["minor", "--dry-run", "--no-github", "--cwd", repo.work],
    withoutToken(),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Releasing v0\.1\.0 \[dry run: nothing will change\]/);
  assert.match(result.stdout, /### 🚀 New Features\n\n- batch analysis API/);
  assert.match(result.stdout, /Dry run of v0\.1\.0 complete: nothing was changed\n$/);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
  assert.equal((await repo.git(["status", "--porcelain"])).trim(), "");
});

Deno.test("release main() releases over real HTTP to the GitHub stand-in on 127.0.0.1", async () => {
  await using repo = await createTempRepo();
  await repo.commit("fix: timestamps in analysis results (#31)");
  const github = await GitHubStandIn.create({ token: TOKEN });
  await using server = github.serve();
  const env = {
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: `http://127.0.0.1:${server.addr.port}`,
  };
  const result = await cli(
    ["patch", "--repository", "octokit-fixture-org/hello-world", "--cwd", repo.work],
    env,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Release v0\.0\.1 created\n$/);
  assert.ok(!result.stdout.includes(TOKEN) && !result.stderr.includes(TOKEN));
  assert.deepEqual(github.calls, ["repos/get", "repos/get-release-by-tag", "repos/create-release"]);
  assert.deepEqual(github.violations, []);
  assert.equal((await git(repo.remote, ["tag", "--list"])).trim(), "v0.0.1");
  assert.match(
    github.releases.get("v0.0.1").body,
    /### 🐛 Bug Fixes\n\n- timestamps in analysis results/,
  );
});

Deno.test("release main() exits 1 when GitHub is unreachable, before changing anything", async () => {
  await using repo = await createTempRepo();
  await repo.commit("fix: a");
  // A port that was just free: nothing listens there, the connection is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await cli(
    ["patch", "--repository", "o/r", "--cwd", repo.work],
    { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: `http://127.0.0.1:${port}` },
  );
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: Cannot read GitHub repository o\/r: GitHub is unreachable \(.+\)\n$/,
  );
  assert.ok(!result.stderr.includes(TOKEN));
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});
