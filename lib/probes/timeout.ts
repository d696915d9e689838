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
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) {
      chain.push(e.message);
    }
    const all = chain.join(": ");
    const denied = /Requires (\w+) access to ([^,]+), run again/.exec(all);
    if (denied) return `no ${denied[1]} permission for ${denied[2]} (the stage did not declare it)`;
    if (/connection refused/i.test(all)) return "connection refused";
    if (/connection reset/i.test(all)) return "connection reset";
    if (/dns error|failed to lookup|name or service not known|no such host/i.test(all)) {
      return "DNS lookup failed";
    }
    if (/certificate|tls|ssl/i.test(all) && !/timed out/i.test(all)) {
      return `TLS error: ${chain[chain.length - 1]!.split("\n")[0]}`;
    }
    return all.split("\n")[0]!;
  }
  return String(err);
}
