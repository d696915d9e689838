/**
 * Waiting that an abort cuts short, with `@std/async/delay`'s contract: `delay(ms,
 * { signal })` resolves after `ms` milliseconds, or rejects with `signal.reason` as soon
 * as the signal aborts (at once when it already has), clearing its timer. It waits on the
 * thread's clock ({@linkcode ambientClock}): real time, except inside a stage's Worker,
 * where it is the run's clock (a virtual one jumps). Code that is handed a `Clock` waits on
 * that instead.
 * @module
 */
import { ambientClock } from "./ambient.ts";
import { realClock } from "../clock/clock.ts";

/**
 * Options for {@linkcode delay}.
 *
 * @example
 * ```ts
 * import type { DelayOptions } from "./delay.ts";
 * const options: DelayOptions = { signal: AbortSignal.timeout(1_000), persistent: false };
 * ```
 */
export interface DelayOptions {
  /** Aborts the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /**
   * Whether the timer keeps the process alive (default true). False unrefs it
   * (`Deno.unrefTimer`), as std does.
   */
  persistent?: boolean | undefined;
}

/** The longest single `setTimeout` (a 32-bit signed int); longer waits are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Resolves after `ms` milliseconds (of the thread's clock); rejects with `signal.reason` when the signal aborts
 * before then (at once when it is already aborted), and the timer is cleared.
 *
 * @param ms How long to wait; 0 or less waits one timer turn.
 * @param options The abort signal, and whether the timer keeps the process alive.
 * @returns A promise that resolves after the wait.
 * @throws {unknown} The signal's reason (an `AbortError` `DOMException` by default) when it aborts.
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 * import assert from "node:assert/strict";
 * await delay(1);
 * const c = new AbortController();
 * c.abort(new Error("stop"));
 * await assert.rejects(delay(60_000, { signal: c.signal }), /stop/); // at once
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const clock = ambientClock();
  if (clock !== realClock) return clock.sleep(ms, { signal });
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = Date.now() + Math.max(0, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const arm = () => {
      const left = end - Date.now();
      if (left > MAX_TIMEOUT) {
        timer = setTimeout(arm, MAX_TIMEOUT);
      } else {
        timer = setTimeout(() => {
          signal?.removeEventListener("abort", abort);
          resolve();
        }, Math.max(0, left));
      }
      if (!persistent) Deno.unrefTimer(timer!);
    };
    signal?.addEventListener("abort", abort, { once: true });
    arm();
  });
}
