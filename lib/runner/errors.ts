/**
 * Errors that end a run before anything happens: bad usage, configuration, types,
 * an invalid graph. The CLI exits 2 on these, with nothing changed.
 * @module
 */

/** Bad input: the run did not start and nothing was changed (exit code 2). */
export class InputError extends Error {
  /** @param message What is wrong and how to fix it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/** The run was interrupted before it started: nothing was changed (exit code 130). */
export class InterruptedError extends Error {
  /** @param message What was being done. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InterruptedError";
  }
}
