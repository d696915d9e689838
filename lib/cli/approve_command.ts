/**
 * `deno task approve <plan-file|run-id> --key <private-key-file> [--comment "CHG-1234"]`:
 * signs a plan's digest as the listed approver the key belongs to (in the plan's
 * environment's `deployment.approvals.approvers`) and appends the approval beside the plan
 * (`<plan>.approvals.json`); given a run id instead, approves that waiting run
 * (`approveWaitingRun`) in the cluster of each environment (or the sandbox, `--sandbox`).
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { type Approval, signApproval, verifyApprovals } from "../approval/approvals.ts";
import { readPlanFile } from "../approval/plan.ts";
import { appendApproval, approvalPolicyOf, readApprovals } from "../approval/policy.ts";
import {
  fingerprintOf,
  readPrivateKey,
  readPublicKey,
  verifyText,
} from "../approval/signatures.ts";
import { approvalStatement } from "../approval/approvals.ts";
import { type ApprovalCluster, approvalClusters, approveWaitingRun } from "../approval/waiting.ts";
import { ENVIRONMENTS_DIR, loadEnvironment } from "../config/mod.ts";
import type { Environment } from "../config/types.ts";
import { kubeconfigLocation } from "../capabilities/kubernetes.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import { InputError } from "../runner/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `approve`.
 *
 * @example
 * ```ts
 * import { APPROVE_USAGE } from "./approve_command.ts";
 * console.assert(APPROVE_USAGE.startsWith("usage: deno task approve"));
 * ```
 */
export const APPROVE_USAGE =
  `usage: deno task approve <plan-file|run-id> --key <private-key-file> [--comment <text>]

Signs the plan's digest as the approver the key belongs to (listed in the plan's environment
file, deployment.approvals.approvers) and adds the approval beside the plan, in
<plan-file>.approvals.json; deno task deploy <env> <version> --plan <plan-file> then counts it.
Given a run id (a deploy waiting for approvals printed it, with the line to run), approves
that run instead: its request is found in the environments' namespaces, in the cluster each
environment's kubeconfig and context reach (as the deploy does), or with --sandbox in the
running sandbox.
  --key <file>            your private key (deno task keygen --out <file> made it)
  --comment <text>        e.g. a change ticket, "CHG-1234" (signed with the approval)
  --sandbox               a run id: the run waits in the sandbox (a rehearsal with --approvals)
  --sandbox-dir <dir>     with --sandbox: the sandbox's state folder (default ${SANDBOX_DIR})
  --environments-dir <d>  the environment files (default: the plan's environment file's folder;
                          for a run id ${ENVIRONMENTS_DIR})`;

async function privateKey(keyFile: string): Promise<CryptoKey> {
  const text = await Deno.readTextFile(keyFile).catch((err) => {
    throw new InputError(`Cannot read the key file ${keyFile}: ${(err as Error).message}`);
  });
  return await readPrivateKey(text, keyFile).catch((err) => {
    throw new InputError(
      `${(err as Error).message} (deno task keygen --out <file> makes an approver's key)`,
    );
  });
}

/** Approves a plan file: returns the approval written and who signed it. */
async function approvePlan(
  planPath: string,
  o: { keyFile: string; comment?: string | undefined; environmentsDir?: string | undefined },
): Promise<{ approval: Approval; name: string; file: string; count: number; required: number }> {
  const plan = await readPlanFile(planPath);
  const key = await privateKey(o.keyFile);
  const env = await loadEnvironment(plan.environment, {
    dir: o.environmentsDir ?? dirname(plan.environmentFile.file),
  });
  const policy = approvalPolicyOf(env);
  const signedAt = new Date().toISOString();
  for (const who of policy.approvers) {
    const unsigned = {
      digest: plan.digest,
      environment: plan.environment,
      version: plan.version,
      approver: who.email,
      signedAt,
      ...(o.comment !== undefined ? { comment: o.comment } : {}),
    };
    const approval = await signApproval(key, who.publicKey, unsigned);
    const pub = await readPublicKey(who.publicKey, who.email).catch(() => null);
    if (!pub || !await verifyText(pub, approvalStatement(approval), approval.signature)) continue;
    const earlier = await readApprovals(planPath);
    const verdict = await verifyApprovals(policy, earlier, {
      digest: plan.digest,
      environment: plan.environment,
      version: plan.version,
      deployer: "",
      now: Date.now(),
    });
    if (verdict.valid.some((v) => v.approver.toLowerCase() === who.email.toLowerCase())) {
      throw new InputError(
        `${who.name} <${who.email}> already approved ${planPath}: each approver counts once ` +
          `(another listed approver must sign)`,
      );
    }
    const file = await appendApproval(planPath, approval);
    return {
      approval,
      name: who.name,
      file,
      count: verdict.valid.length + 1,
      required: policy.required,
    };
  }
  const listed = policy.approvers.map((a) => `${a.name} <${a.email}>`).join(", ") || "nobody";
  throw new InputError(
    `The key in ${o.keyFile} (${await keyFingerprintHint(key)}) is not a listed approver's ` +
      `of ${plan.environment} (${env.file} lists ${listed}): ask to be added with the public ` +
      `key deno task keygen printed, or use your own key`,
  );
}

async function keyFingerprintHint(key: CryptoKey): Promise<string> {
  try {
    const jwk = await crypto.subtle.exportKey("jwk", key);
    const raw = Uint8Array.from(
      atob(jwk.x!.replace(/-/g, "+").replace(/_/g, "/")),
      (c) => c.charCodeAt(0),
    );
    const spki = new Uint8Array([
      0x30,
      0x2a,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
      0x03,
      0x21,
      0x00,
      ...raw,
    ]);
    return `fingerprint ${await fingerprintOf(btoa(String.fromCharCode(...spki)))}`;
  } catch {
    return "an Ed25519 key";
  }
}

/** The environments (every `*.yml` of the folder that loads). */
async function environments(dir: string): Promise<Environment[]> {
  const envs: Environment[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".yml")) continue;
      const env = await loadEnvironment(e.name.slice(0, -4), { dir }).catch(() => undefined);
      if (env) envs.push(env);
    }
  } catch (err) {
    throw new InputError(
      `Cannot read the environment files in ${dir}: ${
        (err as Error).message
      } (give --environments-dir)`,
    );
  }
  if (envs.length === 0) {
    throw new InputError(`No environment file loads in ${dir}: give --environments-dir`);
  }
  return envs;
}

/**
 * Where a waiting run may be: each environment's namespace, in the running sandbox on
 * `sandboxDir` (`--sandbox`), else in the cluster of the environment's kubeconfig and
 * context (as the deploy reaches it: `kubernetes.kubeconfig`/`context`, `KUBECONFIG`).
 */
async function waitingRunClusters(
  o: { sandboxDir?: string | undefined; environmentsDir: string },
): Promise<ApprovalCluster[]> {
  const envs = await environments(o.environmentsDir);
  return await approvalClusters({
    sandboxDir: o.sandboxDir,
    targets: envs.map((env) => {
      const w = kubeconfigLocation(env, { kind: "kubernetes" }, (n) => Deno.env.get(n));
      return { namespace: env.environment.namespace, kubeconfigPath: w.path, context: w.context };
    }),
  });
}

/**
 * Runs `approve`.
 *
 * @param args The arguments after `approve`.
 * @param io Where to write.
 * @returns 0 when the approval was written.
 * @throws {InputError} On bad usage, a key that is not a private key or not a listed
 *   approver's, a plan file that is not one, or one approver approving twice.
 *
 * @example
 * ```ts
 * import { approveCommand } from "./approve_command.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => approveCommand([], io), /usage: deno task approve/);
 * ```
 */
export async function approveCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        key: { type: "string" },
        comment: { type: "string" },
        sandbox: { type: "boolean" },
        "sandbox-dir": { type: "string" },
        "environments-dir": { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${APPROVE_USAGE}`);
  }
  const [target, ...extra] = parsed.positionals;
  const { key: keyFile, comment } = parsed.values;
  if (!target || extra.length > 0 || !keyFile) throw new InputError(APPROVE_USAGE);
  const environmentsDir = parsed.values["environments-dir"];
  const isFile = await Deno.stat(target).then((i) => i.isFile, () => false);
  if (isFile) {
    const done = await approvePlan(target, { keyFile, comment, environmentsDir });
    io.stdout(
      `approved ${target} (${done.approval.environment} ${done.approval.version}, ` +
        `${done.approval.digest}) as ${done.name} <${done.approval.approver}>, key ` +
        `${done.approval.fingerprint}\n` +
        `approvals: ${done.file} (${done.count} of ${done.required} required)\n`,
    );
    return EXIT.ok;
  }
  if (/[/\\]|\.json$/.test(target)) {
    throw new InputError(
      `No plan file ${target}: make it with deno task plan <environment> <version> --out ${target}`,
    );
  }
  const inSandbox = parsed.values.sandbox || parsed.values["sandbox-dir"] !== undefined;
  const done = await approveWaitingRun(target, {
    keyFile,
    comment,
    clusters: await waitingRunClusters({
      sandboxDir: inSandbox ? parsed.values["sandbox-dir"] ?? SANDBOX_DIR : undefined,
      environmentsDir: environmentsDir ?? ENVIRONMENTS_DIR,
    }),
  });
  io.stdout(
    `approved run ${target} as ${done.name} <${done.approval.approver}> in ${done.where}\n`,
  );
  return EXIT.ok;
}

/**
 * The `approve` command of the CLI.
 *
 * @example
 * ```ts
 * import { APPROVE_COMMAND } from "./approve_command.ts";
 * console.assert(APPROVE_COMMAND.name === "approve");
 * ```
 */
export const APPROVE_COMMAND: Command = {
  name: "approve",
  summary: "signs a plan (or a waiting run) as a listed approver",
  usage: APPROVE_USAGE,
  run: approveCommand,
};
