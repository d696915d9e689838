import assert from "node:assert/strict";
import { classifyCommits, parseConventionalCommit } from "../../lib/release/conventional.ts";
import type { Commit } from "../../lib/release/conventional.ts";
import { changelogSection, prependChangelog, renderReleaseNotes } from "../../lib/release/notes.ts";

let n = 0;
function commit(subject: string, options: Partial<Commit> = {}): Commit {
  n++;
  return {
    sha: String(n).padStart(40, "a"),
    parents: ["p"],
    author: "Ada Lovelace",
    subject,
    body: "",
    ...options,
  };
}

Deno.test("parseConventionalCommit() reads type, scope, ! and BREAKING CHANGE footers", () => {
  assert.deepEqual(parseConventionalCommit("fix(api): handle nulls", ""), {
    type: "fix",
    scope: "api",
    description: "handle nulls",
    breaking: false,
    breakingNotes: [],
  });
  const bang = parseConventionalCommit("refactor!: drop node 16", "");
  assert.equal(bang.breaking, true);
  assert.deepEqual(bang.breakingNotes, []);
  const footer = parseConventionalCommit(
    "feat: new config",
    "Long body.\n\nBREAKING CHANGE: the `timeout` key is now in seconds\nand must be an integer\nRefs: #4",
  );
  assert.equal(footer.breaking, true);
  assert.deepEqual(footer.breakingNotes, [
    "the `timeout` key is now in seconds and must be an integer",
  ]);
  const hyphen = parseConventionalCommit("chore: x", "BREAKING-CHANGE: renamed");
  assert.deepEqual(hyphen.breakingNotes, ["renamed"]);
});

Deno.test("parseConventionalCommit() keeps a non-conventional subject whole and finds (#123)", () => {
  const parsed = parseConventionalCommit("Update README (#123)", "");
  assert.equal(parsed.type, undefined);
  assert.equal(parsed.description, "Update README");
  assert.equal(parsed.pullRequest, 123);
});

Deno.test("classifyCommits() groups by type, lists PRs and contributors, skips release commits", () => {
  const content = classifyCommits([
    commit("chore(release): v1.2.4"),
    commit("feat(analysis): FLAC support (#12)", { author: "Sarah Johnson" }),
    commit("fix: memory leak in file processing", { author: "mike chen" }),
    commit("perf: 25% faster analysis"),
    commit("docs: deployment notes", {
      body: "Co-authored-by: Lisa Wang <lisa@example.com>",
    }),
    commit("feat(api)!: remove legacy endpoint", {
      body: "BREAKING CHANGE: GET /api/v1/legacy/analysis is gone",
    }),
    commit("Merge pull request #14 from tracktion/dark-mode", {
      parents: ["p1", "p2"],
      body: "Dark mode theme",
      author: "John Smith",
    }),
    commit("Merge branch 'hotfix'", { parents: ["p1", "p2"] }),
    commit("Tidy up"),
  ]);
  assert.deepEqual(content.features.map((e) => [e.scope, e.description, e.pullRequest]), [
    ["analysis", "FLAC support", 12],
    ["api", "remove legacy endpoint", undefined],
  ]);
  assert.deepEqual(content.fixes.map((e) => e.description), ["memory leak in file processing"]);
  assert.deepEqual(content.performance.map((e) => e.description), ["25% faster analysis"]);
  assert.deepEqual(content.other.map((e) => e.description), ["deployment notes", "Tidy up"]);
  assert.deepEqual(content.breaking.map((e) => e.description), [
    "GET /api/v1/legacy/analysis is gone",
  ]);
  assert.deepEqual(content.pullRequests, [
    { number: 12, title: "feat(analysis): FLAC support" },
    { number: 14, title: "Dark mode theme" },
  ]);
  assert.deepEqual(content.contributors, [
    "Ada Lovelace",
    "John Smith",
    "Lisa Wang",
    "mike chen",
    "Sarah Johnson",
  ]);
});

Deno.test("renderReleaseNotes() renders the template's sections and leaves out empty ones", () => {
  const content = classifyCommits([
    commit("feat(api)!: remove legacy endpoint (#3)"),
    commit("fix: race in uploads"),
  ]);
  const notes = renderReleaseNotes(content, {
    version: { major: 2, minor: 0, patch: 0 },
    previous: "v1.9.1",
    date: "2024-01-15",
    repository: "tracktion/tracktion",
  });
  assert.equal(
    notes,
    [
      "## Release v2.0.0",
      "",
      "**Release Date:** 2024-01-15  ",
      "**Release Type:** Major Release",
      "",
      "### 🚧 Breaking Changes",
      "",
      "- **api:** remove legacy endpoint ([#3](https://github.com/tracktion/tracktion/pull/3)) (aaaaaaa)",
      "",
      "### 🚀 New Features",
      "",
      "- **api:** remove legacy endpoint ([#3](https://github.com/tracktion/tracktion/pull/3)) (aaaaaaa)",
      "",
      "### 🐛 Bug Fixes",
      "",
      `- race in uploads (${content.fixes[0]!.sha})`,
      "",
      "### 📋 Pull Requests",
      "",
      "- #3 feat(api)!: remove legacy endpoint",
      "",
      "### 🙏 Contributors",
      "",
      "- Ada Lovelace",
      "",
      "**Full Changelog**: [v1.9.1...v2.0.0](https://github.com/tracktion/tracktion/compare/v1.9.1...v2.0.0)",
      "",
    ].join("\n"),
  );
  assert.doesNotMatch(notes, /Performance|Other Changes/);
});

Deno.test("renderReleaseNotes() says there are no breaking changes and names pre-releases", () => {
  const notes = renderReleaseNotes(classifyCommits([commit("fix: x")]), {
    version: { major: 1, minor: 3, patch: 0, pre: { id: "rc", n: 1 } },
    date: "2024-01-15",
  });
  assert.match(notes, /^## Release v1\.3\.0-rc\.1\n/);
  assert.match(notes, /\*\*Release Type:\*\* Minor Pre-release \(rc\)/);
  assert.match(notes, /### 🚧 Breaking Changes\n\n\*\*None in this release\*\*\n/);
  assert.doesNotMatch(notes, /Full Changelog/);
});

Deno.test("prependChangelog() creates, prepends under the header, and keeps a headerless file", () => {
  assert.equal(
    prependChangelog(undefined, "## Release v0.1.0\n\nx\n"),
    "# Changelog\n\n## Release v0.1.0\n\nx\n",
  );
  const twice = prependChangelog(
    prependChangelog(undefined, "## Release v0.1.0\n\nold\n"),
    "## Release v0.2.0\n\nnew\n",
  );
  assert.equal(twice, "# Changelog\n\n## Release v0.2.0\n\nnew\n\n## Release v0.1.0\n\nold\n");
  assert.equal(
    prependChangelog("notes by hand\n", "## Release v1.0.0\n"),
    "# Changelog\n\n## Release v1.0.0\n\nnotes by hand\n",
  );
  assert.equal(changelogSection(twice, "v0.1.0"), "## Release v0.1.0\n\nold\n");
  assert.equal(changelogSection(twice, "v0.3.0"), undefined);
});
