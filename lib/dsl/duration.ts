/**
 * Durations as pipelines write them: `"500ms"`, `"30s"`, `"15m"`, `"1h30m"`, `"24h"`
 * (the same grammar as the environment files').
 * @module
 */
import { parseDuration as parseEnvironmentDuration } from "../config/duration.ts";

/** A duration string: one or more `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`. */
export type DurationString = `${number}${"ms" | "s" | "m" | "h" | "d"}${string}`;

/**
 * Parses a duration string (or a number of milliseconds) into milliseconds.
 *
 * @param value The duration, e.g. `"15m"` or `"1h30m"`, or milliseconds as a number.
 * @returns The duration in milliseconds.
 * @throws {SyntaxError} When the string is not a duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("1m30s"), 90_000);
 * ```
 */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Cannot use duration ${value}: must be a finite number of ms >= 0`);
    }
    return value;
  }
  const parsed = parseEnvironmentDuration(value);
  if (!parsed) {
    throw new SyntaxError(
      `Cannot parse duration "${value}": expected e.g. "500ms", "30s", "15m", "1h30m"`,
    );
  }
  return parsed.ms;
}

/**
 * Formats milliseconds for people: `90000` → `"1m30s"`.
 *
 * @param ms Milliseconds.
 * @returns A short duration string.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatDuration(90_000), "1m30s");
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, "")}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("");
}

/**
 * The longest a stage's timeout, retry delay or gate interval may be: 7 days (a timer past
 * 24.8 days would overflow and fire at once).
 *
 * @example
 * ```ts
 * import { MAX_STAGE_DURATION_MS } from "./duration.ts";
 * console.assert(MAX_STAGE_DURATION_MS === 604_800_000);
 * ```
 */
export const MAX_STAGE_DURATION_MS = 7 * 24 * 3_600_000;

/**
 * Parses a stage's duration and checks its range: more than 0 (or from 0 with `zero`) and at
 * most {@linkcode MAX_STAGE_DURATION_MS}.
 *
 * @param what What the duration is, for the message (`timeout of stage "migrate"`).
 * @param value The duration as written.
 * @param o `zero: true` when 0 is allowed (a retry delay).
 * @returns The duration in ms.
 * @throws {RangeError} Naming `what`, the value and the range.
 *
 * @example
 * ```ts
 * import { boundedDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(boundedDuration("timeout", "10m"), 600_000);
 * assert.throws(() => boundedDuration("timeout", "0s"), /more than 0 to 7 days/);
 * ```
 */
export function boundedDuration(
  what: string,
  value: string | number,
  o: { zero?: boolean } = {},
): number {
  let ms = NaN;
  try {
    ms = parseDuration(value);
  } catch { /* below */ }
  if (!(o.zero ? ms >= 0 : ms > 0) || ms > MAX_STAGE_DURATION_MS) {
    const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
    throw new RangeError(
      `Cannot use ${shown} as the ${what}: expected a duration ${
        o.zero ? "from 0" : "of more than 0"
      } to 7 days (e.g. "30s", "10m", "2h", or milliseconds as a number)`,
    );
  }
  return ms;
}
