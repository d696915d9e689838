/**
 * Secret redaction: every string bound for a log, an event, a report or the screen
 * passes through a {@linkcode Redactor} holding the run's secret values.
 * @module
 */

/** The text that stands where a secret value was. */
export const REDACTED = "[redacted]";

/**
 * Replaces known secret values (and their base64 and URL-encoded forms) in text.
 *
 * @example
 * ```ts
 * import { Redactor } from "./redact.ts";
 * import assert from "node:assert/strict";
 * const r = new Redactor();
 * r.add("hunter2");
 * assert.equal(r.redact("password=hunter2"), "password=[redacted]");
 * ```
 */
export class Redactor {
  #values: string[] = [];

  /** Registers a secret value. Values shorter than 4 characters are refused (they would mask too much). */
  add(value: string): void {
    if (value.length < 4) {
      throw new RangeError("Cannot register a secret shorter than 4 characters for redaction");
    }
    const forms = new Set([
      value,
      encodeURIComponent(value),
      btoa(unescape(encodeURIComponent(value))),
    ]);
    for (const f of forms) if (!this.#values.includes(f)) this.#values.push(f);
    this.#values.sort((a, b) => b.length - a.length);
  }

  /** How many values (forms included) are registered. */
  get size(): number {
    return this.#values.length;
  }

  /** Returns `text` with every registered value replaced by `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const v of this.#values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /** Redacts every string inside a JSON-compatible value. */
  redactValue<T>(value: T): T {
    if (this.#values.length === 0) return value;
    return JSON.parse(this.redact(JSON.stringify(value) ?? "null")) as T;
  }
}
