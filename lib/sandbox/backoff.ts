/**
 * Per-object retry backoff for the sandbox's controllers, like client-go's rate-limited work
 * queue: an object whose reconcile failed is left alone for a while (doubling on each
 * failure, up to a cap) instead of being retried on every tick of the control loop.
 * @module
 */

/**
 * Options of a {@linkcode Backoff}.
 *
 * @example
 * ```ts
 * import type { BackoffOptions } from "./backoff.ts";
 * import { targetNow } from "./clock.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const options: BackoffOptions = { now: targetNow(virtualClock()), baseMs: 200, maxMs: 10_000 };
 * console.assert(options.baseMs === 200);
 * ```
 */
export interface BackoffOptions {
  /** Target milliseconds now, monotonic (`targetNow(clock)` from `clock.ts`). */
  readonly now: () => number;
  /** The first delay (default 200 ms of target time). */
  readonly baseMs?: number;
  /** The longest delay (default 10 s of target time). */
  readonly maxMs?: number;
}

/**
 * Remembers failing objects by key and says when each may be tried again.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * import assert from "node:assert/strict";
 * let now = 0;
 * const backoff = new Backoff({ now: () => now, baseMs: 100, maxMs: 1000 });
 * assert.equal(backoff.ready("rs-1"), true);
 * assert.equal(backoff.failed("rs-1"), 100);
 * assert.equal(backoff.ready("rs-1"), false);
 * now = 100;
 * assert.equal(backoff.ready("rs-1"), true);
 * assert.equal(backoff.failed("rs-1"), 200);
 * assert.equal(backoff.nextIn(), 200);
 * backoff.succeeded("rs-1");
 * assert.equal(backoff.failures("rs-1"), 0);
 * assert.equal(backoff.nextIn(), undefined);
 * ```
 */
export class Backoff {
  #now: () => number;
  #baseMs: number;
  #maxMs: number;
  #entries = new Map<string, { failures: number; until: number }>();

  /**
   * Creates an empty backoff.
   *
   * @param options The clock and the first and longest delays.
   */
  constructor(options: BackoffOptions) {
    this.#now = options.now;
    this.#baseMs = options.baseMs ?? 200;
    this.#maxMs = options.maxMs ?? 10_000;
  }

  /** Whether `key` may be tried now (it never failed, or its delay has passed). */
  ready(key: string): boolean {
    const entry = this.#entries.get(key);
    return entry === undefined || this.#now() >= entry.until;
  }

  /** Records a failure of `key`; returns the delay before it may be tried again (ms). */
  failed(key: string): number {
    const failures = (this.#entries.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures - 1, 30));
    this.#entries.set(key, { failures, until: this.#now() + delay });
    return delay;
  }

  /** Forgets the failures of `key`. */
  succeeded(key: string): void {
    this.#entries.delete(key);
  }

  /** Consecutive failures of `key` (0 when it is not backing off). */
  failures(key: string): number {
    return this.#entries.get(key)?.failures ?? 0;
  }

  /**
   * Target ms until the earliest key backing off may be tried again (0 when one already
   * may), or undefined when nothing is backing off: the control loop's next deadline.
   */
  nextIn(): number | undefined {
    let until = Infinity;
    for (const entry of this.#entries.values()) until = Math.min(until, entry.until);
    return until === Infinity ? undefined : Math.max(0, until - this.#now());
  }

  /** Forgets every key not in `keys` (objects that are gone). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.#entries.keys()]) if (!keys.has(key)) this.#entries.delete(key);
  }
}

/**
 * A reconcile failure a controller reports: an Event reason and a message.
 *
 * @example
 * ```ts
 * import type { ReconcileFailure } from "./backoff.ts";
 * const failure: ReconcileFailure = { reason: "FailedCreate", message: "Error creating: ..." };
 * console.assert(failure.reason === "FailedCreate");
 * ```
 */
export interface ReconcileFailure {
  /** The Event reason, e.g. `FailedCreate`. */
  readonly reason: string;
  /** What went wrong. */
  readonly message: string;
}

/**
 * Runs one object's reconcile unless `key` is backing off. `work` returns a failure it
 * handled, or throws one it did not (reported with `reason`); either way the key backs off
 * and `onFailure` is told (with the delay, and whether this failure started the streak).
 * A reconcile that ends without a failure forgets the key's failures.
 *
 * @param backoff The controller's backoff.
 * @param key The object's key (e.g. its uid).
 * @param reason The Event reason for an error `work` throws.
 * @param work The reconcile.
 * @param onFailure Records the failure (an Event, a log line).
 * @returns Whether the reconcile ran.
 *
 * @example
 * ```ts
 * import { Backoff, guardedReconcile } from "./backoff.ts";
 * import assert from "node:assert/strict";
 * const backoff = new Backoff({ now: () => 0 });
 * const failures: string[] = [];
 * const fail = () => {
 *   throw new Error("pods \"web-abcde\" already exists");
 * };
 * for (let i = 0; i < 1000; i++) {
 *   guardedReconcile(backoff, "rs-1", "FailedCreate", fail, (f) => failures.push(f.message));
 * }
 * assert.equal(failures.length, 1); // tried once, then backing off
 * ```
 */
export function guardedReconcile(
  backoff: Backoff,
  key: string,
  reason: string,
  work: () => ReconcileFailure | undefined | void,
  onFailure: (failure: ReconcileFailure, delayMs: number, first: boolean) => void,
): boolean {
  if (!backoff.ready(key)) return false;
  let failure: ReconcileFailure | undefined;
  try {
    failure = work() ?? undefined;
  } catch (error) {
    failure = { reason, message: error instanceof Error ? error.message : String(error) };
  }
  if (!failure) {
    backoff.succeeded(key);
    return true;
  }
  const delay = backoff.failed(key);
  onFailure(failure, delay, backoff.failures(key) === 1);
  return true;
}

/**
 * The usual `onFailure` of {@linkcode guardedReconcile} for a controller: a Warning Event
 * about the object (repeats counted by the recorder), and one log line when a streak of
 * failures starts (not one per try).
 *
 * @param o How to record an Event, where log lines go, and the controller's name.
 * @param obj The object that failed (`kind`, `metadata.namespace`, `metadata.name`).
 * @returns The callback to pass to {@linkcode guardedReconcile}.
 *
 * @example
 * ```ts
 * import { Backoff, guardedReconcile, reportFailure } from "./backoff.ts";
 * import assert from "node:assert/strict";
 * const events: string[] = [], logs: string[] = [];
 * const rs = { kind: "ReplicaSet", metadata: { namespace: "dev", name: "web-1" } };
 * const report = reportFailure({
 *   record: (_obj, e) => events.push(e.reason),
 *   log: (line) => logs.push(line),
 *   component: "replicaset-controller",
 * }, rs);
 * const fail = () => ({ reason: "FailedCreate", message: "Error creating: quota" });
 * guardedReconcile(new Backoff({ now: () => 0 }), "rs-1", "FailedSync", fail, report);
 * assert.deepEqual(events, ["FailedCreate"]);
 * assert.match(logs[0]!, /ReplicaSet dev\/web-1: FailedCreate: Error creating: quota/);
 * ```
 */
export function reportFailure(
  o: {
    record(
      obj: Record<string, unknown>,
      event: { type: "Warning"; reason: string; message: string; component: string },
    ): void;
    log(line: string): void;
    component: string;
  },
  obj: Record<string, unknown>,
): (failure: ReconcileFailure, delayMs: number, first: boolean) => void {
  return (failure, delay, first) => {
    try {
      o.record(obj, { type: "Warning", ...failure, component: o.component });
    } catch {
      // the namespace may be gone: the backoff still holds
    }
    if (!first) return;
    const m = (obj.metadata ?? {}) as Record<string, unknown>;
    o.log(
      `sandbox: ${o.component}: ${obj.kind} ${m.namespace}/${m.name}: ${failure.reason}: ${failure.message} (backing off, next try in ${delay} ms)`,
    );
  };
}
