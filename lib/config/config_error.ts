/**
 * The error thrown for an environment file that cannot be used.
 * @module
 */

/** One problem found in an environment file. */
export interface Problem {
  /** The file, relative to the working directory when inside it. */
  file: string;
  /** 1-based line of the offending node (0 when the problem is not inside the file). */
  line: number;
  /** 1-based column of the offending node (0 when the problem is not inside the file). */
  column: number;
  /** Dotted path of the offending field, e.g. `"database.connection_pool.max_size"`; `""` for the file. */
  path: string;
  /** What is wrong and what was expected, e.g. `expected an integer from 1 to 65535, got "abc"`. */
  message: string;
}

/**
 * Formats a problem the way compilers do: `file:line:column: path: message`.
 *
 * @param problem The problem.
 * @returns One line of text.
 *
 * @example
 * ```ts
 * import { formatProblem } from "./config_error.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatProblem({ file: "a.yml", line: 3, column: 9, path: "db.port", message: "expected an integer" }),
 *   "a.yml:3:9: db.port: expected an integer",
 * );
 * ```
 */
export function formatProblem(problem: Problem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}: ` : "";
  const path = problem.path === "" ? "" : `${problem.path}: `;
  return `${where}${path}${problem.message}`;
}

/**
 * An environment that cannot be loaded: unknown, unreadable, not YAML, or not valid.
 * Carries every problem found, not just the first; `file`, `line`, `column` and `path`
 * are those of the first problem, and the message lists each problem on its own line.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./config_error.ts";
 * import assert from "node:assert/strict";
 * const error = new ConfigError([
 *   { file: "e/p.yml", line: 42, column: 15, path: "database.port", message: "expected an integer" },
 * ]);
 * assert.ok(error instanceof SyntaxError);
 * assert.equal(error.message, "e/p.yml:42:15: database.port: expected an integer");
 * assert.equal(error.line, 42);
 * ```
 */
export class ConfigError extends SyntaxError {
  /** The file of the first problem. */
  readonly file: string;
  /** The line of the first problem (1-based; 0 when not inside the file). */
  readonly line: number;
  /** The column of the first problem (1-based; 0 when not inside the file). */
  readonly column: number;
  /** The field path of the first problem (`""` when it concerns the whole file). */
  readonly path: string;
  /** Every problem found, in file order. */
  readonly problems: readonly Problem[];

  /**
   * Builds the error from the problems found (at least one).
   *
   * @param problems The problems, in file order.
   */
  constructor(problems: readonly Problem[]) {
    const first = problems[0];
    if (first === undefined) throw new RangeError("Cannot build a ConfigError: no problems given");
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.problems = problems;
  }
}

/** Inputs longer than this are cut in messages (a pasted file must not flood the terminal). */
const SHOWN_MAX = 80;

/**
 * An input as a message shows it: quoted (JSON, so a newline or a quote is visible as such),
 * and, when longer than 80 characters, cut to its first 40 with `…` and its length.
 *
 * @param text What the user gave.
 * @param o `quote: false` for a flag's name (shown as typed, without quotes).
 * @returns The text to put in a message.
 *
 * @example
 * ```ts
 * import { shortInput } from "./config_error.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shortInput("a\nb"), '"a\\nb"');
 * assert.equal(shortInput("x".repeat(100)), `"${"x".repeat(40)}…" (100 characters)`);
 * assert.equal(shortInput("--frobnicate", { quote: false }), "--frobnicate");
 * ```
 */
export function shortInput(text: string, o: { quote?: boolean } = {}): string {
  const cut = text.length > SHOWN_MAX ? `${text.slice(0, 40)}…` : text;
  const shown = o.quote === false ? cut : JSON.stringify(cut);
  return text.length > SHOWN_MAX ? `${shown} (${text.length} characters)` : shown;
}
