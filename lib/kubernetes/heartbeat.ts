/**
 * The deploy lock's heartbeat, as client-go's leader election keeps a Lease: a short lease,
 * renewed by the runner's main thread every fifth of its duration while the run lives. A
 * renewal that fails is retried every fifteenth; when none has succeeded for two thirds of
 * the duration (the renew deadline) the lock is lost: the keeper says so once
 * (`onLost`), and from then on refuses every change to the cluster (fail closed: a runner
 * that cannot prove it holds the lock stops changing the cluster) until a renewal proves
 * the lease is still ours. A lease someone else took is lost for good.
 *
 * A killed runner renews nothing, so its lock is free one lease duration after its last
 * renewal.
 * @module
 */
import type { LeaseHandle } from "./capability.ts";
import type { Clock } from "../clock/clock.ts";
import { LeaseHeldError } from "./errors.ts";

/**
 * The shortest real time a lease lasts on a scaled clock: a busy machine can stall a
 * process for seconds, and on a clock running 600 times faster a 30 s lease would be
 * 50 real ms. 60 s: with 20 s (a renew deadline of 13 real s) a rehearsal at ×240 lost its
 * lock on a 2-core machine at load 15, renewals waiting 15 s behind the sandbox's saves.
 * Virtual clocks do not move while the runner works, so they need no floor.
 */
export const MIN_REAL_LEASE_SECONDS = 60;

/**
 * A lease's duration on a clock: what was asked for, and at least
 * {@linkcode MIN_REAL_LEASE_SECONDS} of real time on a scaled clock.
 *
 * @param seconds The duration asked for (target seconds).
 * @param clock The run's clock.
 * @returns The duration to hold the lease for (target seconds).
 *
 * @example
 * ```ts
 * import { leaseSecondsOn } from "./heartbeat.ts";
 * import { realClock, scaledClock } from "../clock/mod.ts";
 * console.assert(leaseSecondsOn(30, realClock) === 30);
 * console.assert(leaseSecondsOn(30, scaledClock(60)) === 3600);
 * ```
 */
export function leaseSecondsOn(seconds: number, clock: Clock): number {
  if (clock.kind !== "scaled") return seconds;
  return Math.max(seconds, Math.ceil(MIN_REAL_LEASE_SECONDS * clock.scale));
}

/**
 * The heartbeat's timings for a lease duration, in target milliseconds (client-go's
 * defaults are 15 s, 10 s and 2 s: the same proportions).
 *
 * @param durationSeconds The lease's duration.
 * @returns How often it is renewed, how soon a failed renewal is retried, and after how
 * long without a renewal the lock counts as lost.
 *
 * @example
 * ```ts
 * import { heartbeatTimings } from "./heartbeat.ts";
 * const t = heartbeatTimings(30);
 * console.assert(t.renewEveryMs === 6000 && t.retryMs === 2000 && t.deadlineMs === 20000);
 * ```
 */
export function heartbeatTimings(durationSeconds: number): {
  renewEveryMs: number;
  retryMs: number;
  deadlineMs: number;
} {
  const ms = durationSeconds * 1000;
  return { renewEveryMs: ms / 5, retryMs: ms / 15, deadlineMs: (ms * 2) / 3 };
}

/**
 * Thrown by a change to the cluster while the run cannot prove it holds its lock.
 *
 * @example
 * ```ts
 * import { LeaseLostError } from "./heartbeat.ts";
 * const e = new LeaseLostError("Cannot apply Deployment shop/api: the deploy lock was lost");
 * console.assert(e.name === "LeaseLostError");
 * ```
 */
export class LeaseLostError extends Error {
  /** @param message What was refused and why. */
  constructor(message: string) {
    super(message);
    this.name = "LeaseLostError";
  }
}

/** What a {@linkcode LeaseKeeper} needs. */
export interface LeaseKeeperOptions {
  /** The run's clock: the heartbeat's timers and the renew deadline are on it. */
  readonly clock: Clock;
  /**
   * Renews a held lease once, within the heartbeat's retry period for that duration
   * (throws a `LeaseHeldError` when it is someone else's).
   */
  readonly renew: (lease: LeaseHandle, durationSeconds: number) => Promise<LeaseHandle>;
  /** Told once when a lease is lost: the run must stop changing the cluster. */
  readonly onLost?: ((lease: LeaseHandle, error: LeaseLostError) => void) | undefined;
  /** Told of renewals that failed and of a lease regained. */
  readonly log?: ((line: string) => void) | undefined;
}

interface Kept {
  lease: LeaseHandle;
  durationSeconds: number;
  renewedAt: number;
  lost?: LeaseLostError;
  gone?: boolean;
  cancel?: () => void;
  cancelWatch?: () => void;
}

/**
 * Keeps leases alive while they are held.
 *
 * @example
 * ```ts ignore
 * const keeper = new LeaseKeeper({ clock, renew: (l) => k.renewLease(l), onLost: (_l, e) => fail(e) });
 * keeper.keep(lease, 30);
 * keeper.assertHeld("apply Deployment shop/api"); // throws LeaseLostError once lost
 * keeper.release(lease);
 * keeper.close();
 * ```
 */
export class LeaseKeeper {
  #o: LeaseKeeperOptions;
  #kept = new Map<string, Kept>();
  #closed = false;

  /** @param o The clock, the renewal, and whom to tell. */
  constructor(o: LeaseKeeperOptions) {
    this.#o = o;
  }

  /**
   * Starts (or restarts) renewing a lease just taken or renewed.
   *
   * @param lease The held lease.
   * @param durationSeconds Its duration.
   */
  keep(lease: LeaseHandle, durationSeconds: number): void {
    if (this.#closed) return;
    const key = keyOf(lease);
    this.#stop(this.#kept.get(key));
    const kept: Kept = { lease, durationSeconds, renewedAt: this.#o.clock.now() };
    this.#kept.set(key, kept);
    this.#watch(kept);
    this.#next(kept, heartbeatTimings(durationSeconds).renewEveryMs);
  }

  /**
   * Stops renewing a lease (it is being released).
   *
   * @param lease The lease.
   */
  release(lease: LeaseHandle): void {
    this.#stop(this.#kept.get(keyOf(lease)));
    this.#kept.delete(keyOf(lease));
  }

  /** The loss that blocks changes, if a kept lease is lost. */
  get lost(): LeaseLostError | undefined {
    for (const k of this.#kept.values()) if (k.lost) return k.lost;
    return undefined;
  }

  /**
   * Throws when a kept lease is lost: a change must not be made.
   *
   * @param what The change, as a sentence says it: `apply Deployment shop/api`.
   * @throws {LeaseLostError} When the run cannot prove it holds its lock.
   */
  assertHeld(what: string): void {
    const lost = this.lost;
    if (lost) throw new LeaseLostError(`Cannot ${what}: ${lost.message}. Nothing was changed`);
  }

  /** Stops every heartbeat (the run ended). */
  close(): void {
    this.#closed = true;
    for (const k of this.#kept.values()) this.#stop(k);
    this.#kept.clear();
  }

  #stop(kept: Kept | undefined): void {
    kept?.cancel?.();
    kept?.cancelWatch?.();
  }

  #next(kept: Kept, ms: number): void {
    if (this.#closed || kept.gone) return;
    // Not persistent: a heartbeat neither keeps the process alive nor, on a virtual clock,
    // moves time by itself; it beats as the run's own waits carry time past it.
    kept.cancel = this.#o.clock.schedule(ms, () => void this.#beat(kept), { persistent: false });
  }

  /** Arms the renew deadline from the last renewal; a renewal re-arms it. */
  #watch(kept: Kept): void {
    kept.cancelWatch?.();
    if (this.#closed || kept.gone) return;
    const t = heartbeatTimings(kept.durationSeconds);
    const what = `${kept.lease.namespace}/${kept.lease.name}`;
    kept.cancelWatch = this.#o.clock.schedule(t.deadlineMs, () => {
      if (this.#closed || kept.gone || this.#kept.get(keyOf(kept.lease)) !== kept) return;
      const since = this.#o.clock.since(kept.renewedAt);
      this.#lose(
        kept,
        `the lock ${what} was not renewed for ${Math.round(since / 1000)} s ` +
          `(the renew deadline is ${Math.round(t.deadlineMs / 1000)} s of a ` +
          `${kept.durationSeconds} s lease), so this run cannot prove it still holds it`,
      );
    }, { persistent: false });
  }

  async #beat(kept: Kept): Promise<void> {
    const t = heartbeatTimings(kept.durationSeconds);
    const clock = this.#o.clock;
    const what = `${kept.lease.namespace}/${kept.lease.name}`;
    try {
      // Not held here: the client holds the clock around each request itself, and releases
      // it while a retry waits (holding it across that wait would stop a virtual clock).
      const renewed = await this.#o.renew(kept.lease, kept.durationSeconds);
      if (this.#closed || this.#kept.get(keyOf(kept.lease)) !== kept) return;
      kept.lease = renewed;
      kept.renewedAt = clock.now();
      if (kept.lost) {
        this.#o.log?.(`regained the lock ${what}: changes are allowed again`);
        delete kept.lost;
      }
      this.#watch(kept);
      this.#next(kept, t.renewEveryMs);
    } catch (error) {
      if (this.#closed || this.#kept.get(keyOf(kept.lease)) !== kept) return;
      this.#o.log?.(`could not renew the lock ${what}: ${(error as Error).message}`);
      // Taken only when the lease names another holder: a 409 on our update (holder
      // unknown) may be a flaky server's, and the next renewal reads the lease again.
      if (error instanceof LeaseHeldError && error.holder !== "") {
        kept.gone = true;
        kept.cancelWatch?.();
        this.#lose(kept, `another holder took the lock ${what} (${error.message})`);
        return;
      }
      this.#next(kept, t.retryMs);
    }
  }

  #lose(kept: Kept, reason: string): void {
    if (kept.lost) return;
    kept.lost = new LeaseLostError(`this run lost its deploy lock: ${reason}`);
    this.#o.onLost?.(kept.lease, kept.lost);
  }
}

function keyOf(lease: LeaseHandle): string {
  return `${lease.namespace}/${lease.name}`;
}
