/**
 * Approvals of a plan: who may approve (an environment's policy), one approver's signed
 * statement of a plan digest, and the verdict on a set of them — enough valid signatures from
 * distinct listed approvers, none by the deployer, none expired, all of this plan. Every
 * problem is named, so a refusal says who approved, who is still needed and what to run.
 * @module
 */
import { TOOL_NAME } from "../product/mod.ts";
import { canonicalJson, fingerprintOf, readPublicKey, signText, verifyText } from "./signatures.ts";

/** One person allowed to approve (the environment file's `deployment.approvals.approvers[]`). */
export interface Approver {
  /** Their name. */
  readonly name: string;
  /** Their e-mail (compared with the deployer's identity, case-insensitively). */
  readonly email: string;
  /** Their GitHub login, for the GitHub channel. */
  readonly github?: string | undefined;
  /** Their Ed25519 public key: one base64 line (SPKI), as `deno task keygen` prints. */
  readonly publicKey: string;
}

/** How an environment's deploys are approved. */
export interface ApprovalPolicy {
  /** How many distinct approvers must approve (0: none). */
  readonly required: number;
  /** Who may. */
  readonly approvers: readonly Approver[];
  /** How long an approval stays valid (ms; the runbook: 24 h). */
  readonly validForMs: number;
}

/** One approver's signed approval of a plan digest. */
export interface Approval {
  /** The plan digest approved (`sha256:<hex>`). */
  readonly digest: string;
  /** The environment and version the plan is for (signed with it). */
  readonly environment: string;
  /** The version (`v1.2.4`). */
  readonly version: string;
  /** Who signed: the approver's e-mail as listed. */
  readonly approver: string;
  /** The signing key's fingerprint. */
  readonly fingerprint: string;
  /** When (ISO 8601). */
  readonly signedAt: string;
  /** A comment (a change ticket, e.g. `CHG-1234`). */
  readonly comment?: string | undefined;
  /** The Ed25519 signature of {@linkcode approvalStatement}, base64. */
  readonly signature: string;
}

/**
 * The exact text an approver signs: the canonical JSON of everything in the approval but its
 * signature, under a fixed purpose, so a signature cannot be replayed for another plan,
 * environment, version, time or comment.
 *
 * @param a The approval without its signature.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { approvalStatement } from "./approvals.ts";
 * const text = approvalStatement({
 *   digest: "sha256:00", environment: "production", version: "v1.2.4",
 *   approver: "ada@example.com", fingerprint: "SHA256:x", signedAt: "2026-01-01T00:00:00Z",
 * });
 * console.assert(text.startsWith('{"approver":"ada@example.com"'));
 * ```
 */
export function approvalStatement(a: Omit<Approval, "signature">): string {
  return canonicalJson({
    approver: a.approver,
    comment: a.comment,
    digest: a.digest,
    environment: a.environment,
    fingerprint: a.fingerprint,
    purpose: `${TOOL_NAME} approval v1`,
    signedAt: a.signedAt,
    version: a.version,
  });
}

/**
 * Signs an approval of a plan digest.
 *
 * @param key The approver's private key (`readPrivateKey`).
 * @param publicKey The approver's public key (one-line base64), for the fingerprint.
 * @param a What is approved and by whom.
 * @returns The signed approval.
 *
 * @example
 * ```ts
 * import { signApproval } from "./approvals.ts";
 * import { generateApproverKeys, readPrivateKey } from "./signatures.ts";
 * const k = await generateApproverKeys();
 * const a = await signApproval(await readPrivateKey(k.privateKeyPem, "k"), k.publicKey, {
 *   digest: "sha256:00", environment: "production", version: "v1.2.4",
 *   approver: "ada@example.com", signedAt: new Date(0).toISOString(),
 * });
 * console.assert(a.fingerprint === k.fingerprint);
 * ```
 */
export async function signApproval(
  key: CryptoKey,
  publicKey: string,
  a: Omit<Approval, "signature" | "fingerprint">,
): Promise<Approval> {
  const unsigned = { ...a, fingerprint: await fingerprintOf(publicKey) };
  return { ...unsigned, signature: await signText(key, approvalStatement(unsigned)) };
}

/** What a plan's approvals amount to. */
export interface ApprovalVerdict {
  /** Whether the policy is met. */
  readonly ok: boolean;
  /** The approvals that count (one per approver). */
  readonly valid: readonly (Approval & { readonly name: string })[];
  /** Each approval that does not count, and why. */
  readonly rejected: readonly { readonly approval: Approval; readonly reason: string }[];
  /** How many more are needed. */
  readonly missing: number;
  /** Listed approvers who have not approved (the deployer excluded). */
  readonly stillNeeded: readonly Approver[];
}

/** What the approvals must be of, and who deploys, when. */
export interface VerifyContext {
  /** The plan digest that will run. */
  readonly digest: string;
  /** Its environment. */
  readonly environment: string;
  /** Its version. */
  readonly version: string;
  /** Who deploys (their identity: an e-mail, else a user name): they cannot approve. */
  readonly deployer: string;
  /** Now (ms since the epoch). */
  readonly now: number;
}

/**
 * Judges approvals against a policy: each must be of this digest, environment and version,
 * by a listed approver whose key it verifies with, not by the deployer, signed no later than
 * now and within `validForMs`; each approver counts once. Never throws for a bad approval:
 * it is rejected with the reason.
 *
 * @param policy The environment's policy.
 * @param approvals The approvals found.
 * @param c The plan and the deployer.
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { verifyApprovals } from "./approvals.ts";
 * const v = await verifyApprovals({ required: 0, approvers: [], validForMs: 1 }, [], {
 *   digest: "sha256:00", environment: "dev", version: "v1.0.0", deployer: "me", now: 0,
 * });
 * console.assert(v.ok && v.missing === 0);
 * ```
 */
export async function verifyApprovals(
  policy: ApprovalPolicy,
  approvals: readonly Approval[],
  c: VerifyContext,
): Promise<ApprovalVerdict> {
  const deployer = c.deployer.toLowerCase();
  const valid: (Approval & { name: string })[] = [];
  const rejected: { approval: Approval; reason: string }[] = [];
  for (const a of approvals) {
    const reason = await problemOf(policy, a, c, deployer, valid);
    if (reason) rejected.push({ approval: a, reason });
    else {
      const who = policy.approvers.find((p) => p.email.toLowerCase() === a.approver.toLowerCase())!;
      valid.push({ ...a, name: who.name });
    }
  }
  const missing = Math.max(0, policy.required - valid.length);
  const stillNeeded = policy.approvers.filter((p) =>
    p.email.toLowerCase() !== deployer &&
    !valid.some((v) => v.approver.toLowerCase() === p.email.toLowerCase())
  );
  return { ok: missing === 0, valid, rejected, missing, stillNeeded };
}

async function problemOf(
  policy: ApprovalPolicy,
  a: Approval,
  c: VerifyContext,
  deployer: string,
  valid: readonly Approval[],
): Promise<string | undefined> {
  if (a.digest !== c.digest) return `it approves another plan (${a.digest}, not ${c.digest})`;
  if (a.environment !== c.environment || a.version !== c.version) {
    return `it approves ${a.environment} ${a.version}, not ${c.environment} ${c.version}`;
  }
  const who = policy.approvers.find((p) => p.email.toLowerCase() === a.approver.toLowerCase());
  if (!who) return `${a.approver} is not a listed approver of ${c.environment}`;
  if (a.approver.toLowerCase() === deployer) {
    return `${a.approver} is the deployer: nobody approves their own deploy`;
  }
  const key = await readPublicKey(who.publicKey, `${who.email}'s public key`).catch(() => null);
  if (!key) return `${who.email}'s listed public key is not an Ed25519 key`;
  if (a.fingerprint !== await fingerprintOf(who.publicKey)) {
    return `it is signed by key ${a.fingerprint}, not ${who.email}'s listed key`;
  }
  if (!await verifyText(key, approvalStatement(a), a.signature)) {
    return `its signature does not verify with ${who.email}'s key (altered or corrupted)`;
  }
  const at = Date.parse(a.signedAt);
  if (!Number.isFinite(at)) return `its time "${a.signedAt}" is not a date`;
  if (at > c.now + 60_000) return `it is signed in the future (${a.signedAt})`;
  if (c.now - at > policy.validForMs) {
    return `it expired: signed ${a.signedAt}, valid for ${
      Math.round(policy.validForMs / 3_600_000)
    } h`;
  }
  if (valid.some((v) => v.approver.toLowerCase() === a.approver.toLowerCase())) {
    return `${a.approver} already approved: each approver counts once`;
  }
  return undefined;
}

/**
 * An approval given on GitHub: an `approve` comment on the run's approval issue by a listed
 * approver's GitHub login. It is not signed: GitHub vouches for the login; the report records
 * it as such (login, comment, time), never as a key's signature.
 */
export interface GitHubApproval {
  /** Always `github`. */
  readonly kind: "github";
  /** The GitHub login that commented. */
  readonly login: string;
  /** The listed approver it maps to (their e-mail). */
  readonly approver: string;
  /** Their name, as listed. */
  readonly name: string;
  /** The comment's id. */
  readonly commentId: number;
  /** The comment's URL. */
  readonly url: string;
  /** When it was written (ISO 8601). */
  readonly at: string;
  /** Its text. */
  readonly comment: string;
}

/** One comment on an approval issue, as GitHub lists it. */
export interface IssueComment {
  /** Its id. */
  readonly id: number;
  /** Who wrote it (null for a deleted account). */
  readonly login: string | null;
  /** Its text. */
  readonly body: string;
  /** When (ISO 8601). */
  readonly createdAt: string;
  /** Its URL. */
  readonly url: string;
}

/** What GitHub comments amount to. */
export interface GitHubVerdict {
  /** Whether enough listed approvers approved (and nobody listed denied). */
  readonly ok: boolean;
  /** The approvals that count, one per approver, first first. */
  readonly valid: readonly GitHubApproval[];
  /** A listed approver's `deny`, when there is one: the run fails. */
  readonly denied?: GitHubApproval | undefined;
  /** Each approve/deny comment that does not count, and why. */
  readonly ignored: readonly {
    readonly login: string;
    readonly url: string;
    readonly reason: string;
  }[];
  /** How many more are needed. */
  readonly missing: number;
  /** Listed approvers (with a GitHub login, not the deployer) who have not approved. */
  readonly stillNeeded: readonly Approver[];
}

/**
 * What a comment says, as the runbook's `manual-approval` action reads it: its first word,
 * case and trailing punctuation aside — `approve`, `approved`, `lgtm`, `yes` approve;
 * `deny`, `denied`, `no` deny; anything else is conversation.
 *
 * @param body The comment's text.
 * @returns `approve`, `deny`, or undefined.
 *
 * @example
 * ```ts
 * import { commentVerb } from "./approvals.ts";
 * console.assert(commentVerb("Approved. CHG-1234") === "approve");
 * console.assert(commentVerb("deny: canary looks bad") === "deny");
 * console.assert(commentVerb("I approve") === undefined);
 * ```
 */
export function commentVerb(body: string): "approve" | "deny" | undefined {
  const word = body.trim().split(/\s+/)[0]?.toLowerCase().replace(/[.!:,;]+$/, "") ?? "";
  if (["approve", "approved", "lgtm", "yes"].includes(word)) return "approve";
  if (["deny", "denied", "no"].includes(word)) return "deny";
  return undefined;
}

/**
 * Counts an approval issue's comments against a policy: an `approve` or `deny`
 * ({@linkcode commentVerb}) counts when its login is a listed approver's `github` login and
 * that approver is not the deployer (nor `deployerLogin`), and it is no older than
 * `validForMs`; each approver counts once; a listed approver's `deny` fails it.
 *
 * @param policy The environment's policy.
 * @param comments The issue's comments, oldest first.
 * @param c Who deploys (identity, and GitHub login if known), and now (ms since the epoch).
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { countGitHubApprovals } from "./approvals.ts";
 * const policy = { required: 1, validForMs: 86_400_000, approvers: [
 *   { name: "Ada", email: "ada@x", github: "ada", publicKey: "" }] };
 * const v = countGitHubApprovals(policy, [
 *   { id: 1, login: "ada", body: "approve", createdAt: new Date(0).toISOString(), url: "u" },
 * ], { deployer: "bob@x", now: 0 });
 * console.assert(v.ok && v.valid[0]?.name === "Ada");
 * ```
 */
export function countGitHubApprovals(
  policy: ApprovalPolicy,
  comments: readonly IssueComment[],
  c: {
    readonly deployer: string;
    readonly deployerLogin?: string | undefined;
    readonly now: number;
  },
): GitHubVerdict {
  const deployer = c.deployer.toLowerCase();
  const deployerLogin = c.deployerLogin?.toLowerCase();
  const valid: GitHubApproval[] = [];
  const ignored: { login: string; url: string; reason: string }[] = [];
  let denied: GitHubApproval | undefined;
  for (const comment of comments) {
    const verb = commentVerb(comment.body);
    if (!verb) continue;
    const login = comment.login ?? "(deleted account)";
    const skip = (reason: string) => ignored.push({ login, url: comment.url, reason });
    const who = policy.approvers.find((a) =>
      a.github !== undefined && a.github.toLowerCase() === login.toLowerCase()
    );
    if (!who) {
      skip(`${login} is not the GitHub login of a listed approver`);
      continue;
    }
    if (who.email.toLowerCase() === deployer || login.toLowerCase() === deployerLogin) {
      skip(`${login} is the deployer: nobody approves their own deploy`);
      continue;
    }
    const at = Date.parse(comment.createdAt);
    if (!Number.isFinite(at) || c.now - at > policy.validForMs) {
      skip(`${login}'s ${verb} of ${comment.createdAt} has expired`);
      continue;
    }
    const approval: GitHubApproval = {
      kind: "github",
      login,
      approver: who.email,
      name: who.name,
      commentId: comment.id,
      url: comment.url,
      at: comment.createdAt,
      comment: comment.body,
    };
    if (verb === "deny") denied ??= approval;
    else if (valid.some((v) => v.approver === who.email)) {
      skip(`${login} already approved: each approver counts once`);
    } else valid.push(approval);
  }
  const missing = Math.max(0, policy.required - valid.length);
  const stillNeeded = policy.approvers.filter((a) =>
    a.github !== undefined && a.email.toLowerCase() !== deployer &&
    a.github.toLowerCase() !== deployerLogin && !valid.some((v) => v.approver === a.email)
  );
  return { ok: missing === 0 && !denied, valid, denied, ignored, missing, stillNeeded };
}
