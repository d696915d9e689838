/**
 * A region at the bottom of a terminal that redraws in place while lines scroll above it:
 * each frame moves the cursor back to the region's first line, clears to the end of the
 * screen, writes the lines that arrived since the last frame (they scroll up and stay) and
 * the region again — one write per frame, inside the terminal's synchronized-update mode
 * (a terminal that lacks it ignores it), with the cursor hidden while the region is shown.
 * @module
 */

/** Where text goes. */
export interface Sink {
  /** Writes `text` as it is. */
  write(text: string): void;
}

const ESC = "\x1b[";
const SYNC_ON = `${ESC}?2026h`;
const SYNC_OFF = `${ESC}?2026l`;
const HIDE = `${ESC}?25l`;
const SHOW = `${ESC}?25h`;

/**
 * The live region: {@linkcode LiveRegion.frame} writes new lines above it and redraws it,
 * {@linkcode LiveRegion.clear} takes it off the screen (before a prompt, at the end).
 *
 * The region's lines must each fit on one terminal line (no wrap): the region's height on
 * screen is its number of lines.
 *
 * @example
 * ```ts
 * import { LiveRegion } from "./view_live.ts";
 * import assert from "node:assert/strict";
 * let out = "";
 * const live = new LiveRegion({ write: (t) => out += t });
 * live.frame(["log 1"], ["status a", "status b"]);
 * live.frame(["log 2"], ["status c"]);
 * // The second frame goes back up two lines, clears, and writes the new log and region.
 * assert.ok(out.includes("\r\x1b[2A\x1b[Jlog 2\nstatus c\n"));
 * live.clear();
 * assert.equal(live.height, 0);
 * ```
 */
export class LiveRegion {
  #out: Sink;
  #height = 0;

  /**
   * A region with nothing shown yet.
   *
   * @param out Where frames go (the terminal).
   */
  constructor(out: Sink) {
    this.#out = out;
  }

  /** The region's lines on screen now (0: none shown). */
  get height(): number {
    return this.#height;
  }

  /** Back to the region's first line and clear from there (nothing when none is shown). */
  #back(): string {
    return this.#height > 0 ? `\r${ESC}${this.#height}A${ESC}J` : "";
  }

  /**
   * Writes `logs` (they scroll up, above the region) and draws `region` below them.
   *
   * @param logs Lines to keep (without newlines; they may wrap).
   * @param region The region's lines (without newlines; each shorter than the terminal).
   */
  frame(logs: readonly string[], region: readonly string[]): void {
    let text = SYNC_ON + (this.#height === 0 ? HIDE : "") + this.#back();
    for (const l of logs) text += `${l}\n`;
    for (const l of region) text += `${l}\n`;
    if (region.length === 0) text += SHOW;
    text += SYNC_OFF;
    this.#height = region.length;
    this.#out.write(text);
  }

  /**
   * Takes the region off the screen (writing `logs` first) and shows the cursor again: what
   * is written next starts where the region was.
   *
   * @param logs Lines to keep.
   */
  clear(logs: readonly string[] = []): void {
    if (this.#height === 0 && logs.length === 0) return;
    this.frame(logs, []);
  }
}
