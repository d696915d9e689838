/**
 * Approving a waiting run from another machine: connecting to where waiting runs may be (the
 * sandbox on its state folder, else each environment's kubeconfig), finding the run's request
 * by run id, signing its digest as the listed approver the key belongs to, and adding the
 * signed approval as one key with a JSON Patch that first tests the request is still waiting
 * (an atomic write: two approvers at once never lose one).
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import { KubeClient } from "../kubernetes/client.ts";
import { findRunningSandbox } from "../sandbox/mod.ts";
import { InputError } from "../runner/errors.ts";
import { type Approval, signApproval } from "./approvals.ts";
import { fingerprintOf, readPrivateKey } from "./signatures.ts";
import {
  type ApprovalCluster,
  approvalKeyOf,
  type ApprovalRequest,
  CONFIG_MAP,
  readApprovalRequest,
  requestName,
} from "./waiting_request.ts";

/** The public key (one-line SPKI base64) of an Ed25519 private key, from its JWK. */
async function publicKeyOf(key: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const raw = atob((jwk.x ?? "").replace(/-/g, "+").replace(/_/g, "/"));
  // SPKI DER for Ed25519 (RFC 8410): SEQUENCE { AlgorithmIdentifier 1.3.101.112, BIT STRING }.
  const prefix = "302a300506032b6570032100".match(/../g)!.map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...prefix) + raw);
}

/** A namespace a waiting run may be in, and the kubeconfig that reaches its cluster. */
export interface ApprovalTarget {
  /** The namespace (an environment's `environment.namespace`). */
  readonly namespace: string;
  /** Its kubeconfig (ignored for a sandbox). */
  readonly kubeconfigPath?: string | undefined;
  /** Its context (default: the kubeconfig's current one). */
  readonly context?: string | undefined;
}

/**
 * Connects to where waiting runs may be: the sandbox running on `sandboxDir` (a deploy with
 * `--sandbox` keeps its kubeconfig there while it runs), else each target's kubeconfig.
 *
 * @param o The sandbox's state folder, or none; the namespaces to look in.
 * @returns One cluster per target.
 * @throws {InputError} When no sandbox runs on `sandboxDir`, or a kubeconfig cannot be used.
 *
 * @example
 * ```ts ignore
 * import { approvalClusters } from "./waiting.ts";
 * const clusters = await approvalClusters({ sandboxDir: "state/sandbox", targets: [{ namespace: "shop-prod" }] });
 * ```
 */
export async function approvalClusters(o: {
  readonly sandboxDir?: string | undefined;
  readonly targets: readonly ApprovalTarget[];
  readonly clock?: Clock | undefined;
}): Promise<ApprovalCluster[]> {
  const clock = o.clock ?? realClock;
  if (o.sandboxDir !== undefined) {
    const running = await findRunningSandbox(o.sandboxDir);
    if (!running) {
      throw new InputError(
        `No sandbox is running on ${o.sandboxDir}: a waiting rehearsal keeps its sandbox there ` +
          "while it waits; pass the --sandbox-dir the deploy was given, while it still waits",
      );
    }
    const client = KubeClient.connect(running.kubeconfigPath, { clock });
    return o.targets.map((t) => ({
      client,
      namespace: t.namespace,
      where: `the sandbox at ${running.url}`,
    }));
  }
  return o.targets.map((t) => {
    const path = t.kubeconfigPath ?? "~/.kube/config";
    try {
      const client = KubeClient.connect(path, { clock, context: t.context });
      return {
        client,
        namespace: t.namespace,
        where: `${t.context ?? "the current context"} of ${path}`,
      };
    } catch (err) {
      throw new InputError(
        `${(err as Error).message}: point KUBECONFIG at the cluster's kubeconfig`,
      );
    }
  });
}

/** What {@linkcode approveWaitingRun} takes. */
export interface ApproveWaitingOptions {
  /** The approver's private key file (its path, for messages). */
  readonly keyFile: string;
  /** Its content (default: read from `keyFile`). */
  readonly keyText?: string | undefined;
  /** A comment (a change ticket). */
  readonly comment?: string | undefined;
  /** Where to look for the request, in order: the first cluster holding it is used. */
  readonly clusters: readonly ApprovalCluster[];
  /** The approver's clock, stamping the approval (default real time). */
  readonly clock?: Clock | undefined;
}

/** What an approver was told. */
export interface ApprovedWaitingRun {
  /** The approval written. */
  readonly approval: Approval;
  /** Who it is (as listed). */
  readonly name: string;
  /** The request as it was before. */
  readonly request: ApprovalRequest;
  /** Where it was written. */
  readonly where: string;
}

async function findRequest(
  runId: string,
  clusters: readonly ApprovalCluster[],
): Promise<{ request: ApprovalRequest; cluster: ApprovalCluster }> {
  for (const cluster of clusters) {
    const request = await readApprovalRequest(cluster, runId);
    if (request) return { request, cluster };
  }
  const where = clusters.map((c) => `${c.namespace} (${c.where})`).join(", ") || "nowhere";
  throw new InputError(
    `Run ${runId} is not waiting for approvals: no request for it in ${where}. Check the run id ` +
      "the deploy printed, and reach its cluster as the deploy does (--sandbox --sandbox-dir <dir> " +
      "for a rehearsal, else the environment's kubeconfig)",
  );
}

/**
 * Approves a waiting run (what `deno task approve <run-id> --key <file>` calls): finds its
 * request, signs its digest as the listed approver the key belongs to, and adds the approval
 * atomically, only while the run still waits.
 *
 * @param runId The run's id, as the deploy printed it.
 * @param o The key, a comment, and where to look.
 * @returns The approval and who signed it.
 * @throws {InputError} (exit 2) When the key is not a private key, or not a listed
 *   approver's; when it is the deployer's own; when the run is not (or no longer) waiting.
 *
 * @example
 * ```ts ignore
 * import { approveWaitingRun } from "./waiting.ts";
 * const done = await approveWaitingRun("20260101T000000Z-abc123", { keyFile: "ada.key", clusters });
 * console.log(`approved as ${done.name}`);
 * ```
 */
export async function approveWaitingRun(
  runId: string,
  o: ApproveWaitingOptions,
): Promise<ApprovedWaitingRun> {
  const text = o.keyText ?? await Deno.readTextFile(o.keyFile).catch((err) => {
    throw new InputError(`Cannot read the key file ${o.keyFile}: ${(err as Error).message}`);
  });
  const key = await readPrivateKey(text, o.keyFile).catch((err) => {
    throw new InputError((err as Error).message);
  });
  const publicKey = await publicKeyOf(key);
  const fingerprint = await fingerprintOf(publicKey);
  const { request, cluster } = await findRequest(runId, o.clusters);
  const label = `run ${runId} (${request.environment} ${request.version})`;
  if (request.state !== "waiting") {
    throw new InputError(`${label} is not waiting for approvals any more: it is ${request.state}`);
  }
  const who = request.approvers.find((a) => a.fingerprint === fingerprint);
  if (!who) {
    throw new InputError(
      `The key in ${o.keyFile} (${fingerprint}) is not a listed approver of ${request.environment}: ` +
        `listed are ${request.approvers.map((a) => `${a.name} <${a.email}>`).join(", ") || "none"}`,
    );
  }
  if (who.email.toLowerCase() === request.deployer.toLowerCase()) {
    throw new InputError(
      `${who.name} <${who.email}> is the deployer of ${label}: nobody approves their own deploy; ` +
        "ask another listed approver",
    );
  }
  const approval = await signApproval(key, publicKey, {
    digest: request.digest,
    environment: request.environment,
    version: request.version,
    approver: who.email,
    signedAt: new Date((o.clock ?? realClock).now()).toISOString(),
    ...(o.comment ? { comment: o.comment } : {}),
  });
  await addApproval(cluster, runId, who.email, approval, label);
  return { approval, name: who.name, request, where: `${cluster.namespace} (${cluster.where})` };
}

async function addApproval(
  cluster: ApprovalCluster,
  runId: string,
  email: string,
  approval: Approval,
  label: string,
): Promise<void> {
  const key = approvalKeyOf(email);
  try {
    // One atomic write: only while the request still waits, touching only this key.
    await cluster.client.patch(CONFIG_MAP, cluster.namespace, requestName(runId), {
      type: "json",
      patch: [
        { op: "test", path: "/data/state", value: "waiting" },
        { op: "add", path: `/data/${key}`, value: JSON.stringify(approval) },
      ],
    });
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 422 || status === 404) {
      throw new InputError(`${label} stopped waiting before the approval was written`);
    }
    throw err;
  }
}
