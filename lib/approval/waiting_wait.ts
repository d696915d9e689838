/**
 * The waiting run's side: it reads its request's approvals back, verifies each with the
 * environment's own policy (not the request's copy), tells each change, goes on when enough
 * are valid, and ends at its limit naming who was still needed.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import {
  type ApprovalPolicy,
  type ApprovalVerdict,
  verifyApprovals,
  type VerifyContext,
} from "./approvals.ts";
import {
  type ApprovalCluster,
  readApprovalRequest,
  settleApprovalRequest,
} from "./waiting_request.ts";

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
