/**
 * What a `pods/{name}/log` request selects from a container's log lines: the container
 * instance (`previous`), `sinceSeconds`/`sinceTime`, `tailLines`, and `timestamps` prefixes,
 * as the kubelet reads a container runtime's log.
 * @module
 */
type JsonMap = Record<string, unknown>;

/**
 * The time a simulated container wrote a line (epoch ms): a JSON line's `timestamp`, or a
 * text line's first word (`<timestamp> <LEVEL> <message>`); undefined when it has none.
 *
 * @param line One log line.
 * @returns Its time, or undefined.
 *
 * @example
 * ```ts
 * import { lineTime } from "./pod_log_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(lineTime('{"timestamp":"2026-01-01T00:00:01Z"}'), Date.UTC(2026, 0, 1, 0, 0, 1));
 * assert.equal(lineTime("2026-01-01T00:00:01Z INFO up"), Date.UTC(2026, 0, 1, 0, 0, 1));
 * assert.equal(lineTime("no time here"), undefined);
 * ```
 */
export function lineTime(line: string): number | undefined {
  let text: string | undefined;
  if (line.startsWith("{")) {
    try {
      const parsed = JSON.parse(line) as JsonMap;
      if (typeof parsed.timestamp === "string") text = parsed.timestamp;
    } catch {
      // not JSON after all: read it as text
    }
  }
  text ??= line.split(" ", 1)[0];
  if (!text || !/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function lineLevel(line: string): string | undefined {
  if (line.startsWith("{")) {
    try {
      const level = (JSON.parse(line) as JsonMap).level;
      return typeof level === "string" ? level.toUpperCase() : undefined;
    } catch {
      // a text line
    }
  }
  return line.split(" ", 3)[1]?.toUpperCase();
}

/**
 * A container's log cut into its instances (one per start): a simulated service ends a
 * run that crashes with its `FATAL` line, so each `FATAL` line closes an instance; the
 * lines after the last one belong to the instance that is (or will be) running.
 *
 * @param lines The container's log lines, oldest first.
 * @returns Its instances, oldest first (at least one, maybe empty).
 *
 * @example
 * ```ts
 * import { logInstances } from "./pod_log_lines.ts";
 * import assert from "node:assert/strict";
 * const fatal = (m: string) => JSON.stringify({ level: "FATAL", message: m });
 * const lines = ['{"level":"INFO"}', fatal("a"), fatal("b")];
 * assert.deepEqual(logInstances(lines), [[lines[0], lines[1]], [lines[2]], []]);
 * ```
 */
export function logInstances(lines: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const line of lines) {
    (out.at(-1) as string[]).push(line);
    if (lineLevel(line) === "FATAL") out.push([]);
  }
  return out;
}

/** A line time as the kubelet's `timestamps=true` prefix: RFC 3339 with nanoseconds. */
export function nanoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

/**
 * Each line prefixed with the time it was written (its own timestamp, else `fallback`).
 *
 * @param lines The lines.
 * @param fallback The prefix for a line without a time (the container's start).
 * @returns The prefixed lines.
 *
 * @example
 * ```ts
 * import { withTimestamps } from "./pod_log_lines.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(withTimestamps(["2026-01-01T00:00:01Z INFO up"], "x"), [
 *   "2026-01-01T00:00:01.000000000Z 2026-01-01T00:00:01Z INFO up",
 * ]);
 * ```
 */
export function withTimestamps(lines: readonly string[], fallback: string): string[] {
  return lines.map((line) => {
    const at = lineTime(line);
    return `${at === undefined ? fallback : nanoTime(at)} ${line}`;
  });
}

/**
 * The lines written at or after `fromMs` (`sinceSeconds`, `sinceTime`); a line without a
 * time is kept.
 *
 * @param lines The lines.
 * @param fromMs The earliest time (epoch ms).
 * @returns The lines from then.
 *
 * @example
 * ```ts
 * import { linesSince } from "./pod_log_lines.ts";
 * import assert from "node:assert/strict";
 * const lines = ["2026-01-01T00:00:01Z INFO a", "2026-01-01T00:00:09Z INFO b"];
 * assert.deepEqual(linesSince(lines, Date.UTC(2026, 0, 1, 0, 0, 5)), [lines[1]]);
 * ```
 */
export function linesSince(lines: readonly string[], fromMs: number): string[] {
  return lines.filter((line) => {
    const at = lineTime(line);
    return at === undefined || at >= fromMs;
  });
}
