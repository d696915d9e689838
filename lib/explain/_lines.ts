/**
 * The screen's building blocks for `explain`'s text: lines cut to the width (`…`), text
 * wrapped over a few lines, commands that go on over lines (never cut), and sections whose
 * least telling lines can go when the screen is full.
 * @module
 */

/** Cuts a line to `width` columns, ending in `…` when cut. */
export function cut(text: string, width: number): string {
  const flat = text.replace(/\s*\n\s*/g, " ");
  return [...flat].length <= width ? flat : [...flat].slice(0, width - 1).join("") + "…";
}

/** Wraps text into at most `max` lines of `width` columns, each starting with `indent`. */
export function wrap(text: string, width: number, indent: string, max: number): string[] {
  const room = width - indent.length;
  const words = text.replace(/\s+/g, " ").trim().split(" ");
  const lines: string[] = [];
  let current = "";
  for (const w of words) {
    if (current === "") current = w;
    else if (current.length + 1 + w.length <= room) current += ` ${w}`;
    else {
      lines.push(current);
      current = w;
    }
  }
  if (current !== "") lines.push(current);
  const kept = lines.slice(0, max);
  if (lines.length > max) kept[max - 1] = `${kept[max - 1]} ${lines.slice(max).join(" ")}`;
  return kept.map((l) => cut(indent + l, width));
}

/**
 * A command as `  $ <command>`, whole: a command wider than the screen goes on over lines
 * ending in ` \\` (a shell reads them as one), never cut; a single word wider than the
 * screen (a long path) keeps its line to itself, wider than the screen rather than broken.
 */
export function commandLines(command: string, width: number): string[] {
  const lines: string[] = [];
  let current = "  $";
  // Words, a single-quoted argument kept whole (a break inside quotes would be literal).
  const words = command.match(/(?:'[^']*'|[^\s'])+/g) ?? [command];
  for (const word of words) {
    if (current.length + 1 + word.length + 2 > width && current.trim() !== "$") {
      lines.push(`${current} \\`);
      current = `      ${word}`;
    } else current += ` ${word}`;
  }
  lines.push(current);
  return lines;
}

/** A section: its lines, and the lines it can give up (least telling first) when tight. */
export interface Section {
  lines: string[];
  /** Indexes into `lines` that may go, in the order they go. */
  optional: number[];
}

/** A section being written: `add` a line, optional (it may go when the screen is full) or not. */
export type SectionBuilder = Section & { add(line: string, optional?: boolean): void };

/** A new, empty section. */
export function section(): SectionBuilder {
  const s = {
    lines: [] as string[],
    optional: [] as number[],
    add(line: string, optional = false) {
      if (optional) s.optional.push(s.lines.length);
      s.lines.push(line);
    },
  };
  return s;
}

/**
 * Wraps text over lines of `width` columns, never cutting a word (a path wider than the
 * screen keeps its line to itself): for what must stay whole, such as where the rest is.
 */
export function wrapWhole(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const w of text.split(/\s+/).filter(Boolean)) {
    const start = lines.length === 0 ? "" : indent;
    if (current === "") current = start + w;
    else if (current.length + 1 + w.length <= width) current += ` ${w}`;
    else {
      lines.push(current);
      current = indent + w;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}
