/**
 * Small helpers shared by probes: deadlines and readable error messages.
 * @module
 */

/**
 * An abort signal that fires after `ms` milliseconds, or when `parent` aborts.
 *
 * @param ms The deadline in milliseconds.
 * @param parent An optional signal to follow (e.g. the stage's).
 * @returns The combined signal.
 *
 * @example
 * ```ts
 * import { deadlineSignal } from "./timeout.ts";
 * import assert from "node:assert/strict";
 * const signal = deadlineSignal(10_000);
 * assert.equal(signal.aborted, false);
 * ```
 */
export function deadlineSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return parent ? AbortSignal.any([timeout, parent]) : timeout;
}

/**
 * Describes an error for a check's message: the error's message, or a plain
 * phrase for timeouts and refused connections.
 *
 * @param err What was thrown.
 * @param timeoutMs The deadline that applied, to name it in a timeout message.
 * @returns One line.
 *
 * @example
 * ```ts
 * import { describeError } from "./timeout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeError(new DOMException("x", "TimeoutError"), 500), "timed out after 500 ms");
 * ```
 */
export function describeError(err: unknown, timeoutMs?: number): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    if (err.name === "AbortError") return "aborted";
    return timeoutMs === undefined ? "timed out" : `timed out after ${timeoutMs} ms`;
  }
  if (err instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `${err.message}${cause}`.split("\n")[0]!;
  }
  return String(err);
}
