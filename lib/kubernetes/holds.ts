/**
 * How a client's requests hold the clock: each while it is in flight, none while it waits
 * to be retried. On a virtual clock requests go one at a time, in the order they were made
 * (so they end in a reproducible order), and the one in flight can let go of its hold for a
 * wait on the clock (a backoff, a slow answer's delay) and take it again after: a virtual
 * clock cannot move while held, and a held wait would never end.
 * @module
 */
import type { Clock } from "../clock/mod.ts";

/**
 * The holds of one client's requests.
 *
 * @example
 * ```ts
 * import { RequestHolds } from "./holds.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const clock = virtualClock({ startMs: 0 });
 * const holds = new RequestHolds(clock);
 * const answer = await holds.run("get", async () => {
 *   const resume = holds.pause(); // a backoff: the clock may move meanwhile
 *   await clock.sleep(1_000);
 *   resume();
 *   return "ok";
 * });
 * console.assert(answer === "ok" && clock.now() === 1_000);
 * ```
 */
export class RequestHolds {
  readonly #clock: Clock;
  #queue: Promise<unknown> = Promise.resolve();
  /** The hold of the request in flight (a virtual clock's: one at a time). */
  #held: { what: string; release: (() => void) | undefined } | undefined;

  /** @param clock The client's clock. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Runs one request, holding the clock while it is in flight; on a virtual clock after
   * every request made before it.
   *
   * @param what What it is, for the clock's list of holds.
   * @param send Sends it.
   * @returns Its answer.
   */
  run<T>(what: string, send: () => Promise<T>): Promise<T> {
    const clock = this.#clock;
    if (clock.kind !== "virtual") return clock.track(what, send());
    const run = async () => {
      const held = this.#held = { what, release: clock.hold(what) };
      try {
        return await send();
      } finally {
        held.release?.();
        this.#held = undefined;
      }
    };
    // Queued without a hold: a request waiting behind one that waits out a backoff must
    // not stop the clock that backoff is on.
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  /**
   * Lets go of the hold of the request in flight, for a wait on the clock.
   *
   * @returns What takes it again (a no-op when nothing was held).
   */
  pause(): () => void {
    const held = this.#held;
    if (!held?.release) return () => {};
    held.release();
    held.release = undefined;
    return () => {
      if (this.#held === held) held.release = this.#clock.hold(held.what);
    };
  }
}
