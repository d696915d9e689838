// Who the records name (lib/runner/identity.ts) and what the confirmation prompt says
// (lib/cli/approve.ts): a real git repository in a temporary folder, with and without
// user.email, and the CLI's approval record of a real run.
import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { actor } from "../../lib/runner/identity.ts";
import { approver, confirmationPrompt } from "../../lib/cli/approve.ts";
import { cli, fixture } from "./_run.ts";

/** An environment for `git` that reads no system or user configuration. */
function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    ...extra,
  };
}

async function git(cwd: string, env: Record<string, string>, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", { args, cwd, env, clearEnv: true }).output();
  assert.ok(out.success, `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("actor() is git's user.email in a repository that sets it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "identity-git-" });
  try {
    const env = isolatedEnv(dir, { USER: "os-user" });
    await git(dir, env, "init", "-q");
    await git(dir, env, "config", "user.email", "ada@example.com");
    assert.equal(await actor({ cwd: dir, env }), "ada@example.com");
    // DEPLOY_ACTOR overrides it (a CI job's identity); blank counts as unset.
    assert.equal(
      await actor({ cwd: dir, env: { ...env, DEPLOY_ACTOR: "ci@example.com" } }),
      "ci@example.com",
    );
    assert.equal(await actor({ cwd: dir, env: { ...env, DEPLOY_ACTOR: "  " } }), "ada@example.com");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("actor() without user.email is the OS user, never unknown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "identity-nogit-" });
  try {
    const env = isolatedEnv(dir);
    await git(dir, env, "init", "-q");
    assert.equal(await actor({ cwd: dir, env: { ...env, USER: "os-user" } }), "os-user");
    assert.equal(await actor({ cwd: dir, env: { ...env, LOGNAME: "login-user" } }), "login-user");
    // Neither USER nor LOGNAME: the account's name.
    const bare = await actor({ cwd: dir, env });
    assert.equal(bare, userInfo().username);
    assert.notEqual(bare, "unknown");
    assert.notEqual(bare, "");
    // Not a repository, and no git on PATH at all: still the OS user.
    const noGit = await actor({ cwd: dir, env: { HOME: dir, PATH: dir, USER: "os-user" } });
    assert.equal(noGit, "os-user");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("approver() prints the phrase to type, and a wrong one is told what was expected", async () => {
  const written: string[] = [];
  const typed = ["deploy to production", "", "DEPLOY TO PRODUCTION"];
  const approve = approver({
    interactive: true,
    user: "ada@example.com",
    readLine: () => Promise.resolve(typed.shift() ?? null),
    write: (t) => written.push(t),
  });
  const wrong = await approve("confirm", "DEPLOY TO PRODUCTION");
  assert.equal(wrong.approved, false);
  assert.equal(wrong.by, "ada@example.com");
  const text = written.join("");
  assert.ok(text.includes(confirmationPrompt("confirm", "DEPLOY TO PRODUCTION")), text);
  assert.match(text, /Type "DEPLOY TO PRODUCTION" to continue: /);
  assert.match(
    text,
    /"deploy to production" is not the phrase: expected "DEPLOY TO PRODUCTION" exactly/,
  );
  assert.match(text, /stage "confirm" is not approved/);

  written.length = 0;
  const empty = await approve("confirm", "DEPLOY TO PRODUCTION");
  assert.equal(empty.approved, false);
  assert.match(written.join(""), /Nothing was typed: expected "DEPLOY TO PRODUCTION"/);

  written.length = 0;
  const right = await approve("confirm", "DEPLOY TO PRODUCTION");
  assert.equal(right.approved, true);
  assert.equal(right.method, "tty");
  assert.doesNotMatch(written.join(""), /expected/);
});

Deno.test("a run's approval record names who ran it: git's user.email or the OS user", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const marker = `${dir}/marker`;
    // The child runs in this repository with this process's environment (no DEPLOY_ACTOR).
    const expected = await actor({ env: { ...Deno.env.toObject(), DEPLOY_ACTOR: "" } });
    const r = await cli([
      "run",
      fixture("approval.ts"),
      "development",
      "1.2.4",
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
      "--option",
      `marker=${marker}`,
      "--confirm",
      "DEPLOY TO PRODUCTION",
    ], { env: { DEPLOY_ACTOR: "" } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const last = r.stdout.trimEnd().split("\n").at(-1)!;
    const report = JSON.parse(await Deno.readTextFile(last.slice("report: ".length)));
    const confirm = report.stages.find((s: { id: string }) => s.id === "confirm");
    assert.equal(confirm.approval.by, expected);
    assert.notEqual(confirm.approval.by, "unknown");
    // The run's header names the same person.
    assert.equal(report.who.user, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
