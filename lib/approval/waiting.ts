/**
 * Approving a waiting run through the cluster, the medium both machines reach: the waiting
 * run publishes its request as a ConfigMap in its namespace (plan digest, environment,
 * version, deployer, required count, listed approvers by fingerprint, expiry, state); an
 * approver on another machine finds it by run id, signs its digest and adds the signed
 * approval as one key with a JSON Patch that first tests the request is still waiting (an
 * atomic write: two approvers at once never lose one); the run reads the approvals back,
 * verifies each with the environment's own policy, and goes on when enough are valid.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import { KubeClient } from "../kubernetes/client.ts";
import { findRunningSandbox } from "../sandbox/mod.ts";
import { ANNOTATION_PREFIX, TOOL_NAME } from "../product/mod.ts";
import { InputError } from "../runner/errors.ts";
import {
  type Approval,
  type ApprovalPolicy,
  type ApprovalVerdict,
  signApproval,
  verifyApprovals,
  type VerifyContext,
} from "./approvals.ts";
import { fingerprintOf, readPrivateKey } from "./signatures.ts";

const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
/** The label every request carries, with the run id as its value. */
export const REQUEST_LABEL = `${ANNOTATION_PREFIX}/approval-request`;
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

function keyOf(email: string): string {
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
  const key = keyOf(email);
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

/** What a poll of the approvals found. */
export interface Poll<T> {
  /** The outcome, once there is one (enough approvals, or a refusal thrown instead). */
  readonly done?: T | undefined;
  /** Whether anything changed since the last poll (a change polls again soon). */
  readonly changed: boolean;
}

/** What {@linkcode pollApprovals} takes. */
export interface PollOptions<T> {
  /** The run's clock. */
  readonly clock: Clock;
  /** How long to wait at most (target ms on a real or scaled clock). */
  readonly timeoutMs: number;
  /** Ends the wait (rejects with its reason). */
  readonly signal?: AbortSignal | undefined;
  /** What is waited for, for the clock's list of holds. */
  readonly what: string;
  /** Reads once. */
  readonly read: () => Promise<Poll<T>>;
}

/** The first and longest real pause between two reads (a change reads again after the first). */
export const POLL_REAL_MS: { readonly first: number; readonly max: number } = {
  first: 200,
  max: 5_000,
};

/**
 * Waits for people: reads until `read` says done, backing off while nothing changes (from
 * {@linkcode POLL_REAL_MS}.first to .max of real time), until `timeoutMs` passes
 * (`undefined` then). People answer in real time: on a virtual clock the run's clock is held
 * for the whole wait (it must not jump past it) and the wait and its limit run on real time;
 * a real or scaled clock waits on itself, its limit in target time.
 *
 * @param o The clock, the limit, the signal and the read.
 * @returns The outcome, or undefined when the limit passed first.
 *
 * @example
 * ```ts
 * import { pollApprovals } from "./waiting.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * let n = 0;
 * const got = await pollApprovals({
 *   clock: virtualClock({ startMs: 0 }), timeoutMs: 60_000, what: "approvals",
 *   read: () => Promise.resolve(++n === 2 ? { done: "ok", changed: true } : { changed: false }),
 * });
 * console.assert(got === "ok");
 * ```
 */
export async function pollApprovals<T>(o: PollOptions<T>): Promise<T | undefined> {
  const wait = o.clock.kind === "virtual" ? realClock : o.clock;
  const release = o.clock.kind === "virtual" ? o.clock.hold(o.what) : () => {};
  try {
    const start = wait.now();
    let pause = POLL_REAL_MS.first;
    for (;;) {
      o.signal?.throwIfAborted();
      const p = await o.read();
      if (p.done !== undefined) return p.done;
      const left = o.timeoutMs - wait.since(start);
      if (left <= 0) return undefined;
      pause = p.changed ? POLL_REAL_MS.first : Math.min(POLL_REAL_MS.max, pause * 1.5);
      await wait.sleep(Math.min(left, pause * wait.scale), { signal: o.signal });
    }
  } finally {
    release();
  }
}

/** The wait for approvals ended without enough (`verdict` says who approved and who not). */
export class ApprovalTimeoutError extends Error {
  /** The verdict when it ended. */
  readonly verdict: ApprovalVerdict;

  /**
   * Makes the error.
   *
   * @param message What happened and what to do.
   * @param verdict The verdict when it ended.
   */
  constructor(message: string, verdict: ApprovalVerdict) {
    super(message);
    this.name = "ApprovalTimeoutError";
    this.verdict = verdict;
  }
}

/**
 * Who approved and who is still needed, in a sentence.
 *
 * @param v A verdict.
 * @returns E.g. `approved by Ada <ada@x>; 1 more needed from: Bob <bob@x>`.
 *
 * @example
 * ```ts
 * import { describeVerdict } from "./waiting.ts";
 * const text = describeVerdict({ ok: false, valid: [], rejected: [], missing: 2, stillNeeded: [] });
 * console.assert(text.startsWith("approved by nobody"));
 * ```
 */
export function describeVerdict(v: ApprovalVerdict): string {
  const by = v.valid.map((a) => `${a.name} <${a.approver}>`).join(", ") || "nobody";
  const needed = v.stillNeeded.map((a) => `${a.name} <${a.email}>`).join(", ") || "nobody left";
  const rejected = v.rejected.map((r) => `${r.approval.approver}: ${r.reason}`).join("; ");
  return `approved by ${by}` +
    (v.missing > 0 ? `; ${v.missing} more needed from: ${needed}` : "") +
    (rejected ? `; not counted: ${rejected}` : "");
}

/** What {@linkcode waitForApprovals} takes. */
export interface WaitForApprovalsOptions {
  /** Where the request is. */
  readonly cluster: ApprovalCluster;
  /** The run's id. */
  readonly runId: string;
  /** The environment's policy: the approvals are verified against it, not the request. */
  readonly policy: ApprovalPolicy;
  /** The plan, its environment and version, and the deployer. */
  readonly context: Omit<VerifyContext, "now">;
  /** How long to wait (`--approval-timeout`). */
  readonly timeoutMs: number;
  /** The run's clock. */
  readonly clock: Clock;
  /** Ends the wait. */
  readonly signal?: AbortSignal | undefined;
  /** Told each time the valid approvals change. */
  readonly onProgress?: ((v: ApprovalVerdict) => void) | undefined;
}

/**
 * Waits until the run's request holds enough valid approvals (each verified with the
 * environment's policy: listed approver, their key, this plan, not the deployer, not
 * expired), telling each change; settles the request (`approved`, `timed-out`, `aborted`)
 * so no approval is written after.
 *
 * @param o The request, the policy, the plan, the limit, the clock.
 * @returns The verdict (ok).
 * @throws {ApprovalTimeoutError} When the limit passes first (nothing else changed).
 * @throws The signal's reason when aborted.
 *
 * @example
 * ```ts ignore
 * import { waitForApprovals } from "./waiting.ts";
 * const verdict = await waitForApprovals({ cluster, runId, policy, context, timeoutMs: 3_600_000, clock });
 * ```
 */
export async function waitForApprovals(o: WaitForApprovalsOptions): Promise<ApprovalVerdict> {
  const wait = o.clock.kind === "virtual" ? realClock : o.clock;
  let last = "";
  let verdict: ApprovalVerdict | undefined;
  const read = async (): Promise<Poll<ApprovalVerdict>> => {
    const request = await readApprovalRequest(o.cluster, o.runId);
    if (!request) {
      throw new Error(
        `The approval request of run ${o.runId} is gone from ${o.cluster.namespace} ` +
          `(${o.cluster.where}): someone deleted it; deploy again`,
      );
    }
    // People sign with their own clocks: a virtual run's clock is not theirs.
    const now = Math.max(o.clock.now(), wait.now());
    verdict = await verifyApprovals(o.policy, request.approvals, { ...o.context, now });
    const seen = JSON.stringify([verdict.valid.map((a) => a.approver), verdict.rejected]);
    const changed = seen !== last;
    if (changed && last !== "") o.onProgress?.(verdict);
    last = seen;
    return { changed, done: verdict.ok ? verdict : undefined };
  };
  let state = "aborted";
  try {
    const done = await pollApprovals({
      clock: o.clock,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      what: `waiting for approvals of run ${o.runId}`,
      read,
    });
    state = done ? "approved" : "timed-out";
    if (done) return done;
    throw new ApprovalTimeoutError(
      `Run ${o.runId} was not approved within the approval timeout: ${
        describeVerdict(verdict!)
      }. ` +
        "Nothing was changed: deploy again, and have the approvers run `deno task approve " +
        `${o.runId} --key <their-key>` + "` while it waits (or raise --approval-timeout)",
      verdict!,
    );
  } finally {
    await settleApprovalRequest(o.cluster, o.runId, state).catch(() => {});
  }
}
