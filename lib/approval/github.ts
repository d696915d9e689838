/**
 * GitHub as an approval channel, as the runbook's `manual-approval` workflow step: a waiting
 * run opens an issue listing its approvers (with the plan digest, environment, version and run
 * id), then counts `approve`/`deny` comments from listed approvers' GitHub logins (never the
 * deployer's): enough approvals go on, a listed approver's deny fails the run, the limit
 * passing fails it too; the issue is closed saying which. GitHub approvals are not signed:
 * they are recorded as GitHub's (login, comment, time).
 * @module
 */
import type { Octokit } from "@octokit/rest";
import type { Clock } from "../clock/mod.ts";
import { realClock } from "../clock/mod.ts";
import { describeGitHubError } from "../release/github_client.ts";
import {
  type ApprovalPolicy,
  countGitHubApprovals,
  type GitHubVerdict,
  type IssueComment,
} from "./approvals.ts";
import { pollApprovals } from "./waiting.ts";

/** What the GitHub channel needs. */
export interface GitHubChannelOptions {
  /** The client (`createGitHubClient`). */
  readonly octokit: Octokit;
  /** The repository (`owner/name`, the environment's `github.repository`). */
  readonly repository: string;
  /** The environment's policy (approvers with a `github` login can approve here). */
  readonly policy: ApprovalPolicy;
  /** The run's id. */
  readonly runId: string;
  /** The plan digest, environment, version and deployer (identity). */
  readonly context: {
    readonly digest: string;
    readonly environment: string;
    readonly version: string;
    readonly deployer: string;
  };
  /** The deployer's GitHub login, when known (their comments never count). */
  readonly deployerLogin?: string | undefined;
}

/** The issue a run waits on. */
export interface ApprovalIssue {
  /** Its number. */
  readonly number: number;
  /** Its web URL. */
  readonly url: string;
}

/** A listed approver denied the run (or the run was otherwise refused) on GitHub. */
export class GitHubDeniedError extends Error {
  /** The verdict when it ended. */
  readonly verdict: GitHubVerdict;

  /**
   * Makes the error.
   *
   * @param message What happened.
   * @param verdict The verdict.
   */
  constructor(message: string, verdict: GitHubVerdict) {
    super(message);
    this.name = "GitHubDeniedError";
    this.verdict = verdict;
  }
}

function split(repository: string): { owner: string; repo: string } {
  const [owner = "", repo = ""] = repository.split("/");
  return { owner, repo };
}

async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(describeGitHubError(err, action).message, { cause: err });
  }
}

/**
 * The approval issue's text: what is to be approved, who may approve, and how.
 *
 * @param o The channel's options.
 * @returns The title and the body (Markdown).
 *
 * @example
 * ```ts
 * import { approvalIssueText } from "./github.ts";
 * const t = approvalIssueText({
 *   repository: "acme/shop", runId: "r1",
 *   policy: { required: 1, validForMs: 1, approvers: [{ name: "Ada", email: "a@x", github: "ada", publicKey: "" }] },
 *   context: { digest: "sha256:00", environment: "production", version: "v1.2.4", deployer: "bob@x" },
 * });
 * console.assert(t.title.includes("production v1.2.4") && t.body.includes("@ada"));
 * ```
 */
export function approvalIssueText(
  o: Omit<GitHubChannelOptions, "octokit">,
): { title: string; body: string } {
  const c = o.context;
  const listed = o.policy.approvers.filter((a) => a.github !== undefined);
  const lines = [
    `Run \`${o.runId}\` waits for ${o.policy.required} approval(s) to deploy **${c.version}** to **${c.environment}**.`,
    "",
    `- plan digest: \`${c.digest}\``,
    `- deployer: ${c.deployer} (their comments do not count)`,
    "",
    "Approvers (comment `approve` or `deny`, first word; each counts once):",
    ...listed.map((a) => `- @${a.github} (${a.name})`),
    "",
    "A listed approver's `deny` stops the run. Or sign the plan instead: " +
    `\`deno task approve ${o.runId} --key <your-key>\`.`,
  ];
  return {
    title: `Approve deploying ${c.environment} ${c.version} (run ${o.runId})`,
    body: lines.join("\n"),
  };
}

/**
 * Opens the approval issue, assigning the listed approvers' logins.
 *
 * @param o The channel.
 * @returns The issue.
 * @throws {Error} When GitHub refuses or cannot be reached (the message says what to fix).
 *
 * @example
 * ```ts ignore
 * import { openApprovalIssue } from "./github.ts";
 * const issue = await openApprovalIssue(channel);
 * console.log(issue.url);
 * ```
 */
export async function openApprovalIssue(o: GitHubChannelOptions): Promise<ApprovalIssue> {
  const { owner, repo } = split(o.repository);
  const { title, body } = approvalIssueText(o);
  const { data } = await call(
    `open an approval issue in ${o.repository}`,
    () => o.octokit.rest.issues.create({ owner, repo, title, body, labels: ["deploy-approval"] }),
  );
  return { number: data.number, url: data.html_url };
}

/** The issue's comments, oldest first, in the shape the count reads. */
async function comments(o: GitHubChannelOptions, issue: ApprovalIssue): Promise<IssueComment[]> {
  const { owner, repo } = split(o.repository);
  const list = await call(
    `read the comments of ${o.repository}#${issue.number}`,
    () =>
      o.octokit.paginate(o.octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issue.number,
        per_page: 100,
      }),
  );
  return list.map((c) => ({
    id: c.id,
    login: c.user?.login ?? null,
    body: c.body ?? "",
    createdAt: c.created_at,
    url: c.html_url,
  }));
}

/** What {@linkcode waitForGitHubApprovals} takes beyond the channel. */
export interface GitHubWaitOptions {
  /** The issue. */
  readonly issue: ApprovalIssue;
  /** How long to wait (`--approval-timeout`). */
  readonly timeoutMs: number;
  /** The run's clock. */
  readonly clock: Clock;
  /** Ends the wait. */
  readonly signal?: AbortSignal | undefined;
  /** Told each time the count changes. */
  readonly onProgress?: ((v: GitHubVerdict) => void) | undefined;
}

function describe(v: GitHubVerdict): string {
  const by = v.valid.map((a) => `${a.name} (@${a.login})`).join(", ") || "nobody";
  const needed = v.stillNeeded.map((a) => `${a.name} (@${a.github})`).join(", ") || "nobody left";
  const ignored = v.ignored.map((i) => i.reason).join("; ");
  return `approved by ${by}` + (v.missing > 0 ? `; ${v.missing} more needed from: ${needed}` : "") +
    (ignored ? `; not counted: ${ignored}` : "");
}

/**
 * Waits on the approval issue until enough listed approvers commented `approve` (verdict
 * ok), a listed approver commented `deny`, or the limit passed; closes the issue saying how
 * it ended (best effort).
 *
 * @param o The channel, the issue, the limit and the clock.
 * @returns The verdict (ok).
 * @throws {GitHubDeniedError} On a listed approver's deny, or when the limit passes.
 *
 * @example
 * ```ts ignore
 * import { openApprovalIssue, waitForGitHubApprovals } from "./github.ts";
 * const issue = await openApprovalIssue(channel);
 * const verdict = await waitForGitHubApprovals({ ...channel, issue, timeoutMs: 3_600_000, clock });
 * ```
 */
export async function waitForGitHubApprovals(
  o: GitHubChannelOptions & GitHubWaitOptions,
): Promise<GitHubVerdict> {
  const wait = o.clock.kind === "virtual" ? realClock : o.clock;
  let verdict: GitHubVerdict | undefined;
  let last = "";
  let outcome = "The run stopped waiting (interrupted).";
  try {
    const done = await pollApprovals({
      clock: o.clock,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      what: `waiting for approvals on ${o.repository}#${o.issue.number}`,
      read: async () => {
        const now = Math.max(o.clock.now(), wait.now());
        verdict = countGitHubApprovals(o.policy, await comments(o, o.issue), {
          deployer: o.context.deployer,
          deployerLogin: o.deployerLogin,
          now,
        });
        const seen = JSON.stringify([verdict.valid.map((a) => a.login), verdict.ignored]);
        const changed = seen !== last;
        if (changed && last !== "") o.onProgress?.(verdict);
        last = seen;
        if (verdict.denied) {
          const d = verdict.denied;
          outcome = `Denied by ${d.name} (@${d.login}): the run stopped, nothing was changed.`;
          throw new GitHubDeniedError(
            `Run ${o.runId} was denied on ${o.issue.url} by ${d.name} (@${d.login}): ` +
              `"${d.comment}" (${d.url}). Nothing was changed`,
            verdict,
          );
        }
        return { changed, done: verdict.ok ? verdict : undefined };
      },
    });
    if (done) {
      outcome = `Approved: ${describe(done)}. The deploy goes on.`;
      return done;
    }
    outcome = `Not approved within the approval timeout: ${describe(verdict!)}.`;
    throw new GitHubDeniedError(
      `Run ${o.runId} was not approved on ${o.issue.url} within the approval timeout: ` +
        `${describe(verdict!)}. Nothing was changed: deploy again (or raise --approval-timeout)`,
      verdict!,
    );
  } finally {
    await close(o, outcome).catch(() => {});
  }
}

async function close(o: GitHubChannelOptions & GitHubWaitOptions, outcome: string): Promise<void> {
  const { owner, repo } = split(o.repository);
  const issue_number = o.issue.number;
  await o.octokit.rest.issues.createComment({ owner, repo, issue_number, body: outcome });
  await o.octokit.rest.issues.update({
    owner,
    repo,
    issue_number,
    state: "closed",
    state_reason: outcome.startsWith("Approved") ? "completed" : "not_planned",
  });
}
