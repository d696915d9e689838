/**
 * One clock for the runner and the sandbox: {@linkcode realClock} for production,
 * {@linkcode scaledClock} for a sandbox that runs N times faster, {@linkcode virtualClock}
 * for rehearsals and simulations that jump to the next due timer whenever all work is
 * waiting. Durations are target time; only this folder reads wall time or sets timers.
 *
 * ```ts
 * import { virtualClock } from "./mod.ts";
 * const clock = virtualClock({ startMs: 0 });
 * await clock.sleep(900_000); // a 15-minute canary step, at once
 * console.assert(clock.now() === 900_000);
 * ```
 * @module
 */
export * from "./clock.ts";
export * from "./virtual.ts";
