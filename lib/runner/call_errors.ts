/**
 * Typed errors across the Worker boundary, on the main thread's side. A failed
 * capability call is sent to the stage as a {@linkcode CallError}: the original error's
 * class name, its `status` and `reason` when it has them, and its other plain fields
 * (found generically: nothing here knows `KubernetesApiError` or `LeaseHeldError`),
 * every string redacted and every size bounded ({@linkcode ERROR_LIMITS}). A string is
 * redacted before it is cut, and never cut through a redaction marker: a secret cannot
 * survive as a prefix the redactor no longer recognises. A stage that lets such an error
 * through fails with its name and status in the report ({@linkcode failureMessage}).
 * @module
 */
import type { CapabilityErrorDetail } from "../dsl/errors.ts";
import { REDACTED } from "../journal/redact.ts";
import type { CallError, ErrorFields } from "./protocol.ts";

/** The bounds on what a typed error carries, in either direction. */
export const ERROR_LIMITS = {
  /** The longest error name, capability, operation or reason kept (characters). */
  name: 100,
  /** The longest message kept (characters, 4 KiB). */
  message: 4096,
  /** The longest detail string kept (characters). */
  detail: 1024,
  /** The most detail fields kept. */
  details: 16,
} as const;

/** Fields of an error object that are not copied into `details`. */
const NOT_DETAILS = new Set(["name", "message", "stack", "cause", "status", "reason"]);

const identity = (s: string) => s;

/**
 * `s` cut to `max` characters with `…` at the end: before a `[redacted]` marker the cut
 * would go through, and never between the two halves of a surrogate pair.
 */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const marker = s.lastIndexOf(REDACTED, end - 1);
  if (marker >= 0 && marker + REDACTED.length > end) end = marker;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}

/**
 * An error's name as the runner keeps it: at most {@linkcode ERROR_LIMITS}`.name` characters.
 *
 * @param name The name as it arrived (a Worker can send any string).
 * @returns The name, cut with `…` when too long.
 *
 * @example
 * ```ts
 * import { boundedName } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(boundedName("KubernetesApiError"), "KubernetesApiError");
 * assert.equal(boundedName("N".repeat(500)).length, 100);
 * ```
 */
export function boundedName(name: string): string {
  return cut(name, ERROR_LIMITS.name);
}

/**
 * An error's message as the runner keeps and sends it: redacted first, then cut to
 * {@linkcode ERROR_LIMITS}`.message` characters (never through a redaction marker).
 *
 * @param message The message as it arrived (a capability or a Worker can make it any size).
 * @param redact Removes secret values (identity when the text is already redacted).
 * @returns The redacted message, cut with `…` when too long.
 *
 * @example
 * ```ts
 * import { boundedMessage, ERROR_LIMITS } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(boundedMessage("boom"), "boom");
 * const redact = (s: string) => s.replaceAll("hunter2", "[redacted]");
 * const huge = boundedMessage("x".repeat(4090) + "hunter2 and more", redact);
 * assert.equal(huge, "x".repeat(4090) + "…"); // not "[reda…"
 * assert.ok(huge.length <= ERROR_LIMITS.message);
 * ```
 */
export function boundedMessage(message: string, redact: (s: string) => string = identity): string {
  return cut(redact(String(message)), ERROR_LIMITS.message);
}

function isDetail(v: unknown): v is CapabilityErrorDetail {
  return v === null || typeof v === "string" || typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v));
}

/**
 * Bounds a typed error's fields (what a Worker sends can be any size).
 *
 * @param fields The fields as they arrived or were collected.
 * @param redact Applied to every string (identity when already redacted).
 * @returns The same fields, each string cut to {@linkcode ERROR_LIMITS}.
 *
 * @example
 * ```ts
 * import { boundedFields } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 * const f = boundedFields({ capability: "kubernetes", operation: "x".repeat(500) });
 * assert.equal(f.operation.length, 100);
 * ```
 */
export function boundedFields(
  fields: ErrorFields,
  redact: (s: string) => string = identity,
): ErrorFields {
  const details: Record<string, CapabilityErrorDetail> = {};
  for (const [key, value] of Object.entries(fields.details ?? {})) {
    if (Object.keys(details).length >= ERROR_LIMITS.details) break;
    if (!isDetail(value)) continue;
    details[cut(redact(key), ERROR_LIMITS.name)] = typeof value === "string"
      ? cut(redact(value), ERROR_LIMITS.detail)
      : value;
  }
  return {
    capability: cut(redact(fields.capability), ERROR_LIMITS.name),
    operation: cut(redact(fields.operation), ERROR_LIMITS.name),
    ...(typeof fields.status === "number" && Number.isFinite(fields.status)
      ? { status: fields.status }
      : {}),
    ...(typeof fields.reason === "string"
      ? { reason: cut(redact(fields.reason), ERROR_LIMITS.name) }
      : {}),
    details,
  };
}

/**
 * What a failed call sends to the stage: the error's name, message, `status`, `reason`
 * and other plain own fields (strings, finite numbers, booleans, null), redacted, then
 * bounded ({@linkcode ERROR_LIMITS}: the message to 4 KiB).
 *
 * @param err What the capability threw.
 * @param call The capability and operation called.
 * @param redact Removes secret values from a string.
 * @returns A JSON-safe, bounded description of the error.
 *
 * @example
 * ```ts
 * import { callErrorOf } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 * class LeaseHeldError extends Error {
 *   override name = "LeaseHeldError";
 *   holder = "bob";
 * }
 * const sent = callErrorOf(new LeaseHeldError("held"), {
 *   capability: "kubernetes",
 *   operation: "acquireLease",
 * }, (s) => s);
 * assert.equal(sent.name, "LeaseHeldError");
 * assert.deepEqual(sent.details, { holder: "bob" });
 * ```
 */
export function callErrorOf(
  err: unknown,
  call: { readonly capability: string; readonly operation: string },
  redact: (s: string) => string,
): CallError {
  const e = err instanceof Error ? err : new Error(String(err));
  const own = e as unknown as Record<string, unknown>;
  const details: Record<string, CapabilityErrorDetail> = {};
  for (const key of Object.keys(own)) {
    if (!NOT_DETAILS.has(key) && isDetail(own[key])) details[key] = own[key];
  }
  const fields = boundedFields({
    capability: call.capability,
    operation: call.operation,
    ...(typeof own.status === "number" ? { status: own.status } : {}),
    ...(typeof own.reason === "string" ? { reason: own.reason } : {}),
    details,
  }, redact);
  const name = typeof e.name === "string" && e.name !== "" ? e.name : "Error";
  return {
    name: cut(redact(name), ERROR_LIMITS.name),
    message: boundedMessage(String(e.message), redact),
    ...fields,
  };
}

/** A capability call that failed; what the stage is told is in `error`. */
export class CallFailedError extends Error {
  /** What crosses to the stage's Worker. */
  readonly error: CallError;

  /**
   * Wraps a failed call's description.
   *
   * @param error What the stage is told.
   */
  constructor(error: CallError) {
    super(error.message);
    this.name = "CallFailedError";
    this.error = error;
  }
}

/**
 * How a stage's failure reads in its record: a plain error's message as it is; a typed
 * capability error with its name, call and status before it.
 *
 * @param name The error's name.
 * @param message Its message.
 * @param typed The failed call's fields, when the stage let a capability error through.
 * @returns The failure's text for the report and the journal.
 *
 * @example
 * ```ts
 * import { failureMessage } from "./call_errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(failureMessage("Error", "boom"), "boom");
 * assert.equal(
 *   failureMessage("KubernetesApiError", "Cannot patch ConfigMap a/b", {
 *     capability: "kubernetes",
 *     operation: "patch",
 *     status: 409,
 *     reason: "Conflict",
 *   }),
 *   "KubernetesApiError from kubernetes.patch (409 Conflict): Cannot patch ConfigMap a/b",
 * );
 * ```
 */
export function failureMessage(name: string, message: string, typed?: ErrorFields): string {
  if (!typed) return message;
  const f = boundedFields(typed);
  const status = [f.status || undefined, f.reason || undefined].filter((x) => x !== undefined);
  return `${boundedName(name)} from ${f.capability}.${f.operation}${
    status.length > 0 ? ` (${status.join(" ")})` : ""
  }: ${message}`;
}
