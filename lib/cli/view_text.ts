/**
 * Text for the terminal: pieces of a line, some coloured, cut to a width (never wrapped),
 * and the numbers and times people read in it.
 * @module
 */

/**
 * The colours the view uses (SGR codes).
 *
 * @example
 * ```ts
 * import { COLOURS } from "./view_text.ts";
 * console.assert(COLOURS.red === 31);
 * ```
 */
export const COLOURS = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  cyan: 36,
  dim: 2,
  bold: 1,
} as const;

/**
 * A colour of {@linkcode COLOURS}.
 *
 * @example
 * ```ts
 * import type { Colour } from "./view_text.ts";
 * const c: Colour = "green";
 * ```
 */
export type Colour = keyof typeof COLOURS;

/**
 * A piece of a line: text, or text in a colour.
 *
 * @example
 * ```ts
 * import type { Piece } from "./view_text.ts";
 * const p: Piece[] = ["✓ ", ["green", "lock"]];
 * ```
 */
export type Piece = string | readonly [Colour, string];

/** The text of a piece. */
function textOf(p: Piece): string {
  return typeof p === "string" ? p : p[1];
}

/**
 * How many columns a text takes (every character the view prints takes one).
 *
 * @param text The text.
 * @returns Its columns.
 *
 * @example
 * ```ts
 * import { widthOf } from "./view_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(widthOf("✓ █░"), 4);
 * ```
 */
export function widthOf(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * A line from its pieces, cut to `width` columns (the last one stays empty: a full line would
 * leave the cursor waiting to wrap), `…` where it was cut; coloured only when `colour`.
 *
 * @param pieces The line's pieces.
 * @param width The terminal's width.
 * @param colour Whether to colour.
 * @returns The line, at most `width - 1` columns wide.
 *
 * @example
 * ```ts
 * import { fit } from "./view_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fit(["✓ ", ["green", "lock"], " 0ms"], 80, false), "✓ lock 0ms");
 * assert.equal(fit(["abcdefghij"], 6, false), "abcd…");
 * assert.equal(fit([["red", "x"]], 80, true), "\x1b[31mx\x1b[0m");
 * ```
 */
export function fit(pieces: readonly Piece[], width: number, colour: boolean): string {
  const room = Math.max(1, width - 1);
  const total = pieces.reduce((n, p) => n + widthOf(textOf(p)), 0);
  let left = total > room ? room - 1 : room;
  let out = "";
  for (const p of pieces) {
    if (left <= 0) break;
    const chars = [...textOf(p)];
    const text = chars.slice(0, left).join("");
    left -= Math.min(chars.length, left);
    if (text === "") continue;
    out += typeof p === "string" || !colour
      ? text
      : `\x1b[${COLOURS[p[0] as Colour]}m${text}\x1b[0m`;
  }
  return total > room ? `${out}…` : out;
}

/**
 * Pads a text with spaces to `n` columns (left-aligned; `right`: right-aligned).
 *
 * @param text The text.
 * @param n The columns.
 * @param right Whether to align right.
 * @returns The padded text.
 *
 * @example
 * ```ts
 * import { pad } from "./view_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pad("ab", 4), "ab  ");
 * assert.equal(pad("ab", 4, true), "  ab");
 * ```
 */
export function pad(text: string, n: number, right = false): string {
  const fill = " ".repeat(Math.max(0, n - widthOf(text)));
  return right ? fill + text : text + fill;
}

/**
 * Cells (each kept whole) laid out in lines of at most `width - 1` columns, `gap` apart: a
 * cell wider than a line gets a line of its own (cut by {@linkcode fit}).
 *
 * @param cells Each cell's pieces.
 * @param width The terminal's width.
 * @param gap The space between two cells.
 * @returns The lines' pieces.
 *
 * @example
 * ```ts
 * import { flow } from "./view_text.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(flow([["aaa"], ["bbb"], ["ccc"]], 9, "  ").map((l) => l.join("")), [
 *   "aaa  bbb",
 *   "ccc",
 * ]);
 * ```
 */
export function flow(cells: readonly (readonly Piece[])[], width: number, gap: string): Piece[][] {
  const lines: Piece[][] = [];
  let line: Piece[] = [];
  let used = 0;
  for (const cell of cells) {
    const w = cell.reduce((n: number, p) => n + widthOf(textOf(p)), 0);
    if (line.length > 0 && used + gap.length + w > width - 1) {
      lines.push(line);
      line = [];
      used = 0;
    }
    if (line.length > 0) {
      line.push(gap);
      used += gap.length;
    }
    line.push(...cell);
    used += w;
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/**
 * A count for people: `2938` → `2,938`.
 *
 * @param n The count.
 * @returns It with thousands separated.
 *
 * @example
 * ```ts
 * import { count } from "./view_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(count(2938), "2,938");
 * ```
 */
export function count(n: number): string {
  return COUNT.format(n);
}

/** `toLocaleString("en-US")`'s format, built once: that call builds one each time (~0.1 ms). */
const COUNT = new Intl.NumberFormat("en-US");
