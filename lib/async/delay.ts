/**
 * Waiting that an abort cuts short.
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (it never rejects:
 * callers look at the signal).
 *
 * @param ms How long to wait; 0 or less resolves at once.
 * @param signal Cuts the wait short.
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 * const c = new AbortController();
 * c.abort();
 * await delay(60_000, c.signal); // returns at once
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
