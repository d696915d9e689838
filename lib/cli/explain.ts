/**
 * `deno task explain <run-id>`: being built (issue 15); refuses until then.
 * @module
 */
import { InputError } from "../runner/mod.ts";
import type { Command } from "./command.ts";

/**
 * The usage of `explain`.
 *
 * @example
 * ```ts
 * import { EXPLAIN_USAGE } from "./explain.ts";
 * console.assert(EXPLAIN_USAGE.startsWith("usage: deno task explain"));
 * ```
 */
export const EXPLAIN_USAGE = "usage: deno task explain <run-id> (not built yet)";

/**
 * The `explain` command of the CLI.
 *
 * @example
 * ```ts
 * import { EXPLAIN_COMMAND } from "./explain.ts";
 * console.assert(EXPLAIN_COMMAND.name === "explain");
 * ```
 */
export const EXPLAIN_COMMAND: Command = {
  name: "explain",
  summary: "says what happened in a run, its first cause, and what to run next",
  usage: EXPLAIN_USAGE,
  run: () => Promise.reject(new InputError(EXPLAIN_USAGE)),
};
