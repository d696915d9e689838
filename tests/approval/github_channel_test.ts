/**
 * GitHub as an approval channel (lib/approval/github.ts) against an OpenAPI-checked stand-in
 * of GitHub's issues API: the issue is answered with GitHub's recorded response
 * (@octokit/fixtures "add-labels-to-issue"), comments with the official description's
 * examples, and every request and answer is validated against that description
 * (tests/release/_openapi.ts). Two approvals and the deployer's (ignored) let the run go on; a
 * listed approver's deny stops it; nothing enough by the limit stops it naming who was needed.
 * @module
 */
import assert from "node:assert/strict";
import { loadGitHubOpenApi } from "../release/_openapi.ts";
import { IssuesStandIn, TOKEN } from "./_github_issues.ts";
import { createGitHubClient } from "../../lib/release/github_client.ts";
import {
  type ApprovalIssue,
  GitHubDeniedError,
  openApprovalIssue,
  waitForGitHubApprovals,
} from "../../lib/approval/github.ts";
import { type ApprovalPolicy, countGitHubApprovals } from "../../lib/approval/approvals.ts";
import { virtualClock } from "../../lib/clock/mod.ts";

const POLICY: ApprovalPolicy = {
  required: 2,
  validForMs: 86_400_000,
  approvers: ["ada", "bob", "cy"].map((n) => ({
    name: n.toUpperCase(),
    email: `${n}@example.com`,
    github: `${n}-gh`,
    publicKey: "",
  })),
};
const CONTEXT = {
  digest: "sha256:" + "ab".repeat(32),
  environment: "production",
  version: "v1.2.4",
  deployer: "cy@example.com",
};

async function channel() {
  const standIn = new IssuesStandIn(await loadGitHubOpenApi());
  const octokit = createGitHubClient({
    token: TOKEN,
    baseUrl: "https://api.github.com",
    fetch: standIn.fetch,
  });
  const o = { octokit, repository: "acme/shop", policy: POLICY, runId: "r-1", context: CONTEXT };
  return { standIn, o };
}

/** Comments arrive while the run waits, each a little later (real time). */
function later(standIn: IssuesStandIn, issue: ApprovalIssue, comments: [string, string][]) {
  return (async () => {
    for (const [login, body] of comments) {
      await new Promise((r) => setTimeout(r, 150));
      standIn.comment(issue.number, login, body);
    }
  })();
}

Deno.test("two approving comments let the run go on; the deployer's approve is ignored", async () => {
  const { standIn, o } = await channel();
  const issue = await openApprovalIssue(o);
  const opened = standIn.issues.get(issue.number)!.issue;
  assert.match(opened.title, /production v1\.2\.4 \(run r-1\)/);
  for (const text of ["@ada-gh (ADA)", "@bob-gh (BOB)", CONTEXT.digest, "`r-1`"]) {
    assert.ok(opened.body.includes(text), `the issue names ${text}`);
  }
  const progress: number[] = [];
  const clock = virtualClock({ startMs: Date.now() });
  const comments = later(standIn, issue, [
    ["cy-gh", "approve"],
    ["ada-gh", "Approved. CHG-1234"],
    ["mallory", "approve"],
    ["bob-gh", "lgtm"],
  ]);
  const verdict = await waitForGitHubApprovals({
    ...o,
    issue,
    timeoutMs: 60_000,
    clock,
    onProgress: (v) => progress.push(v.valid.length),
  });
  await comments;
  assert.ok(verdict.ok);
  assert.deepEqual(verdict.valid.map((a) => [a.kind, a.login, a.approver]), [
    ["github", "ada-gh", "ada@example.com"],
    ["github", "bob-gh", "bob@example.com"],
  ]);
  assert.equal(verdict.valid[0]!.comment, "Approved. CHG-1234");
  assert.match(verdict.valid[0]!.url, /issuecomment-\d+$/);
  assert.deepEqual(verdict.ignored.map((i) => i.reason), [
    "cy-gh is the deployer: nobody approves their own deploy",
    "mallory is not the GitHub login of a listed approver",
  ]);
  assert.ok(progress.length >= 1, "progress was told");
  assert.equal(standIn.issues.get(issue.number)!.issue.state, "closed");
  assert.equal(standIn.issues.get(issue.number)!.issue.state_reason, "completed");
  assert.deepEqual(standIn.violations, []);
  clock.dispose();
});

Deno.test("a listed approver's deny stops the run; an unlisted deny does not", async () => {
  const { standIn, o } = await channel();
  const issue = await openApprovalIssue(o);
  const comments = later(standIn, issue, [
    ["mallory", "deny"],
    ["ada-gh", "approve"],
    ["bob-gh", "deny: the canary of v1.2.3 is still open"],
  ]);
  const clock = virtualClock({ startMs: Date.now() });
  const error = await waitForGitHubApprovals({ ...o, issue, timeoutMs: 60_000, clock })
    .catch((e) => e);
  await comments;
  assert.ok(error instanceof GitHubDeniedError, String(error));
  assert.match(
    error.message,
    /was denied on https:\/\/github.com\/acme\/shop\/issues\/1 by BOB \(@bob-gh\): "deny: the canary/,
  );
  assert.match(error.message, /Nothing was changed/);
  const entry = standIn.issues.get(issue.number)!;
  assert.equal(entry.issue.state_reason, "not_planned");
  assert.match(entry.comments.at(-1).body, /^Denied by BOB/);
  assert.deepEqual(standIn.violations, []);
  clock.dispose();
});

Deno.test("without enough approvals by the limit the run stops, naming who was needed", async () => {
  const { standIn, o } = await channel();
  const issue = await openApprovalIssue(o);
  standIn.comment(issue.number, "ada-gh", "approve");
  standIn.comment(issue.number, "cy-gh", "approve");
  const clock = virtualClock({ startMs: Date.now() });
  const error = await waitForGitHubApprovals({ ...o, issue, timeoutMs: 700, clock })
    .catch((e) => e);
  assert.ok(error instanceof GitHubDeniedError, String(error));
  assert.match(
    error.message,
    /not approved on .* within the approval timeout: approved by ADA \(@ada-gh\); 1 more needed from: BOB \(@bob-gh\)/,
  );
  assert.doesNotMatch(error.message, /needed from: .*CY/);
  assert.deepEqual(standIn.violations, []);
  clock.dispose();
});

Deno.test("a bad token is an error naming GITHUB_TOKEN", async () => {
  const { standIn, o } = await channel();
  const octokit = createGitHubClient({ token: "wrong", fetch: standIn.fetch });
  await assert.rejects(openApprovalIssue({ ...o, octokit }), /GitHub answered 401.*GITHUB_TOKEN/);
});

Deno.test("counting: each approver once, expired comments and conversation do not count", () => {
  const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h)).toISOString();
  const c = (id: number, login: string, body: string, h: number) => ({
    id,
    login,
    body,
    createdAt: at(h),
    url: `u${id}`,
  });
  const v = countGitHubApprovals(POLICY, [
    c(1, "ada-gh", "approve", 0),
    c(2, "bob-gh", "I approve of this", 30),
    c(3, "bob-gh", "yes", 1),
    c(4, "BOB-GH", "approve", 30),
  ], { deployer: "cy@example.com", now: Date.parse(at(30)) });
  assert.equal(v.ok, false);
  assert.deepEqual(v.valid.map((a) => a.commentId), [4]);
  assert.deepEqual(v.ignored.map((i) => i.reason), [
    "ada-gh's approve of 2026-01-01T00:00:00.000Z has expired",
    "bob-gh's approve of 2026-01-01T01:00:00.000Z has expired",
  ]);
  assert.deepEqual(v.stillNeeded.map((a) => a.name), ["ADA"]);
  const login = countGitHubApprovals(POLICY, [c(5, "ada-gh", "approve", 0)], {
    deployer: "someone@else",
    deployerLogin: "ada-gh",
    now: Date.parse(at(0)),
  });
  assert.match(login.ignored[0]!.reason, /ada-gh is the deployer/);
});
