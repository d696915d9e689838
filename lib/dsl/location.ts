/**
 * Where pipeline code is: the first stack frame outside the DSL and the runner, so
 * that a DSL error (a malformed stage id, gate or duration) and every stage carry the
 * `file:line:column` of the pipeline code that wrote them.
 * @module
 */

const INTERNAL = new URL("../", import.meta.url).href; // lib/
// The folder above lib/: paths below it are shown relative to it (`pipelines/deploy.ts`).
const PROJECT_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const FRAME = /\(?(file:\/\/[^\s)]+?):(\d+):(\d+)\)?\s*$/;

/** A place in a source file. */
export interface SourceLocation {
  /** The file, relative to the project's folder (the one holding `lib/`) when below it. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/**
 * The first frame of a stack that is not inside this project's `lib/` (the DSL, the
 * runner): the pipeline code that called it.
 *
 * @param stack An `Error`'s stack (default: the caller's).
 * @returns The location, or undefined when no frame is outside `lib/`.
 *
 * @example
 * ```ts
 * import { callerLocation } from "./location.ts";
 * import assert from "node:assert/strict";
 * const dsl = new URL("./stage.ts", import.meta.url).href; // inside lib/: passed over
 * const stack = `Error: x\n    at stage (${dsl}:1:1)\n    at file:///p/pipelines/deploy.ts:12:5`;
 * assert.equal(callerLocation(stack)?.line, 12);
 * ```
 */
export function callerLocation(stack = new Error().stack ?? ""): SourceLocation | undefined {
  for (const line of stack.split("\n").slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m || m[1]!.startsWith(INTERNAL)) continue;
    // No node:path here: this module loads in every stage's Worker and must stay light.
    const path = decodeURIComponent(m[1]!.replace(/^file:\/\//, ""));
    const root = PROJECT_ROOT && path.startsWith(PROJECT_ROOT) ? PROJECT_ROOT : undefined;
    const file = root ? path.slice(root.length) : path;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/**
 * Formats a location as `file:line:column`.
 *
 * @param location The location.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { formatLocation } from "./location.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatLocation({ file: "pipelines/x.ts", line: 3, column: 7 }), "pipelines/x.ts:3:7");
 * ```
 */
export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/**
 * Prefixes an error's message with the pipeline code's location (taken from the
 * error's own stack), keeping its class.
 *
 * @param err The error thrown by the DSL.
 * @returns The same error, its message starting with `file:line:column: `.
 *
 * @example
 * ```ts
 * import { locateError } from "./location.ts";
 * import assert from "node:assert/strict";
 * const e = new SyntaxError("bad");
 * e.stack = "SyntaxError: bad\n    at file:///p/pipelines/x.ts:4:2";
 * assert.match(locateError(e).message, /x\.ts:4:2: bad$/);
 * ```
 */
export function locateError<E extends Error>(err: E): E {
  const where = callerLocation(err.stack ?? "");
  if (where && !err.message.startsWith(formatLocation(where))) {
    err.message = `${formatLocation(where)}: ${err.message}`;
  }
  return err;
}
