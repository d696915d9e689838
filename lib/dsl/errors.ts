/**
 * Errors a stage can catch. A capability (`ctx.use("kubernetes")`, ...) runs in the
 * runner's main thread; when one of its calls fails, the stage's Worker receives a
 * {@linkcode CapabilityError} that keeps what the original error said: its class name
 * (`KubernetesApiError`, `LeaseHeldError`, `ScopeError`...), the HTTP `status` and the
 * API's `reason` when it has them, and its other plain fields (a lease's `holder`),
 * every string redacted.
 *
 * ```ts
 * import { CapabilityError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const err: unknown = new CapabilityError("Cannot patch ConfigMap app/settings: 409 Conflict", {
 *   name: "KubernetesApiError",
 *   capability: "kubernetes",
 *   operation: "patch",
 *   status: 409,
 *   reason: "Conflict",
 * });
 * if (err instanceof CapabilityError && err.status === 409) {
 *   assert.equal(err.name, "KubernetesApiError");
 * }
 * ```
 * @module
 */
import { TOOL_NAME } from "../product/mod.ts";

/** A plain value an error field may hold once it has crossed into a stage's Worker. */
export type CapabilityErrorDetail = string | number | boolean | null;

/** What a {@linkcode CapabilityError} is made of (besides its message). */
export interface CapabilityErrorInit {
  /** The original error's class name, e.g. `KubernetesApiError`, `LeaseHeldError`. */
  readonly name: string;
  /** The capability that was called, e.g. `kubernetes`. */
  readonly capability: string;
  /** The operation that was called, e.g. `apply`, `acquireLease`. */
  readonly operation: string;
  /** The HTTP status, for an error that came from an HTTP API (e.g. 409). */
  readonly status?: number;
  /** The API's reason, e.g. Kubernetes' `AlreadyExists`, `Conflict`, `NotFound`. */
  readonly reason?: string;
  /** The error's other plain fields, e.g. `{ holder, expiresAt }` of a held Lease. */
  readonly details?: Readonly<Record<string, CapabilityErrorDetail>>;
}

// A registered symbol: a pipeline that imports the DSL from another copy (another URL
// of this module) still gets `instanceof` right for errors the runner makes.
const BRAND = Symbol.for(`${TOOL_NAME}.CapabilityError`);

/**
 * A capability call that failed in the main thread, as the stage sees it. `name` is the
 * original error's class name, so a stage can tell a conflict from a refusal.
 *
 * @example Retry a held lock later, give up on anything else
 * ```ts
 * import { CapabilityError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * function isHeldLock(err: unknown): boolean {
 *   return err instanceof CapabilityError && err.name === "LeaseHeldError";
 * }
 * const held = new CapabilityError('Cannot acquire lease: held by "bob"', {
 *   name: "LeaseHeldError",
 *   capability: "kubernetes",
 *   operation: "acquireLease",
 *   details: { holder: "bob", expiresAt: "2026-01-01T00:00:00.000Z" },
 * });
 * assert.equal(isHeldLock(held), true);
 * assert.equal(held.details.holder, "bob");
 * assert.equal(isHeldLock(new Error("boom")), false);
 * ```
 */
export class CapabilityError extends Error {
  /** The capability that was called, e.g. `kubernetes`. */
  readonly capability: string;
  /** The operation that was called, e.g. `patch`. */
  readonly operation: string;
  /** The HTTP status (e.g. 409), when the error came from an HTTP API. */
  readonly status: number | undefined;
  /** The API's reason (e.g. `Conflict`, `AlreadyExists`), when it gave one. */
  readonly reason: string | undefined;
  /** The original error's other plain fields (e.g. a held Lease's `holder`). */
  readonly details: Readonly<Record<string, CapabilityErrorDetail>>;

  /**
   * Makes the error.
   *
   * @param message What failed (redacted when the runner makes it).
   * @param init The original name, the call, and the fields it carried.
   */
  constructor(message: string, init: CapabilityErrorInit) {
    super(message);
    this.name = init.name;
    this.capability = init.capability;
    this.operation = init.operation;
    this.status = init.status;
    this.reason = init.reason;
    this.details = Object.freeze({ ...(init.details ?? {}) });
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Whether a value is a capability error, made by this copy of the module or another.
   *
   * @param value Anything, e.g. what a `catch` caught.
   * @returns True for a {@linkcode CapabilityError}.
   *
   * @example
   * ```ts
   * import { CapabilityError } from "./errors.ts";
   * import assert from "node:assert/strict";
   * const e = new CapabilityError("x", { name: "ScopeError", capability: "kubernetes", operation: "get" });
   * assert.equal(e instanceof CapabilityError, true);
   * assert.equal(new TypeError("x") instanceof CapabilityError, false);
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is CapabilityError {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
