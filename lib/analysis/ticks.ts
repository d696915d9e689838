/**
 * Shared look times: the gates of one analysis that look at the same moment wait on one
 * timer, not one each. On a virtual clock every timer is a jump (the clock waits for the
 * program to be quiet, then fires one timer); three gates looking every 10 s over an
 * hour's canary were three jumps a look. Waiters of one moment are woken together, in
 * the order they asked. Moments are target time elapsed since the analysis began
 * (`clock.since(begin)`), not epoch stamps: a scaled clock's `now()` is wall time.
 * @module
 */
import type { Clock } from "../clock/mod.ts";

/**
 * Waits for moments of a clock, one timer per distinct moment.
 *
 * @example
 * ```ts
 * import { SharedTicks } from "./ticks.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const clock = virtualClock({ startMs: 0 });
 * const ticks = new SharedTicks(clock);
 * const signal = new AbortController().signal;
 * const [a, b] = await Promise.all([ticks.at(10_000, signal), ticks.at(10_000, signal)]);
 * console.assert(a && b && clock.now() === 10_000 && clock.fired === 1);
 * console.assert(ticks.begin === 0);
 * ```
 */
export class SharedTicks {
  readonly #clock: Clock;
  readonly #due = new Map<number, { cancel: () => void; wake: Set<() => void> }>();
  /** When the moments count from (the clock's `now()` when made, unless given). */
  readonly begin: number;

  /**
   * @param clock The clock whose moments are waited for.
   * @param begin What they count from (default: now).
   */
  constructor(clock: Clock, begin: number = clock.now()) {
    this.#clock = clock;
    this.begin = begin;
  }

  /**
   * Waits until `moment` ms of target time have passed since {@linkcode SharedTicks.begin}.
   *
   * @param moment When to wake (at once when it has passed).
   * @param signal Stops the wait.
   * @returns `true` at the moment, `false` when `signal` aborted first.
   */
  at(moment: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (moment <= this.#clock.since(this.begin)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let entry = this.#due.get(moment);
      if (!entry) {
        const wake = new Set<() => void>();
        const cancel = this.#clock.schedule(moment - this.#clock.since(this.begin), () => {
          this.#due.delete(moment);
          for (const w of wake) w();
        });
        entry = { cancel, wake };
        this.#due.set(moment, entry);
      }
      const e = entry;
      const onAbort = () => {
        e.wake.delete(wake);
        if (e.wake.size === 0) {
          e.cancel();
          this.#due.delete(moment);
        }
        resolve(false);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      e.wake.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
