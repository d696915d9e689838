/**
 * From an environment's `deployment.approvals` to an {@linkcode ApprovalPolicy}; the file of
 * approvals kept beside a plan (`<plan>.approvals.json`, an array, appended to); and the
 * rehearsal approvers a sandbox run makes for itself (keys generated per run, never listed in
 * an environment file, so their signatures count nowhere else).
 * @module
 */
import { z } from "zod";
import type { Environment } from "../config/mod.ts";
import { InputError } from "../runner/errors.ts";
import { type Approval, type ApprovalPolicy, type Approver, signApproval } from "./approvals.ts";
import { generateApproverKeys, readPrivateKey } from "./signatures.ts";

/**
 * An environment's approval policy (none required when it has no `deployment.approvals`).
 *
 * @param env The loaded environment.
 * @returns The policy.
 *
 * @example
 * ```ts
 * import { approvalPolicyOf } from "./policy.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * const policy = approvalPolicyOf(await loadEnvironment("production"));
 * console.assert(policy.required === 2 && policy.validForMs === 86_400_000);
 * ```
 */
export function approvalPolicyOf(
  env: Pick<Environment, "deployment">,
): ApprovalPolicy {
  const a = env.deployment.approvals;
  if (!a) return { required: 0, approvers: [], validForMs: 86_400_000 };
  return {
    required: a.required,
    validForMs: a.valid_for.ms,
    approvers: a.approvers.map((p): Approver => ({
      name: p.name,
      email: p.email,
      ...(p.github ? { github: p.github } : {}),
      publicKey: p.public_key.trim(),
    })),
  };
}

const approvalSchema = z.object({
  digest: z.string(),
  environment: z.string(),
  version: z.string(),
  approver: z.string(),
  fingerprint: z.string(),
  signedAt: z.string(),
  comment: z.string().optional(),
  signature: z.string(),
});

/**
 * Where a plan's approvals are kept: beside it.
 *
 * @param planPath The plan file.
 * @returns `<plan>.approvals.json`.
 *
 * @example
 * ```ts
 * import { approvalsPathOf } from "./policy.ts";
 * console.assert(approvalsPathOf("p.json") === "p.json.approvals.json");
 * ```
 */
export function approvalsPathOf(planPath: string): string {
  return `${planPath}.approvals.json`;
}

/**
 * Reads a plan's approvals (none when the file does not exist).
 *
 * @param planPath The plan file.
 * @returns The approvals, in the order given.
 * @throws {InputError} When the file is not a list of approvals.
 *
 * @example
 * ```ts
 * import { readApprovals } from "./policy.ts";
 * console.assert((await readApprovals("/nonexistent/plan.json")).length === 0);
 * ```
 */
export async function readApprovals(planPath: string): Promise<Approval[]> {
  const path = approvalsPathOf(planPath);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new InputError(`${path}: cannot read it (${(err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = z.array(approvalSchema).safeParse(raw);
  if (!parsed.success) {
    throw new InputError(
      `${path} is not a list of approvals: remove it and have the plan approved again ` +
        `(deno task approve ${planPath} --key <file>)`,
    );
  }
  return parsed.data as Approval[];
}

/**
 * Appends an approval to a plan's approvals file.
 *
 * @param planPath The plan file.
 * @param approval The signed approval.
 * @returns The file written.
 *
 * @example
 * ```ts ignore
 * import { appendApproval } from "./policy.ts";
 * await appendApproval("plan.json", approval);
 * ```
 */
export async function appendApproval(planPath: string, approval: Approval): Promise<string> {
  const list = [...await readApprovals(planPath), approval];
  const path = approvalsPathOf(planPath);
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(list, null, 2) + "\n");
  await Deno.rename(`${path}.tmp`, path);
  return path;
}

/** Rehearsal approvers and their approvals of one plan. */
export interface Rehearsal {
  /** The policy they make up (`required` of the environment, at least as many approvers). */
  readonly policy: ApprovalPolicy;
  /** Their signed approvals. */
  readonly approvals: readonly Approval[];
}

/**
 * A sandbox rehearsal's approvers: `count` key pairs made for this run ("rehearsal approver
 * 1", ...) who each sign the plan's digest. Their keys are in no environment file: their
 * approvals count only for this rehearsal.
 *
 * @param count How many (the environment's `required`).
 * @param plan What they approve.
 * @param validForMs The environment's validity.
 * @param now When they sign (ms since the epoch).
 * @returns Their policy and approvals.
 *
 * @example
 * ```ts
 * import { rehearsalApprovals } from "./policy.ts";
 * const r = await rehearsalApprovals(2, { digest: "sha256:00", environment: "p", version: "v1.0.0" }, 1, 0);
 * console.assert(r.approvals.length === 2 && r.policy.approvers[1]!.name === "rehearsal approver 2");
 * ```
 */
export async function rehearsalApprovals(
  count: number,
  plan: { digest: string; environment: string; version: string },
  validForMs: number,
  now: number,
): Promise<Rehearsal> {
  const approvers: Approver[] = [];
  const approvals: Approval[] = [];
  for (let i = 1; i <= count; i++) {
    const keys = await generateApproverKeys();
    const who = {
      name: `rehearsal approver ${i}`,
      email: `rehearsal-approver-${i}@sandbox.invalid`,
    };
    approvers.push({ ...who, publicKey: keys.publicKey });
    const key = await readPrivateKey(keys.privateKeyPem, who.name);
    approvals.push(
      await signApproval(key, keys.publicKey, {
        ...plan,
        approver: who.email,
        signedAt: new Date(now).toISOString(),
        comment: "sandbox rehearsal",
      }),
    );
  }
  return { policy: { required: count, approvers, validForMs }, approvals };
}
