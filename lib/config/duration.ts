/**
 * Durations as environment files write them: `"30s"`, `"1h30m"`, `"24h"`, `"7 days"`.
 * @module
 */

/** A parsed duration: its length in milliseconds and the text it was written as. */
export interface Duration {
  /** The length in milliseconds. */
  readonly ms: number;
  /** The text as written in the environment file, e.g. `"7 days"`. */
  readonly text: string;
}

const SHORT_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const WORD_UNITS: Record<string, number> = {
  millisecond: 1,
  second: 1_000,
  sec: 1_000,
  minute: 60_000,
  min: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

const SHORT_FORM = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const SHORT_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const WORD_FORM = /^(\d+(?:\.\d+)?)\s+([a-z]+?)s?$/;

/**
 * Parses a duration written as `<number><unit>` parts (`ms`, `s`, `m`, `h`, `d`, `w`,
 * e.g. `"1h30m"`) or as `<number> <word>` (`"7 days"`, `"90 minutes"`).
 *
 * @param text The duration text.
 * @returns The parsed duration, or `undefined` when the text is not a duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("7 days")?.ms, 604_800_000);
 * assert.equal(parseDuration("1h30m")?.ms, 5_400_000);
 * assert.equal(parseDuration("soon"), undefined);
 * ```
 */
export function parseDuration(text: string): Duration | undefined {
  const trimmed = text.trim();
  if (SHORT_FORM.test(trimmed)) {
    let ms = 0;
    for (const match of trimmed.matchAll(SHORT_PART)) {
      ms += Number(match[1]) * SHORT_UNITS[match[2]!]!;
    }
    return { ms, text };
  }
  const word = WORD_FORM.exec(trimmed.toLowerCase());
  if (word) {
    const unit = WORD_UNITS[word[2]!];
    if (unit !== undefined) return { ms: Number(word[1]) * unit, text };
  }
  return undefined;
}

/**
 * Tells whether a value is a parsed {@linkcode Duration} (also after a structured clone).
 *
 * @param value Any value.
 * @returns `true` for an object with exactly the numeric `ms` and string `text` fields.
 *
 * @example
 * ```ts
 * import { isDuration, parseDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isDuration(parseDuration("30s")));
 * assert.ok(!isDuration({ ms: 1 }));
 * ```
 */
export function isDuration(value: unknown): value is Duration {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && typeof (value as Duration).ms === "number" &&
    typeof (value as Duration).text === "string";
}
