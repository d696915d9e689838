import assert from "node:assert/strict";
import { resolveRepository } from "../../lib/release/_repository.ts";
import {
  parseGitHubRemote,
  parseRepositoryName,
  redactUrl,
} from "../../lib/release/github_remote.ts";

Deno.test("parseGitHubRemote() reads https, scp-like ssh and ssh:// URLs", () => {
  const expected = { host: "github.com", owner: "tracktion", repo: "deploy" };
  for (
    const url of [
      "https://github.com/tracktion/deploy.git",
      "https://github.com/tracktion/deploy",
      "https://github.com/tracktion/deploy/",
      "https://x-access-token:ghp_secret@github.com/tracktion/deploy.git",
      "git@github.com:tracktion/deploy.git",
      "git@github.com:tracktion/deploy",
      "ssh://git@github.com/tracktion/deploy.git",
      "ssh://git@github.com:22/tracktion/deploy.git",
      "git://github.com/tracktion/deploy.git",
    ]
  ) {
    assert.deepEqual(parseGitHubRemote(url), expected, url);
  }
  assert.deepEqual(parseGitHubRemote("git@ghe.example.com:team/my.repo.git"), {
    host: "ghe.example.com",
    owner: "team",
    repo: "my.repo",
  });
});

Deno.test("parseGitHubRemote() rejects local paths and URLs without owner/repo, hiding credentials", () => {
  for (
    const url of [
      "/tmp/remote.git",
      "file:///tmp/remote.git",
      "https://github.com/tracktion",
      "https://github.com/a/b/c",
      "",
    ]
  ) {
    assert.throws(() => parseGitHubRemote(url), SyntaxError, url);
  }
  assert.throws(
    () => parseGitHubRemote("https://user:hunter2@github.com/only-owner"),
    (error: Error) => {
      assert.doesNotMatch(error.message, /hunter2/);
      assert.match(error.message, /https:\/\/\*\*\*@github\.com\/only-owner/);
      return true;
    },
  );
});

Deno.test("parseRepositoryName() reads owner/name and rejects other text", () => {
  assert.deepEqual(parseRepositoryName("o/r.git"), { owner: "o", repo: "r" });
  assert.throws(() => parseRepositoryName("just-a-name"), /Cannot parse repository "just-a-name"/);
  assert.equal(redactUrl("git@github.com:o/r.git"), "git@github.com:o/r.git");
});

Deno.test("resolveRepository() derives the API root: github.com, Enterprise hosts, overrides", () => {
  assert.deepEqual(resolveRepository("git@github.com:o/r.git", {}), {
    owner: "o",
    repo: "r",
    apiUrl: "https://api.github.com",
  });
  assert.deepEqual(resolveRepository("https://ghe.example.com/team/app.git", {}), {
    owner: "team",
    repo: "app",
    apiUrl: "https://ghe.example.com/api/v3",
  });
  assert.deepEqual(
    resolveRepository("/tmp/x.git", { repository: "a/b", apiUrl: "http://127.0.0.1:1" }),
    { owner: "a", repo: "b", apiUrl: "http://127.0.0.1:1" },
  );
  assert.throws(
    () => resolveRepository("/tmp/x.git", {}),
    /ReleaseRefusedError: Cannot release to GitHub: Cannot find the GitHub repository in remote URL "\/tmp\/x\.git"/,
  );
});
