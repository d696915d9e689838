/**
 * Splitting a PostgreSQL script into its statements, keeping where each one starts so
 * that a server error can be reported at the file's line.
 * @module
 */

/** One statement of a script. */
export interface SqlStatement {
  /** The statement's text, from its first token to just before its `;`. */
  text: string;
  /**
   * The same text with comments and the contents of string literals replaced by spaces,
   * and the contents of quoted identifiers by `_` (same length, same line breaks): what a
   * linter reads.
   */
  masked: string;
  /** Index of the statement's first character in the script (UTF-16 units). */
  offset: number;
  /** 1-based line of the statement's first token. */
  line: number;
}

/** An unterminated string, quoted identifier, dollar quote or block comment. */
export class SqlSyntaxError extends SyntaxError {
  /** 1-based line where the unterminated element starts. */
  line: number;

  /**
   * Builds the error.
   *
   * @param message What is unterminated.
   * @param line 1-based line where it starts.
   */
  constructor(message: string, line: number) {
    super(message);
    this.name = "SqlSyntaxError";
    this.line = line;
  }
}

const IDENT_CHAR = /[A-Za-z0-9_$]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Returns the 1-based line of a character index in a text.
 *
 * @param text The text.
 * @param index Index of a character (UTF-16 units).
 * @returns The 1-based line.
 *
 * @example
 * ```ts
 * import { lineAt } from "./sql_split.ts";
 * import assert from "node:assert/strict";
 * assert.equal(lineAt("a\nb\nc", 4), 3);
 * ```
 */
export function lineAt(text: string, index: number): number {
  let line = 1;
  const end = Math.min(index, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Splits a PostgreSQL script into statements at top-level semicolons. Understands
 * `--` and nested `/* *\/` comments, `'...'` and `E'...'` strings, `"..."` identifiers
 * and `$tag$...$tag$` dollar quotes, so a `;` inside a function body does not split.
 * Statements made only of comments are dropped.
 *
 * @param script The script.
 * @returns The statements in order.
 * @throws {SqlSyntaxError} When a string, identifier, dollar quote or comment is unterminated.
 *
 * @example
 * ```ts
 * import { splitSql } from "./sql_split.ts";
 * import assert from "node:assert/strict";
 * const statements = splitSql("-- header\nCREATE TABLE a (x int);\n\nSELECT ';';\n");
 * assert.deepEqual(statements.map((s) => [s.line, s.text]), [
 *   [2, "CREATE TABLE a (x int)"],
 *   [4, "SELECT ';'"],
 * ]);
 * ```
 */
export function splitSql(script: string): SqlStatement[] {
  const masked = maskSql(script);
  const statements: SqlStatement[] = [];
  let start = 0;
  const push = (end: number) => {
    const piece = masked.slice(start, end);
    const lead = piece.search(/\S/);
    if (lead >= 0) {
      const offset = start + lead;
      const trimmedEnd = start + piece.trimEnd().length;
      statements.push({
        text: script.slice(offset, trimmedEnd),
        masked: masked.slice(offset, trimmedEnd),
        offset,
        line: lineAt(script, offset),
      });
    }
  };
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] === ";") {
      push(i);
      start = i + 1;
    }
  }
  push(masked.length);
  return statements;
}

/**
 * Replaces comments and the insides of quoted elements by spaces, keeping line breaks
 * and length, so that `;` and keywords can be found with plain string searches.
 */
function maskSql(script: string): string {
  const out: string[] = [];
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      out.push(blank(script.slice(i, stop)));
      i = stop;
    } else if (c === "/" && next === "*") {
      let depth = 0;
      let j = i;
      while (j < n) {
        if (script[j] === "/" && script[j + 1] === "*") {
          depth++;
          j += 2;
        } else if (script[j] === "*" && script[j + 1] === "/") {
          depth--;
          j += 2;
          if (depth === 0) break;
        } else j++;
      }
      if (depth !== 0) {
        throw new SqlSyntaxError("Cannot split SQL: unterminated block comment", lineAt(script, i));
      }
      out.push(blank(script.slice(i, j)));
      i = j;
    } else if (c === "'" || c === '"') {
      const prev = i > 0 ? script[i - 1]! : " ";
      const escapes = c === "'" && /[eE]/.test(prev) &&
        !(i > 1 && IDENT_CHAR.test(script[i - 2]!));
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const d = script[j]!;
        if (escapes && d === "\\") {
          j += 2;
          continue;
        }
        if (d === c) {
          if (script[j + 1] === c) {
            j += 2;
            continue;
          }
          closed = true;
          break;
        }
        j++;
      }
      if (!closed) {
        const what = c === "'" ? "string literal" : "quoted identifier";
        throw new SqlSyntaxError(`Cannot split SQL: unterminated ${what}`, lineAt(script, i));
      }
      const inside = script.slice(i + 1, j);
      // Identifiers stay one token ("odd;name" -> "________"); strings become blank.
      out.push(c, c === '"' ? inside.replace(/[^\n]/g, "_") : blank(inside), c);
      i = j + 1;
    } else if (c === "$" && !(i > 0 && IDENT_CHAR.test(script[i - 1]!))) {
      const tag = DOLLAR_TAG.exec(script.slice(i, i + 64))?.[0];
      if (tag === undefined) {
        out.push(c);
        i++;
        continue;
      }
      const end = script.indexOf(tag, i + tag.length);
      if (end < 0) {
        throw new SqlSyntaxError(
          `Cannot split SQL: unterminated dollar quote ${tag}`,
          lineAt(script, i),
        );
      }
      out.push(tag, blank(script.slice(i + tag.length, end)), tag);
      i = end + tag.length;
    } else {
      out.push(c);
      i++;
    }
  }
  return out.join("");
}

/**
 * Converts a PostgreSQL error position (1-based, in characters) within a statement to
 * the 1-based line of the script the statement came from.
 *
 * @param script The whole script.
 * @param statement The statement that failed.
 * @param position The server's `position` field (1-based code points), if any.
 * @returns The line of the error, or the statement's first line without a position.
 *
 * @example
 * ```ts
 * import { errorLine, splitSql } from "./sql_split.ts";
 * import assert from "node:assert/strict";
 * const script = "SELECT 1;\nSELECT\n  nope;";
 * const second = splitSql(script)[1]!;
 * assert.equal(errorLine(script, second, 10), 3);
 * ```
 */
export function errorLine(script: string, statement: SqlStatement, position?: number): number {
  if (position === undefined || !Number.isFinite(position) || position < 1) return statement.line;
  let units = 0;
  let points = 0;
  for (const ch of statement.text) {
    if (points >= position - 1) break;
    units += ch.length;
    points++;
  }
  return lineAt(script, statement.offset + units);
}
