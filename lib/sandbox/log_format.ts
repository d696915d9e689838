/**
 * How a simulated container writes its log: one JSON object a line (`timestamp`, `level`,
 * `message`, ...: what the services write by default), or plain text when its `LOG_FORMAT`
 * variable says `text` (`<timestamp> <LEVEL> <message>`, as a service configured for a
 * terminal would) — so a rehearsal can show what a validation of structured logs finds.
 * @module
 */
import type { KObject } from "./resources.ts";

type JsonMap = Record<string, unknown>;

/** A container's log format. */
export type LogFormat = "json" | "text";

/**
 * The log format of a pod's first container: `text` when its env sets `LOG_FORMAT` to
 * `text` or `plain` (any case), else `json`.
 *
 * @param pod The pod.
 * @returns Its format.
 *
 * @example
 * ```ts
 * import { podLogFormat } from "./log_format.ts";
 * import assert from "node:assert/strict";
 * const env = [{ name: "LOG_FORMAT", value: "text" }];
 * assert.equal(podLogFormat({ spec: { containers: [{ name: "a", env }] } }), "text");
 * assert.equal(podLogFormat({ spec: { containers: [{ name: "a" }] } }), "json");
 * ```
 */
export function podLogFormat(pod: KObject): LogFormat {
  const container = (((pod.spec ?? {}) as JsonMap).containers as JsonMap[] | undefined)?.[0];
  const env = (container?.env ?? []) as JsonMap[];
  const value = env.find((e) => e.name === "LOG_FORMAT")?.value;
  return typeof value === "string" && /^(text|plain)$/i.test(value) ? "text" : "json";
}

/**
 * A JSON log line in a container's format.
 *
 * @param format The container's format.
 * @param line A JSON line with `timestamp`, `level` and `message`.
 * @returns The line as the container writes it.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./log_format.ts";
 * import assert from "node:assert/strict";
 * const line = JSON.stringify({ timestamp: "2026-01-01T00:00:00Z", level: "INFO", message: "up" });
 * assert.equal(formatLogLine("text", line), "2026-01-01T00:00:00Z INFO up");
 * assert.equal(formatLogLine("json", line), line);
 * ```
 */
export function formatLogLine(format: LogFormat, line: string): string {
  if (format === "json") return line;
  const parsed = JSON.parse(line) as JsonMap;
  return `${parsed.timestamp} ${parsed.level} ${parsed.message}`;
}
