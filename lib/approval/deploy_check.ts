/**
 * What a deploy checks before anything runs when it is given an approved plan: the plan
 * matches what would run now (no drift), and its approvals meet the environment's policy
 * (enough valid signatures from distinct listed approvers, none by the deployer, none
 * expired). A refusal is an `InputError` (exit 2) naming what changed, or who approved, who
 * is still needed and the command to run. What passes becomes the report's evidence.
 * @module
 */
import type { PlanApprovalEvidence, SignedApprovalRecord } from "../report/types.ts";
import { InputError } from "../runner/errors.ts";
import { type Approval, type ApprovalPolicy, verifyApprovals } from "./approvals.ts";
import { type PlanContent, planDrift, type PlanFile } from "./plan.ts";

/**
 * Refuses a plan that drifted from what would run now.
 *
 * @param planPath The plan file (for the message).
 * @param plan The approved plan.
 * @param now What would run now.
 * @param o `images: false`: leave the images for later.
 * @throws {InputError} Naming each difference and what to do.
 *
 * @example
 * ```ts
 * import { refuseDrift } from "./deploy_check.ts";
 * import assert from "node:assert/strict";
 * const p = { environment: "dev", version: "v1.0.0", pipeline: { file: "p.ts", sha256: "a" },
 *   environmentFile: { file: "e.yml", sha256: "b" }, options: {}, git: { commit: null, dirty: false },
 *   images: [] } as never;
 * refuseDrift("plan.json", p, p);
 * assert.throws(() => refuseDrift("plan.json", p, { ...(p as object), version: "v2.0.0" } as never), /version/);
 * ```
 */
export function refuseDrift(
  planPath: string,
  plan: PlanContent,
  now: PlanContent,
  o: { images?: boolean } = {},
): void {
  const drift = planDrift(plan, now, o);
  if (drift.length === 0) return;
  throw new InputError(
    `The plan ${planPath} is not what would run now (nothing was changed):\n` +
      drift.map((d) => `  - ${d}`).join("\n") +
      `\nMake a new plan (deno task plan ${now.environment} ${now.version} --out <file>) ` +
      `and have it approved, or deploy what the plan says`,
  );
}

/**
 * The report's record of approvals that counted, with the public keys they verify with.
 *
 * @param valid The counted approvals (with the approver's name).
 * @param policy Where their public keys are listed.
 * @param rehearsal Whether they are a sandbox rehearsal's.
 * @returns One record each.
 *
 * @example
 * ```ts
 * import { approvalRecords } from "./deploy_check.ts";
 * console.assert(approvalRecords([], { required: 0, approvers: [], validForMs: 1 }, false).length === 0);
 * ```
 */
export function approvalRecords(
  valid: readonly (Approval & { name: string })[],
  policy: ApprovalPolicy,
  rehearsal: boolean,
): SignedApprovalRecord[] {
  return valid.map((a) => {
    const who = policy.approvers.find((p) => p.email.toLowerCase() === a.approver.toLowerCase());
    return {
      name: a.name,
      email: a.approver,
      ...(who?.github ? { github: who.github } : {}),
      fingerprint: a.fingerprint,
      publicKey: who?.publicKey ?? "",
      signedAt: a.signedAt,
      ...(a.comment !== undefined ? { comment: a.comment } : {}),
      digest: a.digest,
      environment: a.environment,
      version: a.version,
      signature: a.signature,
      rehearsal,
    };
  });
}

/** What {@linkcode requireApprovals} judges. */
export interface ApprovalCheck {
  /** The plan file (`undefined`: a rehearsal's plan, made for the run). */
  readonly planPath?: string | undefined;
  /** The plan. */
  readonly plan: PlanFile;
  /** The approvals found. */
  readonly approvals: readonly Approval[];
  /** The policy they are judged by. */
  readonly policy: ApprovalPolicy;
  /** Who deploys. */
  readonly deployer: string;
  /** Now (ms since the epoch). */
  readonly now: number;
  /** Where they came from. */
  readonly source: PlanApprovalEvidence["source"];
}

/**
 * Judges a plan's approvals; refuses when they do not meet the policy.
 *
 * @param c The plan, approvals, policy, deployer and time.
 * @returns The report's evidence.
 * @throws {InputError} Naming who approved, each approval that does not count and why, who
 *   is still needed, and the `deno task approve` command.
 *
 * @example
 * ```ts
 * import { requireApprovals } from "./deploy_check.ts";
 * const e = await requireApprovals({
 *   plan: { digest: "sha256:00", environment: "dev", version: "v1.0.0" } as never, approvals: [],
 *   policy: { required: 0, approvers: [], validForMs: 1 }, deployer: "me", now: 0, source: "plan",
 * });
 * console.assert(e.approvals.length === 0);
 * ```
 */
export async function requireApprovals(c: ApprovalCheck): Promise<PlanApprovalEvidence> {
  const { plan, policy } = c;
  const verdict = await verifyApprovals(policy, c.approvals, {
    digest: plan.digest,
    environment: plan.environment,
    version: plan.version,
    deployer: c.deployer,
    now: c.now,
  });
  if (!verdict.ok) {
    const approved = verdict.valid.map((v) => `${v.name} <${v.approver}>`).join(", ") || "nobody";
    const lines = [
      `${plan.environment} needs ${policy.required} approvals of the plan ${
        c.planPath ?? plan.digest
      } by listed approvers other than the deployer (${c.deployer}); ${verdict.valid.length} ` +
      `count, ${verdict.missing} more needed (nothing was changed).`,
      `  approved by: ${approved}`,
      ...verdict.rejected.map((r) => `  not counted: ${r.approval.approver}: ${r.reason}`),
      `  still needed: ${verdict.missing} of ${
        verdict.stillNeeded.map((a) => `${a.name} <${a.email}>`).join(", ") || "nobody left"
      }`,
    ];
    if (verdict.stillNeeded.length < verdict.missing) {
      lines.push(
        `  too few listed approvers besides the deployer: add approvers to ` +
          `deployment.approvals of ${plan.environmentFile?.file ?? plan.environment}`,
      );
    }
    if (c.planPath) {
      lines.push(`Each of them runs: deno task approve ${c.planPath} --key <their-key-file>`);
    }
    throw new InputError(lines.join("\n"));
  }
  return {
    planDigest: plan.digest,
    ...(c.planPath ? { planFile: c.planPath } : {}),
    source: c.source,
    deployer: c.deployer,
    required: policy.required,
    approvals: approvalRecords(verdict.valid, policy, c.source === "rehearsal"),
  };
}
