/**
 * What a stage prints, redacted a whole line at a time: a secret written in two pieces
 * (two `write` calls) is still seen whole by the redactor before anything is shown.
 * @module
 */
import type { Redactor } from "../journal/redact.ts";

/** The most a line may grow before it is redacted and shown without its end. */
export const MAX_PENDING_LINE = 64 * 1024;

/** What stays held back of a line cut for length: a secret up to this long is never cut. */
export const HELD_BACK = 4 * 1024;

/**
 * Buffers one stage's printed text per stream and hands on complete, redacted lines.
 *
 * @example
 * ```ts
 * import { PrintBuffer } from "./print_buffer.ts";
 * import { Redactor } from "../journal/redact.ts";
 * import assert from "node:assert/strict";
 * const r = new Redactor();
 * r.add("hunter2");
 * const shown: string[] = [];
 * const b = new PrintBuffer(r, (_stream, text) => shown.push(text));
 * b.write("stdout", "pass: hun");
 * b.write("stdout", "ter2\n");
 * assert.deepEqual(shown, ["pass: [redacted]\n"]);
 * ```
 */
export class PrintBuffer {
  #redactor: Redactor;
  #emit: (stream: "stdout" | "stderr", text: string) => void;
  #pending = { stdout: "", stderr: "" };

  /**
   * @param redactor Redacts each line.
   * @param emit Gets complete, redacted text (one or more lines, each ending in `\n`).
   */
  constructor(redactor: Redactor, emit: (stream: "stdout" | "stderr", text: string) => void) {
    this.#redactor = redactor;
    this.#emit = emit;
  }

  /**
   * Adds printed text; complete lines go on at once.
   *
   * @param stream Where the stage wrote it.
   * @param text The text.
   */
  write(stream: "stdout" | "stderr", text: string): void {
    const all = this.#pending[stream] + text;
    const end = all.lastIndexOf("\n");
    if (end < 0 && all.length <= MAX_PENDING_LINE) {
      this.#pending[stream] = all;
      return;
    }
    // A line too long to wait for is cut, but its last HELD_BACK characters wait for
    // more: a secret that straddles the cut is still seen whole.
    const cut = end < 0 ? all.length - HELD_BACK : end + 1;
    this.#pending[stream] = all.slice(cut);
    this.#emit(stream, this.#redactor.redact(all.slice(0, cut)) + (end < 0 ? "\n" : ""));
  }

  /** Hands on what is left without a line end (when the stage's attempt ends). */
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#pending[stream];
      this.#pending[stream] = "";
      if (rest !== "") this.#emit(stream, this.#redactor.redact(rest) + "\n");
    }
  }
}
