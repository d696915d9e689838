/**
 * The errors of the Kubernetes layer a caller is expected to catch: an API request
 * answered with an error status ({@linkcode KubernetesApiError}, with its HTTP `status`
 * and the API's `reason`), and a deploy lock held by someone else
 * ({@linkcode LeaseHeldError}). This module imports nothing, so stage code (and the
 * runner, rebuilding an error that crossed the Worker boundary) can test for them
 * without loading `@kubernetes/client-node`.
 * @module
 */

/**
 * An API request answered with an error status (or no answer at all: `status` 0).
 *
 * @example
 * ```ts
 * import { KubernetesApiError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new KubernetesApiError("Cannot apply Deployment shop/web-blue: 409 Conflict", {
 *   status: 409,
 *   reason: "Conflict",
 * });
 * assert.equal(error.name, "KubernetesApiError");
 * assert.equal(error.status, 409);
 * ```
 */
export class KubernetesApiError extends Error {
  /** The HTTP status, e.g. 404, 409, 422 (0 when no response arrived). */
  readonly status: number;
  /** The `Status.reason`, e.g. `NotFound`, `Conflict`, `Invalid`. */
  readonly reason: string;

  /**
   * Makes the error.
   *
   * @param message The message, naming the action and the object.
   * @param options The HTTP status and the API's reason.
   */
  constructor(message: string, options: { status: number; reason: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KubernetesApiError";
    this.status = options.status;
    this.reason = options.reason;
  }
}

/**
 * The lease is held by someone else (or was taken over while we raced for it).
 *
 * @example
 * ```ts
 * import { LeaseHeldError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new LeaseHeldError('Cannot acquire Lease shop/deploy-lock: held by "ann"', {
 *   holder: "ann",
 *   expiresAt: "2026-01-01T00:15:00.000Z",
 * });
 * assert.equal(error.name, "LeaseHeldError");
 * assert.equal(error.holder, "ann");
 * ```
 */
export class LeaseHeldError extends Error {
  /** Who holds it, when known. */
  readonly holder: string;
  /** When their hold expires (ISO time), when known. */
  readonly expiresAt: string;

  /**
   * Makes the error.
   *
   * @param message What happened.
   * @param options The holder and the expiry.
   */
  constructor(message: string, options: { holder: string; expiresAt: string }) {
    super(message);
    this.name = "LeaseHeldError";
    this.holder = options.holder;
    this.expiresAt = options.expiresAt;
  }
}
