/**
 * The deploy's approvals, between its arguments and its run: `--plan <file>` checked before
 * anything runs (no drift, enough valid approvals); in the sandbox, the rehearsal approvers
 * (unless `--approvals` asks for real ones); without a plan, the engine's approval function
 * that waits for approvals by others after the operator's confirmation (the cluster or
 * GitHub); and `plan --out`, the plan document approvers sign.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import type { Environment } from "../config/types.ts";
import { kubeconfigLocation } from "../capabilities/kubernetes.ts";
import { actor, InputError, type PreparedRun } from "../runner/mod.ts";
import type { ApprovalRecord, PlanApprovalEvidence } from "../report/types.ts";
import {
  imageDigests,
  type ImageLookup,
  type PlanFile,
  readPlanFile,
  writePlanFile,
} from "../approval/plan.ts";
import { approvalPolicyOf, readApprovals, rehearsalApprovals } from "../approval/policy.ts";
import { refuseDrift, requireApprovals } from "../approval/deploy_check.ts";
import { type ApprovalCluster, approvalClusters } from "../approval/waiting.ts";
import { createGitHubClient } from "../release/github_client.ts";
import type { SandboxTarget } from "../targets/mod.ts";
import { waitingApprover, waitsForApprovals } from "./approve.ts";
import { type CliIo, EXIT } from "./command.ts";
import { planDocumentOf } from "./plan.ts";
import type { RunArguments } from "./run_args.ts";
import type { RunView } from "./view.ts";

/** The engine's approval function. */
type Approve = (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord>;

/**
 * An approved plan, checked before anything runs, and its evidence.
 *
 * @example
 * ```ts
 * import type { Approved } from "./plan_approval.ts";
 * const none: Approved | undefined = undefined;
 * console.assert(none === undefined);
 * ```
 */
export interface Approved {
  /** The plan. */
  readonly plan: PlanFile;
  /** What its approvals amount to, for the report. */
  readonly evidence: PlanApprovalEvidence;
}

/**
 * `--plan <file>`: the plan must be what would run now and its approvals must meet the
 * environment's policy, before anything happens. In the sandbox the images are compared
 * once its registry runs ({@linkcode sandboxApprovals}).
 *
 * @example
 * ```ts ignore
 * import { checkPlan } from "./plan_approval.ts";
 * const approved = await checkPlan(args, prepared, "ada@example.com");
 * ```
 *
 * @throws {InputError} On drift, or too few valid approvals (naming who is still needed).
 */
export async function checkPlan(
  a: RunArguments,
  prepared: PreparedRun,
  user: string,
): Promise<Approved> {
  const path = a.planFile!;
  const plan = await readPlanFile(path);
  const now = await planDocumentOf(prepared, {
    options: a.options,
    lookup: a.sandbox ? { unreachable: "asked once the sandbox's registry runs" } : {},
    createdBy: user,
  });
  refuseDrift(path, plan, now, { images: !a.sandbox });
  const evidence = await requireApprovals({
    planPath: path,
    plan,
    approvals: await readApprovals(path),
    policy: approvalPolicyOf(prepared.env),
    deployer: user,
    now: realClock.now(),
    source: "plan",
  });
  return { plan, evidence };
}

/** The sandbox's companion registry of a namespace, or why there is none. */
function sandboxRegistry(sandbox: SandboxTarget, namespace: string): ImageLookup {
  const entry = sandbox.companions?.get(namespace)?.registry;
  if (entry && "host" in entry) return { registry: entry };
  const why = entry && "skipped" in entry
    ? entry.skipped
    : entry && "failed" in entry
    ? entry.failed
    : "this sandbox runs no companion registry for the namespace";
  return { unreachable: `no registry: ${why}` };
}

/** What a deploy's approvals are decided with. */
export interface ApprovalSession {
  /** The arguments. */
  readonly a: RunArguments;
  /** The sandbox, when the run is in one. */
  readonly sandbox: SandboxTarget | undefined;
  /** Who deploys. */
  readonly user: string;
}

/**
 * In the sandbox, once it runs: an approved plan's images are compared with what its
 * registry holds; without a plan (and without `--approvals`, which makes the run wait for
 * real approvers as in production), a deploy whose environment requires approvals is
 * approved by rehearsal approvers (keys made for this run, counted nowhere else), so the
 * rehearsal shows the whole flow. The typed phrase stays the operator's own confirmation.
 *
 * @example
 * ```ts ignore
 * import { sandboxApprovals } from "./plan_approval.ts";
 * const evidence = await sandboxApprovals({ a, sandbox, user }, prepared, { approved, view });
 * ```
 */
export async function sandboxApprovals(
  s: ApprovalSession,
  prepared: PreparedRun,
  o: { approved: Approved | undefined; view: RunView },
): Promise<PlanApprovalEvidence | undefined> {
  const { a, sandbox, user } = s;
  if (!sandbox) return o.approved?.evidence;
  const lookup = sandboxRegistry(sandbox, prepared.env.environment.namespace);
  const version = prepared.version;
  if (o.approved) {
    const { plan } = o.approved;
    const images = await imageDigests(
      prepared.env.deployment.image_registry,
      Object.keys(prepared.env.infrastructure.replicas),
      version?.version ?? "",
      lookup,
    );
    refuseDrift(a.planFile!, plan, { ...plan, images });
    o.view.line(
      `approved plan ${plan.digest}: ${
        o.approved.evidence.approvals.map((x) => `${x.name} <${x.email}>`).join(", ") || "none"
      } (${o.approved.evidence.required} required)`,
    );
    return o.approved.evidence;
  }
  const policy = approvalPolicyOf(prepared.env);
  if (
    policy.required === 0 || a.dryRun || !version || prepared.definition.name !== "deploy" ||
    a.approvalsChannel !== undefined
  ) {
    return undefined;
  }
  const plan = await planDocumentOf(prepared, { options: a.options, lookup, createdBy: user });
  const now = realClock.now();
  const rehearsal = await rehearsalApprovals(policy.required, plan, policy.validForMs, now);
  const evidence = await requireApprovals({
    plan,
    approvals: rehearsal.approvals,
    policy: rehearsal.policy,
    deployer: user,
    now,
    source: "rehearsal",
  });
  o.view.line(
    `rehearsal: plan ${plan.digest} approved by ${
      evidence.approvals.map((x) => x.name).join(" and ")
    } (keys made for this run: they count nowhere else; a real deploy needs ${policy.required} ` +
      `of ${prepared.env.file}'s approvers: a waiting run and deno task approve <run-id>, or ` +
      `deno task plan --out, deno task approve <plan>, --plan; --approvals cluster rehearses that)`,
  );
  return evidence;
}

/**
 * Where a run publishes its approval request: its namespace, in the sandbox it runs on (on
 * `sandboxDir`) or the cluster of its kubeconfig.
 *
 * @example
 * ```ts ignore
 * import { runApprovalCluster } from "./plan_approval.ts";
 * const cluster = await runApprovalCluster(env, { sandboxDir: "state/sandbox", clock });
 * ```
 */
export async function runApprovalCluster(
  env: Environment,
  o: { readonly sandboxDir?: string | undefined; readonly clock: Clock },
): Promise<ApprovalCluster> {
  const where = kubeconfigLocation(env, { kind: "kubernetes" }, (n) => Deno.env.get(n));
  const [cluster] = await approvalClusters({
    sandboxDir: o.sandboxDir,
    targets: [{
      namespace: env.environment.namespace,
      kubeconfigPath: where.path,
      context: where.context,
    }],
    clock: o.clock,
  });
  return cluster!;
}

/**
 * The engine's approval function of a run: the operator's confirmation (`confirm`), and for
 * a deploy whose environment requires approvals, without `--plan`, not a dry run, outside
 * the sandbox (or in it with `--approvals`), the wait for approvals by others after it.
 *
 * @param s The arguments, the sandbox, who deploys.
 * @param prepared The run.
 * @param o The confirmation, the run's id once it started, the terminal and the signal.
 * @returns The approval function.
 *
 * @example
 * ```ts ignore
 * import { runApprover } from "./plan_approval.ts";
 * let runId: string | undefined;
 * const approve = runApprover({ a, sandbox, user }, prepared, { confirm, runId: () => runId, io });
 * ```
 */
export function runApprover(
  s: ApprovalSession,
  prepared: PreparedRun,
  o: { confirm: Approve; runId: () => string | undefined; io: CliIo },
): Approve {
  const { a, sandbox, user } = s;
  const clock = sandbox?.clock ?? realClock;
  const policy = approvalPolicyOf(prepared.env);
  const version = prepared.version;
  const waits = prepared.definition.name === "deploy" && version !== undefined &&
    waitsForApprovals(policy, { plan: a.planFile, dryRun: a.dryRun }) &&
    (!sandbox || a.approvalsChannel !== undefined);
  if (!waits) return o.confirm;
  const lookup = sandbox ? sandboxRegistry(sandbox, prepared.env.environment.namespace) : {};
  const apiUrl = Deno.env.get("GITHUB_API_URL");
  return waitingApprover(o.confirm, {
    channel: a.approvalsChannel ?? "cluster",
    policy,
    environment: prepared.env.name,
    version: version.tag,
    deployer: user,
    digest: async () =>
      (await planDocumentOf(prepared, { options: a.options, lookup, createdBy: user })).digest,
    runId: o.runId,
    timeoutMs: a.approvalTimeoutMs ?? 86_400_000,
    clock,
    write: o.io.stdout,
    cluster: () =>
      runApprovalCluster(prepared.env, { sandboxDir: sandbox ? a.sandboxDir : undefined, clock }),
    reach: sandbox ? `--sandbox --sandbox-dir ${a.sandboxDir}` : undefined,
    github: a.approvalsChannel === "github"
      ? {
        octokit: createGitHubClient({
          token: Deno.env.get("GITHUB_TOKEN") ?? "",
          ...(apiUrl ? { baseUrl: apiUrl } : {}),
        }),
        repository: prepared.env.github.repository,
      }
      : undefined,
    signal: o.io.signal,
  });
}

/**
 * `plan --out <file>`: the plan document for approvers, sealed with its digest.
 *
 * @example
 * ```ts ignore
 * import { writePlan } from "./plan_approval.ts";
 * const code = await writePlan(args, prepared, io);
 * ```
 *
 * @throws {InputError} When the file exists (a plan is never overwritten).
 */
export async function writePlan(
  a: RunArguments,
  prepared: PreparedRun,
  io: CliIo,
): Promise<number> {
  const out = a.out!;
  if (await Deno.stat(out).then(() => true, () => false)) {
    throw new InputError(
      `${out} exists: a plan is never overwritten (its approvals are beside it): choose another --out`,
    );
  }
  const doc = await planDocumentOf(prepared, {
    options: a.options,
    lookup: {},
    createdBy: await actor(),
  });
  await writePlanFile(out, doc);
  const policy = approvalPolicyOf(prepared.env);
  io.stdout(
    [
      `plan ${out}: ${doc.environment} ${doc.version}, digest ${doc.digest}`,
      `  pipeline ${doc.pipeline.file} ${doc.pipeline.sha256}`,
      `  environment ${doc.environmentFile.file} ${doc.environmentFile.sha256}`,
      `  git commit ${doc.git.commit ?? "none"}${doc.git.dirty ? " (tree has changes)" : ""}`,
      ...doc.images.map((i) => `  image ${i.reference} ${i.digest ?? `digest unknown: ${i.why}`}`),
      policy.required > 0
        ? `${policy.required} of ${
          policy.approvers.map((p) => p.name).join(", ")
        } approve it: deno task approve ${out} --key <key-file>; then deno task deploy ${doc.environment} ${doc.version} --plan ${out}`
        : `${doc.environment} requires no approvals: deno task deploy ${doc.environment} ${doc.version} --plan ${out}`,
    ].join("\n") + "\n",
  );
  return EXIT.ok;
}
