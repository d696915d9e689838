/**
 * Errors of the release tool, by meaning: a refusal (bad input or a state that
 * must be fixed first, nothing changed, exit code 2) or a failure (exit code 1).
 *
 * @module
 */

/**
 * The release refuses to start: bad arguments, dirty tree, wrong branch, no remote,
 * no token, nothing to release. Nothing was changed. Exit code 2.
 *
 * @example
 * ```ts
 * import { ReleaseRefusedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new ReleaseRefusedError("Cannot release: working tree is not clean");
 * assert.equal(error.exitCode, 2);
 * ```
 */
export class ReleaseRefusedError extends Error {
  /** The process exit code for this error. */
  readonly exitCode = 2;
  /**
   * Creates a refusal.
   *
   * @param message What is wrong and how to fix it.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReleaseRefusedError";
  }
}

/**
 * A release step failed (git push rejected, GitHub answered an error, network down).
 * Steps already done stay done; re-running completes the rest. Exit code 1.
 *
 * @example
 * ```ts
 * import { ReleaseFailedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new ReleaseFailedError("Cannot push").exitCode, 1);
 * ```
 */
export class ReleaseFailedError extends Error {
  /** The process exit code for this error. */
  readonly exitCode = 1;
  /**
   * Creates a failure.
   *
   * @param message What failed.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReleaseFailedError";
  }
}

/**
 * A `git` command exited with a non-zero code.
 *
 * @example
 * ```ts
 * import { GitError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new GitError(["push"], { code: 1, stderr: "rejected" });
 * assert.equal(error.message, "git push failed (exit code 1): rejected");
 * ```
 */
export class GitError extends Error {
  /** The arguments given to git. */
  readonly args: readonly string[];
  /** git's exit code. */
  readonly code: number;
  /** git's standard error, trimmed. */
  readonly stderr: string;
  /**
   * Creates the error from git's arguments and result.
   *
   * @param args The arguments given to git.
   * @param result The exit code and standard error.
   */
  constructor(args: readonly string[], result: { code: number; stderr: string }) {
    // Remote URLs in git's messages may carry credentials: never repeat them.
    const detail = result.stderr.trim().replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1***@");
    super(`git ${args.join(" ")} failed (exit code ${result.code})${detail ? `: ${detail}` : ""}`);
    this.name = "GitError";
    this.args = args;
    this.code = result.code;
    this.stderr = detail;
  }
}
