/**
 * Approvals: the typed phrase at a terminal, or `--confirm "<phrase>"` when not
 * interactive (without either, the run is refused before anything happens) — the operator's
 * own confirmation, which never counts as an approval; and, for an environment whose policy
 * requires approvals and a run without `--plan`, the wait after it for approvals by others:
 * through the cluster (`deno task approve <run-id>` on another machine) or on GitHub.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import type { ApprovalRecord } from "../report/schema.ts";
import { InputError } from "../runner/mod.ts";
import type { ApprovalPolicy, ApprovalVerdict, GitHubVerdict } from "../approval/approvals.ts";
import { approvalRecords } from "../approval/deploy_check.ts";
import type { GitHubApprovalRecord, PlanApprovalEvidence } from "../report/types.ts";
import {
  type ApprovalCluster,
  describeVerdict,
  publishApprovalRequest,
  waitForApprovals,
} from "../approval/waiting.ts";
import {
  type GitHubChannelOptions,
  openApprovalIssue,
  waitForGitHubApprovals,
} from "../approval/github.ts";

/**
 * How approvals can be given in this invocation.
 *
 * @example
 * ```ts
 * import type { ApprovalSource } from "./approve.ts";
 * const source: ApprovalSource = {
 *   confirm: "DEPLOY",
 *   interactive: false,
 *   user: "ada@example.com",
 *   readLine: () => Promise.resolve(null),
 *   write: () => {},
 * };
 * console.assert(source.confirm === "DEPLOY");
 * ```
 */
export interface ApprovalSource {
  /** The `--confirm` value, if given. */
  readonly confirm?: string | undefined;
  /** Whether a person is at a terminal. */
  readonly interactive: boolean;
  /** Who is running. */
  readonly user: string;
  /** Reads one line typed at the terminal. */
  readonly readLine: () => Promise<string | null>;
  /** Writes the prompt. */
  readonly write: (text: string) => void;
}

/**
 * Refuses, before anything runs, a run whose approvals cannot be given.
 *
 * @example
 * ```ts
 * import { precheckApprovals } from "./approve.ts";
 * import assert from "node:assert/strict";
 * const approvals = [{ stage: "confirm", phrase: "DEPLOY" }];
 * assert.throws(() => precheckApprovals(approvals, { confirm: "yes", interactive: false }));
 * precheckApprovals(approvals, { confirm: "DEPLOY", interactive: false });
 * ```
 *
 * @throws {InputError} When `--confirm` does not match, or no terminal and no `--confirm`.
 */
export function precheckApprovals(
  approvals: readonly { stage: string; phrase: string }[],
  source: Pick<ApprovalSource, "confirm" | "interactive">,
): void {
  for (const a of approvals) {
    if (source.confirm !== undefined && source.confirm !== a.phrase) {
      throw new InputError(
        `--confirm "${source.confirm}" does not match what stage "${a.stage}" requires: pass --confirm "${a.phrase}" exactly`,
      );
    }
    if (source.confirm === undefined && !source.interactive) {
      throw new InputError(
        `Stage "${a.stage}" needs the confirmation "${a.phrase}": run at a terminal to type it, or pass --confirm "${a.phrase}"`,
      );
    }
  }
}

/**
 * The prompt at a terminal: what the stage asks, and the exact phrase to type.
 *
 * @example
 * ```ts
 * import { confirmationPrompt } from "./approve.ts";
 * const prompt = confirmationPrompt("confirm", "DEPLOY TO PRODUCTION");
 * console.assert(prompt.includes('Type "DEPLOY TO PRODUCTION" to continue: '));
 * ```
 */
export function confirmationPrompt(stageId: string, phrase: string, message?: string): string {
  return `\n${message ?? `Stage "${stageId}" needs confirmation.`}\n` +
    `Type "${phrase}" to continue: `;
}

/**
 * What a wrong phrase typed at the terminal is told: what was typed, what was expected.
 *
 * @example
 * ```ts
 * import { wrongPhrase } from "./approve.ts";
 * const text = wrongPhrase("confirm", "DEPLOY TO PRODUCTION", "yes");
 * console.assert(text.includes('expected "DEPLOY TO PRODUCTION"'));
 * ```
 */
export function wrongPhrase(stageId: string, phrase: string, typed: string): string {
  return `${
    typed === "" ? "Nothing was typed" : `"${typed}" is not the phrase`
  }: expected "${phrase}" ` +
    `exactly (case and spaces count); stage "${stageId}" is not approved`;
}

/**
 * Makes the engine's `approve` function for an invocation: `--confirm` when given, else the
 * phrase typed at the terminal (a wrong one is told what was expected).
 *
 * @example
 * ```ts
 * import { approver } from "./approve.ts";
 * const written: string[] = [];
 * const approve = approver({
 *   interactive: true,
 *   user: "ada@example.com",
 *   readLine: () => Promise.resolve("deploy"),
 *   write: (t) => written.push(t),
 * });
 * const record = await approve("confirm", "DEPLOY");
 * console.assert(!record.approved && written.join("").includes('expected "DEPLOY"'));
 * ```
 */
export function approver(
  source: ApprovalSource,
  clock: Clock = realClock,
): (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord> {
  // A person answers in real time: the run's clock is held meanwhile (a virtual one must
  // not run ahead while the prompt waits), and the approval is stamped by it.
  return (stageId, phrase, message) =>
    clock.track("waiting for an approval", ask(source, clock, stageId, phrase, message));
}

async function ask(
  source: ApprovalSource,
  clock: Clock,
  stageId: string,
  phrase: string,
  message?: string,
): Promise<ApprovalRecord> {
  const at = () => new Date(clock.now()).toISOString();
  if (source.confirm !== undefined) {
    return {
      phrase,
      approved: source.confirm === phrase,
      by: source.user,
      at: at(),
      method: "flag",
    };
  }
  if (!source.interactive) {
    throw new Error(`stage "${stageId}" needs "${phrase}" and no one can type it here`);
  }
  source.write(`${confirmationPrompt(stageId, phrase, message)}`);
  const typed = (await source.readLine() ?? "").trim();
  const approved = typed === phrase;
  if (!approved) source.write(`${wrongPhrase(stageId, phrase, typed)}\n`);
  return { phrase, approved, by: source.user, at: at(), method: "tty" };
}

/**
 * Reads one line from standard input (null at its end with nothing read).
 *
 * @example
 * ```ts ignore
 * import { readStdinLine } from "./approve.ts";
 * const line = await readStdinLine();
 * ```
 */
export async function readStdinLine(): Promise<string | null> {
  const buf = new Uint8Array(1);
  const bytes: number[] = [];
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) {
      return bytes.length > 0 ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    }
    if (buf[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(buf[0]!);
  }
}

/** The engine's approval function. */
type Approve = (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord>;

/** What a run's wait for approvals by others needs. */
export interface WaitingApprovals {
  /** Where approvals come from (`--approvals`): the cluster (default) or GitHub. */
  readonly channel: "cluster" | "github";
  /** The environment's policy. */
  readonly policy: ApprovalPolicy;
  /** The environment's name. */
  readonly environment: string;
  /** The version (`v1.2.4`). */
  readonly version: string;
  /** Who deploys (`actor()`): their approval never counts. */
  readonly deployer: string;
  /** The digest of the plan that runs. */
  readonly digest: () => Promise<string>;
  /** The run's id, once the run started (`onStart`). */
  readonly runId: () => string | undefined;
  /** `--approval-timeout` (ms of target time; real time on a virtual clock). */
  readonly timeoutMs: number;
  /** The run's clock. */
  readonly clock: Clock;
  /** Writes to the terminal. */
  readonly write: (text: string) => void;
  /** The cluster channel: where to publish the request (the run's namespace). */
  readonly cluster?: (() => Promise<ApprovalCluster>) | undefined;
  /** What `deno task approve` needs to reach that cluster, e.g. `--sandbox --sandbox-dir x`. */
  readonly reach?: string | undefined;
  /** The GitHub channel: client, repository, the deployer's login. */
  readonly github?:
    | Pick<GitHubChannelOptions, "octokit" | "repository" | "deployerLogin">
    | undefined;
  /** Ends the wait (the run's signal). */
  readonly signal?: AbortSignal | undefined;
  /** Given the approvals that counted, for the report. */
  readonly onApproved?:
    | ((e: { cluster?: ApprovalVerdict; github?: GitHubVerdict }) => void)
    | undefined;
}

/**
 * Whether a run waits for approvals by others: its environment requires some, it has no
 * `--plan` (whose attached approvals are checked before anything runs instead), and it is not
 * a dry run.
 *
 * @example
 * ```ts
 * import { waitsForApprovals } from "./approve.ts";
 * const policy = { required: 2, approvers: [], validForMs: 1 };
 * console.assert(waitsForApprovals(policy, { plan: undefined, dryRun: false }));
 * console.assert(!waitsForApprovals(policy, { plan: "p.json", dryRun: false }));
 * ```
 */
export function waitsForApprovals(
  policy: ApprovalPolicy | undefined,
  a: { readonly plan?: string | undefined; readonly dryRun: boolean },
): boolean {
  return (policy?.required ?? 0) > 0 && a.plan === undefined && !a.dryRun;
}

/**
 * The engine's approval function for a run that waits for approvals by others: first the
 * operator's own confirmation (`confirm`: the typed phrase or `--confirm`; it never counts
 * as an approval), then the request — its run id and the exact `deno task approve` line for
 * another machine, or the GitHub issue — and the wait until enough valid approvals arrive.
 * The limit passing, a deny, or an interruption fails the stage (nothing was changed yet).
 * The record returned carries the approvals that counted (`evidence`, for the report).
 *
 * @param confirm The operator's confirmation ({@linkcode approver}).
 * @param w The policy, the plan, the channel, the limit.
 * @returns The approval function.
 *
 * @example
 * ```ts
 * import { waitingApprover } from "./approve.ts";
 * import { realClock } from "../clock/mod.ts";
 * const approve = waitingApprover(
 *   (_s, phrase) => Promise.resolve({ phrase, approved: false, by: "me", at: "", method: "flag" }),
 *   {
 *     channel: "cluster", policy: { required: 2, approvers: [], validForMs: 1 },
 *     environment: "production", version: "v1.2.4", deployer: "me",
 *     digest: () => Promise.resolve("sha256:00"), runId: () => "r1",
 *     timeoutMs: 1, clock: realClock, write: () => {},
 *   },
 * );
 * console.assert((await approve("confirm", "DEPLOY")).approved === false);
 * ```
 */
export function waitingApprover(confirm: Approve, w: WaitingApprovals): Approve {
  return async (stageId, phrase, message) => {
    const record = await confirm(stageId, phrase, message);
    if (!record.approved || w.policy.required === 0) return record;
    const runId = w.runId();
    if (!runId) throw new Error("the run has no id yet: cannot ask for approvals");
    const context = {
      digest: await w.digest(),
      environment: w.environment,
      version: w.version,
      deployer: w.deployer,
    };
    const approvals = w.channel === "github"
      ? await onGitHub(w, runId, context)
      : await onCluster(w, runId, context);
    const evidence: PlanApprovalEvidence = {
      planDigest: context.digest,
      source: w.channel,
      deployer: w.deployer,
      required: w.policy.required,
      approvals,
    };
    return { ...record, evidence };
  };
}

function limitText(w: WaitingApprovals): string {
  // When the wait ends, as the wall would show it (a virtual run waits on real time).
  const wait = w.clock.kind === "virtual" ? realClock : w.clock;
  return new Date(wait.now() + w.timeoutMs / wait.scale).toISOString();
}

async function onCluster(
  w: WaitingApprovals,
  runId: string,
  context: { digest: string; environment: string; version: string; deployer: string },
): Promise<PlanApprovalEvidence["approvals"]> {
  if (!w.cluster) throw new Error("no cluster to publish the approval request in");
  const cluster = await w.cluster();
  const expiresAt = limitText(w);
  await publishApprovalRequest(cluster, {
    runId,
    ...context,
    required: w.policy.required,
    requestedAt: new Date(w.clock.now()).toISOString(),
    expiresAt,
  }, w.policy);
  const reach = w.reach ? ` ${w.reach}` : "";
  w.write(
    `\nrun ${runId} waits for ${w.policy.required} approvals of ${context.environment} ` +
      `${context.version} (plan ${context.digest}) until ${expiresAt}, in ${cluster.namespace} ` +
      `(${cluster.where}). On another machine, each approver runs:\n` +
      `  deno task approve ${runId} --key <your-key>${reach} [--comment "CHG-1234"]\n` +
      `Approvers: ${
        w.policy.approvers.filter((a) => a.email.toLowerCase() !== w.deployer.toLowerCase())
          .map((a) => `${a.name} <${a.email}>`).join(", ")
      }\n`,
  );
  const verdict = await waitForApprovals({
    cluster,
    runId,
    policy: w.policy,
    context,
    timeoutMs: w.timeoutMs,
    clock: w.clock,
    signal: w.signal,
    onProgress: (v) => w.write(`approvals: ${describeVerdict(v)}\n`),
  });
  w.write(`approved: ${describeVerdict(verdict)}\n`);
  w.onApproved?.({ cluster: verdict });
  return approvalRecords(verdict.valid, w.policy, false);
}

async function onGitHub(
  w: WaitingApprovals,
  runId: string,
  context: { digest: string; environment: string; version: string; deployer: string },
): Promise<GitHubApprovalRecord[]> {
  if (!w.github) throw new Error("--approvals github needs a GitHub client (GITHUB_TOKEN)");
  const channel = { ...w.github, policy: w.policy, runId, context };
  const issue = await openApprovalIssue(channel);
  w.write(
    `\nrun ${runId} waits for ${w.policy.required} approvals on ${issue.url} until ` +
      `${limitText(w)}: listed approvers comment "approve" (or "deny")\n`,
  );
  const verdict = await waitForGitHubApprovals({
    ...channel,
    issue,
    timeoutMs: w.timeoutMs,
    clock: w.clock,
    signal: w.signal,
    onProgress: (v) =>
      w.write(`approvals on GitHub: ${v.valid.map((a) => `@${a.login}`).join(", ") || "none"}\n`),
  });
  w.write(
    `approved on GitHub by ${verdict.valid.map((a) => `${a.name} (@${a.login})`).join(", ")}\n`,
  );
  w.onApproved?.({ github: verdict });
  return verdict.valid.map((a) => ({
    kind: "github",
    name: a.name,
    email: a.approver,
    github: a.login,
    commentId: a.commentId,
    url: a.url,
    at: a.at,
    comment: a.comment,
    digest: context.digest,
  }));
}
