/**
 * A waiting run's approval request in the cluster, the medium both machines reach: published
 * as a ConfigMap in the run's namespace (plan digest, environment, version, deployer, required
 * count, listed approvers by fingerprint, expiry, state), read back with its approvals, and
 * settled when the run stops waiting.
 * @module
 */
import { KubeClient } from "../kubernetes/client.ts";
import { ANNOTATION_PREFIX, TOOL_NAME } from "../product/mod.ts";
import type { Approval, ApprovalPolicy } from "./approvals.ts";
import { fingerprintOf } from "./signatures.ts";

/**
 * The kind a request is (a ConfigMap).
 *
 * @example
 * ```ts
 * import { CONFIG_MAP } from "./waiting_request.ts";
 * console.assert(CONFIG_MAP.kind === "ConfigMap");
 * ```
 */
export const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
/**
 * The label every request carries, with the run id as its value.
 *
 * @example
 * ```ts
 * import { REQUEST_LABEL } from "./waiting_request.ts";
 * console.assert(REQUEST_LABEL.endsWith("/approval-request"));
 * ```
 */
export const REQUEST_LABEL = `${ANNOTATION_PREFIX}/approval-request`;
/** The prefix of each approval's key in the request's data. */
const APPROVAL_KEY = "approval.";

/** Where a request is: a namespace of a cluster, through a client of it. */
export interface ApprovalCluster {
  /** The client (`KubeClient.connect(kubeconfig, { context, clock })`). */
  readonly client: Pick<KubeClient, "get" | "create" | "patch">;
  /** The namespace. */
  readonly namespace: string;
  /** How to say where this is in messages (e.g. `the sandbox at http://…`). */
  readonly where: string;
}

/** A waiting run's approval request, as published. */
export interface ApprovalRequest {
  /** The run's id. */
  readonly runId: string;
  /** The plan digest to approve. */
  readonly digest: string;
  /** The environment. */
  readonly environment: string;
  /** The version. */
  readonly version: string;
  /** Who deploys (they cannot approve). */
  readonly deployer: string;
  /** How many approvals are needed. */
  readonly required: number;
  /** Who may approve: name, e-mail, GitHub login, their key's fingerprint. */
  readonly approvers: readonly {
    name: string;
    email: string;
    github?: string | undefined;
    fingerprint: string;
  }[];
  /** When it was published (ISO 8601). */
  readonly requestedAt: string;
  /** When the run stops waiting (ISO 8601). */
  readonly expiresAt: string;
  /** `waiting`, then `approved`, `timed-out`, `denied` or `aborted`. */
  readonly state: string;
  /** The approvals added so far. */
  readonly approvals: readonly Approval[];
  /** Keys that held no readable approval, with why. */
  readonly unreadable: readonly string[];
}

/**
 * The ConfigMap name of a run's request (lower case: a run id has upper-case letters).
 *
 * @param runId The run's id.
 * @returns E.g. `tracktion-deploy-approval-20260101t000000z-abc123`.
 *
 * @example
 * ```ts
 * import { requestName } from "./waiting.ts";
 * console.assert(requestName("20260101T000000Z-abc123").endsWith("-approval-20260101t000000z-abc123"));
 * ```
 */
export function requestName(runId: string): string {
  return `${TOOL_NAME}-approval-${runId.toLowerCase().replace(/[^a-z0-9.-]/g, "-")}`;
}

/**
 * The data key of an approver's approval in a request.
 *
 * @param email The approver's e-mail.
 * @returns E.g. `approval.ada_example.com`.
 *
 * @example
 * ```ts
 * import { approvalKeyOf } from "./waiting_request.ts";
 * console.assert(approvalKeyOf("Ada@example.com") === "approval.ada_example.com");
 * ```
 */
export function approvalKeyOf(email: string): string {
  return APPROVAL_KEY + email.toLowerCase().replace(/[^-._a-z0-9]/g, "_");
}

/**
 * Publishes a waiting run's request in its namespace (state `waiting`).
 *
 * @param cluster Where.
 * @param r What is to be approved (without state and approvals).
 * @param policy The environment's policy (its approvers are listed by fingerprint).
 * @returns The ConfigMap's name.
 *
 * @example
 * ```ts ignore
 * import { publishApprovalRequest } from "./waiting.ts";
 * await publishApprovalRequest(cluster, request, policy);
 * ```
 */
export async function publishApprovalRequest(
  cluster: ApprovalCluster,
  r: Omit<ApprovalRequest, "state" | "approvals" | "unreadable" | "approvers">,
  policy: ApprovalPolicy,
): Promise<string> {
  const approvers = await Promise.all(policy.approvers.map(async (a) => ({
    name: a.name,
    email: a.email,
    ...(a.github ? { github: a.github } : {}),
    fingerprint: await fingerprintOf(a.publicKey),
  })));
  const name = requestName(r.runId);
  await cluster.client.create({
    ...CONFIG_MAP,
    metadata: {
      name,
      namespace: cluster.namespace,
      labels: { [REQUEST_LABEL]: r.runId, "app.kubernetes.io/managed-by": TOOL_NAME },
    },
    data: {
      "run-id": r.runId,
      digest: r.digest,
      environment: r.environment,
      version: r.version,
      deployer: r.deployer,
      required: String(r.required),
      approvers: JSON.stringify(approvers),
      "requested-at": r.requestedAt,
      "expires-at": r.expiresAt,
      state: "waiting",
    },
  } as never);
  return name;
}

/**
 * Reads a run's request; `null` when there is none.
 *
 * @param cluster Where.
 * @param runId The run's id.
 * @returns The request and its approvals, or null.
 *
 * @example
 * ```ts ignore
 * import { readApprovalRequest } from "./waiting.ts";
 * const r = await readApprovalRequest(cluster, "20260101T000000Z-abc123");
 * ```
 */
export async function readApprovalRequest(
  cluster: ApprovalCluster,
  runId: string,
): Promise<ApprovalRequest | null> {
  const cm = await cluster.client.get(CONFIG_MAP, cluster.namespace, requestName(runId));
  if (!cm) return null;
  const data = ((cm as { data?: Record<string, string> }).data) ?? {};
  const approvals: Approval[] = [];
  const unreadable: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (!key.startsWith(APPROVAL_KEY)) continue;
    try {
      approvals.push(JSON.parse(value) as Approval);
    } catch {
      unreadable.push(`${key}: not JSON`);
    }
  }
  let approvers: ApprovalRequest["approvers"] = [];
  try {
    approvers = JSON.parse(data.approvers ?? "[]");
  } catch {
    unreadable.push("approvers: not JSON");
  }
  return {
    runId: data["run-id"] ?? runId,
    digest: data.digest ?? "",
    environment: data.environment ?? "",
    version: data.version ?? "",
    deployer: data.deployer ?? "",
    required: Number(data.required ?? "0"),
    approvers,
    requestedAt: data["requested-at"] ?? "",
    expiresAt: data["expires-at"] ?? "",
    state: data.state ?? "",
    approvals,
    unreadable,
  };
}

/**
 * Sets a request's state (the run stopped waiting: `approved`, `timed-out`, `aborted`...).
 * An approval written after it is refused.
 *
 * @param cluster Where.
 * @param runId The run's id.
 * @param state The new state.
 *
 * @example
 * ```ts ignore
 * import { settleApprovalRequest } from "./waiting.ts";
 * await settleApprovalRequest(cluster, runId, "approved");
 * ```
 */
export async function settleApprovalRequest(
  cluster: ApprovalCluster,
  runId: string,
  state: string,
): Promise<void> {
  await cluster.client.patch(CONFIG_MAP, cluster.namespace, requestName(runId), {
    type: "merge",
    patch: { data: { state } },
  });
}
