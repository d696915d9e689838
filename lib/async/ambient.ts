/**
 * The clock of the thread code runs in: {@linkcode realClock} unless a runner installed
 * another. A stage's Worker installs the run's clock (its `ctx.clock`) before the stage's
 * code runs, so library code inside a stage that waits or stamps without being handed a
 * clock ({@linkcode delay}, the Kubernetes strategies' defaults) follows the run's clock —
 * a virtual one included. The main thread keeps the real clock: everything there is
 * handed its clock explicitly.
 * @module
 */
import { type Clock, realClock } from "../clock/clock.ts";

let current: Clock = realClock;

/**
 * The clock installed for this thread (default {@linkcode realClock}).
 *
 * @returns The clock.
 *
 * @example
 * ```ts
 * import { ambientClock } from "./ambient.ts";
 * const stamp = new Date(ambientClock().now()).toISOString();
 * console.assert(stamp.endsWith("Z"));
 * ```
 */
export function ambientClock(): Clock {
  return current;
}

/**
 * Installs the clock of this thread (a stage's Worker: the run's clock).
 *
 * @param clock The clock.
 * @returns Puts the previous clock back.
 *
 * @example
 * ```ts
 * import { ambientClock, setAmbientClock } from "./ambient.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const restore = setAmbientClock(virtualClock({ startMs: 0 }));
 * console.assert(ambientClock().now() === 0);
 * restore();
 * ```
 */
export function setAmbientClock(clock: Clock): () => void {
  const previous = current;
  current = clock;
  return () => {
    current = previous;
  };
}
