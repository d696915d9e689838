/**
 * Errors that end a run before anything happens: bad usage, configuration, types,
 * an invalid graph. The CLI exits 2 on these, with nothing changed.
 * @module
 */

/**
 * Bad input: the run did not start and nothing was changed (exit code 2).
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new InputError('Unknown environment "prod": known are development, staging');
 * assert.equal(e.name, "InputError");
 * ```
 */
export class InputError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong and how to fix it.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/**
 * The run was interrupted before it started: nothing was changed (exit code 130).
 *
 * @example
 * ```ts
 * import { InterruptedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new InterruptedError("Interrupted while loading").name, "InterruptedError");
 * ```
 */
export class InterruptedError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was being done.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InterruptedError";
  }
}
