import assert from "node:assert/strict";
import { ReleaseFailedError, ReleaseRefusedError } from "../../lib/release/errors.ts";
import { release, type ReleaseOptions } from "../../lib/release/release.ts";
import { createTempRepo, git, type TempRepo } from "./_git_repo.ts";

const NOW = new Date("2024-01-15T10:00:00Z");

function run(repo: TempRepo, options: Partial<ReleaseOptions> = {}) {
  const lines: string[] = [];
  const promise = release({
    cwd: repo.work,
    bump: "minor",
    github: false,
    now: NOW,
    log: (line) => lines.push(line),
    ...options,
  });
  return { promise, lines };
}

async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof ReleaseRefusedError, `expected a refusal, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

async function state(repo: TempRepo) {
  return {
    head: (await repo.git(["rev-parse", "HEAD"])).trim(),
    tags: (await repo.git(["tag", "--list"])).trim(),
    remoteTags: (await git(repo.remote, ["tag", "--list"])).trim(),
    status: (await repo.git(["status", "--porcelain"])).trim(),
  };
}

Deno.test("release() tags, writes CHANGELOG.md, commits and pushes with notes grouped by type", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat(analysis): FLAC and OGG support (#12)", {
    author: "Sarah Johnson <s@example.com>",
  });
  await repo.commit("fix: memory leak in file processing");
  await repo.commit("perf: 25% faster analysis", { author: "Mike Chen <m@example.com>" });
  await repo.commit("docs: deployment notes");
  const { promise, lines } = run(repo);
  const result = await promise;

  assert.equal(result.tag, "v0.1.0");
  assert.equal(result.resumed, false);
  assert.deepEqual(result.steps.map((s) => [s.step, s.status]), [
    ["changelog", "done"],
    ["tag", "done"],
    ["push", "done"],
    ["github", "skipped"],
  ]);
  // The notes: grouped, with PRs and contributors.
  const notes = result.notes;
  assert.match(notes, /^## Release v0\.1\.0\n\n\*\*Release Date:\*\* 2024-01-15/);
  assert.match(
    notes,
    /### 🚀 New Features\n\n- \*\*analysis:\*\* FLAC and OGG support \(#12\) \([0-9a-f]{7}\)\n/,
  );
  assert.match(notes, /### 🐛 Bug Fixes\n\n- memory leak in file processing \([0-9a-f]{7}\)\n/);
  assert.match(notes, /### ⚡ Performance\n\n- 25% faster analysis/);
  assert.match(notes, /### 🔧 Other Changes\n\n- initial commit .*\n- deployment notes/);
  assert.match(notes, /### 📋 Pull Requests\n\n- #12 feat\(analysis\): FLAC and OGG support\n/);
  assert.match(notes, /### 🙏 Contributors\n\n- Ada Lovelace\n- Mike Chen\n- Sarah Johnson\n/);
  assert.ok(lines.includes(notes), "the notes are printed");

  // CHANGELOG.md committed as the release commit, which the tag points at.
  const changelog = await Deno.readTextFile(`${repo.work}/CHANGELOG.md`);
  assert.equal(changelog, `# Changelog\n\n${notes}`);
  assert.equal((await repo.git(["log", "-1", "--format=%s"])).trim(), "chore(release): v0.1.0");
  assert.equal(await repo.git(["show", "HEAD:CHANGELOG.md"]), changelog);
  assert.equal(
    (await repo.git(["rev-parse", "v0.1.0^{commit}"])).trim(),
    (await repo.git(["rev-parse", "HEAD"])).trim(),
  );
  // An annotated tag whose message is the notes (headings kept: --cleanup=verbatim).
  assert.equal((await repo.git(["cat-file", "-t", "v0.1.0"])).trim(), "tag");
  const message = await repo.git(["for-each-ref", "--format=%(contents)", "refs/tags/v0.1.0"]);
  assert.equal(message.trimEnd(), `Release v0.1.0\n\n${notes}`.trimEnd());
  // Pushed: the remote has the tag and main at the release commit.
  const after = await state(repo);
  assert.equal(after.remoteTags, "v0.1.0");
  assert.equal((await git(repo.remote, ["rev-parse", "main"])).trim(), after.head);
  assert.equal(after.status, "");
});

Deno.test("release() bumps from the latest tag and prepends to the changelog", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: first");
  await run(repo).promise;
  await repo.commit("fix: second");
  const second = await run(repo, { bump: "patch" }).promise;
  assert.equal(second.tag, "v0.1.1");
  assert.equal(second.previous, "v0.1.0");
  assert.doesNotMatch(second.notes, /first|chore\(release\)/, "only commits since v0.1.0");
  const changelog = await Deno.readTextFile(`${repo.work}/CHANGELOG.md`);
  assert.ok(changelog.indexOf("## Release v0.1.1") < changelog.indexOf("## Release v0.1.0"));
  assert.ok(changelog.startsWith("# Changelog\n\n## Release v0.1.1\n"));
  await repo.commit("feat!: drop the old API", {});
  const major = await run(repo, { bump: "major" }).promise;
  assert.equal(major.tag, "v1.0.0");
  assert.match(major.notes, /### 🚧 Breaking Changes\n\n- drop the old API/);
});

Deno.test("release() makes rc.1 then rc.2 then the release", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  assert.equal((await run(repo, { pre: "rc" }).promise).tag, "v0.1.0-rc.1");
  await repo.commit("fix: b");
  assert.equal((await run(repo, { pre: "rc" }).promise).tag, "v0.1.0-rc.2");
  await repo.commit("fix: c");
  const final = await run(repo).promise;
  assert.equal(final.tag, "v0.1.0");
  assert.equal(final.previous, "v0.1.0-rc.2");
});

Deno.test("release() refuses outside main, with a dirty tree, without a remote, changing nothing", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const before = await state(repo);

  await repo.git(["checkout", "-q", "-b", "feature"]);
  await refused(
    run(repo).promise,
    /releases are made from "main", but the current branch is "feature"/,
  );
  await repo.git(["checkout", "-q", "--detach"]);
  await refused(run(repo).promise, /HEAD is detached/);
  await repo.git(["checkout", "-q", "main"]);

  await Deno.writeTextFile(`${repo.work}/README.md`, "changed\n");
  await refused(run(repo).promise, /working tree is not clean \(README\.md\)/);
  await repo.git(["checkout", "-q", "--", "README.md"]);
  await Deno.writeTextFile(`${repo.work}/new.txt`, "untracked\n");
  await refused(run(repo).promise, /working tree is not clean \(new\.txt\)/);
  await Deno.remove(`${repo.work}/new.txt`);

  await repo.git(["remote", "remove", "origin"]);
  await refused(run(repo).promise, /there is no remote "origin"/);
  assert.deepEqual(await state(repo), before);
  await assert.rejects(Deno.stat(`${repo.work}/CHANGELOG.md`), Deno.errors.NotFound);
});

Deno.test("release() refuses when nothing was committed since the last tag", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  await run(repo).promise;
  await refused(run(repo).promise, /no commits since v0\.1\.0, which is already fully released/);
});

Deno.test("release() refuses a malformed v* tag, naming it", async () => {
  await using repo = await createTempRepo();
  await repo.git(["tag", "v1.2"]);
  await repo.commit("feat: a");
  await refused(run(repo).promise, /tag "v1\.2" is not a version/);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "v1.2");
});

Deno.test("release() refuses when the remote is ahead or already has the tag", async () => {
  await using repo = await createTempRepo();
  // Someone else pushed to main.
  const other = `${repo.root}/other`;
  await git(repo.root, ["clone", "-q", repo.remote, other]);
  await Deno.writeTextFile(`${other}/x.txt`, "x\n");
  await git(other, ["add", "x.txt"]);
  await git(other, ["commit", "-q", "-m", "fix: theirs"]);
  await git(other, ["push", "-q", "origin", "main"]);
  await repo.commit("feat: mine");
  await refused(
    run(repo).promise,
    /origin\/main has commits that are not in your main; pull them first/,
  );
  // They also pushed the tag we would make.
  await git(other, ["tag", "-a", "-m", "x", "v0.1.0"]);
  await git(other, ["push", "-q", "origin", "v0.1.0"]);
  await repo.git(["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"]);
  await refused(run(repo).promise, /origin already has a different tag v0\.1\.0/);
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});

Deno.test("release() with dryRun prints the notes and the steps and changes nothing", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: dark mode");
  const before = await state(repo);
  const { promise, lines } = run(repo, { dryRun: true });
  const result = await promise;
  assert.equal(result.dryRun, true);
  assert.deepEqual(result.steps.map((s) => s.status), ["planned", "planned", "planned", "skipped"]);
  assert.ok(lines.some((line) => line.includes("### 🚀 New Features\n\n- dark mode")));
  assert.ok(
    lines.includes('would prepend the notes to CHANGELOG.md and commit "chore(release): v0.1.0"'),
  );
  assert.ok(lines.includes("would create the annotated tag v0.1.0 with the notes"));
  assert.ok(lines.includes("would push main and v0.1.0 to origin"));
  assert.deepEqual(await state(repo), before);
  await assert.rejects(Deno.stat(`${repo.work}/CHANGELOG.md`), Deno.errors.NotFound);
});

Deno.test("release() resumes after a failed push, without a second commit or tag", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  // The remote refuses pushes for now (a hook stands for a network or permission failure).
  const hook = `${repo.remote}/hooks/pre-receive`;
  await Deno.writeTextFile(hook, "#!/bin/sh\necho 'remote: pushes are frozen' >&2\nexit 1\n");
  await Deno.chmod(hook, 0o755);
  await assert.rejects(run(repo).promise, (error: Error) => {
    assert.ok(error instanceof ReleaseFailedError);
    assert.match(error.message, /Cannot push main and v0\.1\.0 to origin: .*pushes are frozen/s);
    assert.match(error.message, /run the same command again to finish/);
    return true;
  });
  assert.equal((await repo.git(["tag", "--list"])).trim(), "v0.1.0");
  assert.equal((await git(repo.remote, ["tag", "--list"])).trim(), "");
  const releaseCommit = (await repo.git(["rev-parse", "HEAD"])).trim();

  await Deno.remove(hook);
  const { promise, lines } = run(repo, { bump: "major" });
  const resumed = await promise;
  assert.equal(resumed.tag, "v0.1.0", "the interrupted release, not a new major");
  assert.equal(resumed.resumed, true);
  assert.ok(lines[0]!.startsWith("Resuming release v0.1.0"));
  assert.deepEqual(resumed.steps.map((s) => [s.step, s.status]), [
    ["changelog", "skipped"],
    ["tag", "skipped"],
    ["push", "done"],
    ["github", "skipped"],
  ]);
  assert.equal((await repo.git(["rev-parse", "HEAD"])).trim(), releaseCommit);
  assert.equal((await git(repo.remote, ["tag", "--list"])).trim(), "v0.1.0");
  const changelog = await Deno.readTextFile(`${repo.work}/CHANGELOG.md`);
  assert.equal(changelog.match(/## Release v0\.1\.0/g)?.length, 1);
});

Deno.test("release() resumes after the release commit when the tag is missing", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  await run(repo).promise;
  await repo.commit("fix: b");
  await run(repo, { bump: "patch" }).promise;
  // Simulate an interruption between the release commit and the tag.
  await repo.git(["tag", "-d", "v0.1.1"]);
  await git(repo.remote, ["tag", "-d", "v0.1.1"]);
  const resumed = await run(repo, { bump: "patch" }).promise;
  assert.equal(resumed.tag, "v0.1.1");
  assert.deepEqual(resumed.steps.map((s) => [s.step, s.status]), [
    ["changelog", "skipped"],
    ["tag", "done"],
    ["push", "done"],
    ["github", "skipped"],
  ]);
  assert.match(resumed.notes, /^## Release v0\.1\.1\n[\s\S]*- b \(/);
  const message = await repo.git(["for-each-ref", "--format=%(contents)", "refs/tags/v0.1.1"]);
  assert.match(message, /^Release v0\.1\.1\n\n## Release v0\.1\.1\n/);
});

Deno.test("release() puts CHANGELOG.md back when the release commit fails (a hook refuses)", async () => {
  await using repo = await createTempRepo();
  await Deno.writeTextFile(`${repo.work}/CHANGELOG.md`, "# Changelog\n\nby hand\n");
  await repo.git(["add", "CHANGELOG.md"]);
  await repo.git(["commit", "-q", "-m", "docs: changelog"]);
  const hook = `${repo.work}/.git/hooks/pre-commit`;
  await Deno.writeTextFile(hook, "#!/bin/sh\necho 'lint failed' >&2\nexit 1\n");
  await Deno.chmod(hook, 0o755);
  const before = await state(repo);
  await assert.rejects(run(repo).promise, (error: Error) => {
    assert.ok(error instanceof ReleaseFailedError);
    assert.match(
      error.message,
      /^Cannot commit CHANGELOG\.md: .*lint failed.*nothing was changed$/s,
    );
    return true;
  });
  assert.deepEqual(await state(repo), before);
  assert.equal(await Deno.readTextFile(`${repo.work}/CHANGELOG.md`), "# Changelog\n\nby hand\n");
  await Deno.remove(hook);
  assert.equal((await run(repo).promise).tag, "v0.1.0");
});

Deno.test("release() treats a tag made by hand at HEAD as released: no commits since it", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  await repo.git(["tag", "v0.3.0"]);
  await refused(run(repo).promise, /no commits since v0\.3\.0; nothing to release/);
  await repo.git(["tag", "-a", "-m", "hand-made", "v0.3.1"]);
  await refused(run(repo).promise, /no commits since v0\.3\.1; nothing to release/);
});

Deno.test("release() completes a release whose branch on the remote has moved on", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  const hook = `${repo.remote}/hooks/pre-receive`;
  await Deno.writeTextFile(hook, "#!/bin/sh\nexit 1\n");
  await Deno.chmod(hook, 0o755);
  await assert.rejects(run(repo).promise, ReleaseFailedError);
  await Deno.remove(hook);
  // Someone pushes the release commit plus more work; we only fetch.
  const other = `${repo.root}/other`;
  await git(repo.root, ["clone", "-q", repo.remote, other]);
  await git(other, ["fetch", "-q", repo.work, "main"]);
  await git(other, ["merge", "-q", "--ff-only", "FETCH_HEAD"]);
  await Deno.writeTextFile(`${other}/later.txt`, "later\n");
  await git(other, ["add", "later.txt"]);
  await git(other, ["commit", "-q", "-m", "fix: later"]);
  await git(other, ["push", "-q", "origin", "main"]);
  await repo.git(["fetch", "-q", "origin"]);
  const { promise, lines } = run(repo);
  const resumed = await promise;
  assert.deepEqual(resumed.steps.map((s) => [s.step, s.status]), [
    ["changelog", "skipped"],
    ["tag", "skipped"],
    ["push", "done"],
    ["github", "skipped"],
  ]);
  assert.ok(lines.includes("done: pushed v0.1.0 to origin"), lines.join("\n"));
  assert.equal((await git(repo.remote, ["tag", "--list"])).trim(), "v0.1.0");
});

Deno.test("release() fails with exit code 1 when the remote cannot be reached, hiding credentials", async () => {
  await using repo = await createTempRepo();
  await repo.commit("feat: a");
  await repo.git([
    "remote",
    "set-url",
    "origin",
    `file://user:s3cret@localhost${repo.root}/gone.git`,
  ]);
  await assert.rejects(run(repo).promise, (error: Error) => {
    assert.ok(error instanceof ReleaseFailedError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /^Cannot reach remote "origin": /);
    assert.doesNotMatch(error.message, /s3cret/);
    return true;
  });
  assert.equal((await repo.git(["tag", "--list"])).trim(), "");
});
