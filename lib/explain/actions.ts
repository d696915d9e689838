/**
 * What the runner did about a failure: each handler stage (a rollback, another failure
 * handler, a `finally` stage: notifications, statuses, unlocking), how it ended, and what it
 * said in its log — its notices and warnings, with lines that say the same of several
 * subjects folded into one (`a, b, c: traffic back on blue`).
 * @module
 */
import type { StageRecord } from "../report/types.ts";
import type { Action } from "./types.ts";

/** `<ISO time> <LEVEL> <message>`, as stage logs are written. */
const LOG_LINE = /^\S+\s+(INFO|NOTICE|WARN|ERROR)\s+(.*)$/;

/**
 * A log's lines at the given levels, the time and level taken off.
 *
 * @param lines The log's lines.
 * @param levels The levels kept (default: notices, warnings and errors).
 * @returns The messages.
 *
 * @example
 * ```ts
 * import { logMessages } from "./actions.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   logMessages(["2026-01-01T00:00:00Z INFO a", "2026-01-01T00:00:00Z WARN b"]),
 *   ["WARN: b"],
 * );
 * ```
 */
export function logMessages(
  lines: readonly string[],
  levels: readonly string[] = ["NOTICE", "WARN", "ERROR"],
): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const m = LOG_LINE.exec(line);
    if (m && levels.includes(m[1]!)) out.push(m[1] === "NOTICE" ? m[2]! : `${m[1]}: ${m[2]!}`);
  }
  return out;
}

/**
 * Folds lines that say the same of different subjects: a subject is what a line names before
 * its first `: ` (`web: traffic back on blue`); lines that differ only in their subject (where
 * it stands, written `*`) become one, the common text first and the subjects after it in
 * brackets. Lines naming no subject come first (they speak of the whole run), then the folds,
 * then the rest, each in the order logged.
 *
 * @param lines The lines.
 * @returns The folded lines.
 *
 * @example
 * ```ts
 * import { foldLines } from "./actions.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   foldLines(["web: back on blue", "api: back on blue", "web-green scaled to 0", "api-green scaled to 0", "done"]),
 *   ["done", "back on blue [web, api]", "*-green scaled to 0 [web, api]"],
 * );
 * ```
 */
export function foldLines(lines: readonly string[]): string[] {
  const subjects = new Set<string>();
  for (const line of lines) {
    const m = /^([\w.@/-]+): ./.exec(line);
    if (m) subjects.add(m[1]!);
  }
  // Longest first, so that `web-api` is not read as `web` followed by `-api`.
  const names = [...subjects].sort((a, b) => b.length - a.length);
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = names.length
    ? new RegExp(`(?<![\\w.-])(${escaped.join("|")})(?![\\w])`, "g")
    : undefined;
  const folds = new Map<string, { subjects: string[]; line: string }>();
  for (const line of lines) {
    const prefix = /^([\w.@/-]+): (.+)$/.exec(line);
    const rest = prefix && subjects.has(prefix[1]!) ? prefix[2]! : line;
    const named = pattern ? [...rest.matchAll(pattern)].map((m) => m[1]!) : [];
    const subject = prefix && subjects.has(prefix[1]!) ? prefix[1]! : named[0];
    const key = subject === undefined ? line : rest.replaceAll(subject, "*");
    const f = folds.get(key);
    if (!f) folds.set(key, { subjects: subject === undefined ? [] : [subject], line });
    else if (subject !== undefined && !f.subjects.includes(subject)) f.subjects.push(subject);
  }
  const run: string[] = [], folded: string[] = [], single: string[] = [];
  for (const [key, f] of folds) {
    if (f.subjects.length === 0) run.push(f.line);
    else if (f.subjects.length > 1) folded.push(`${key} [${f.subjects.join(", ")}]`);
    else single.push(f.line);
  }
  return [...run, ...folded, ...single];
}

/**
 * What each handler stage did, in the order they ran: the rollback first.
 *
 * @param stages The run's stages.
 * @param readLog Reads a stage's log (relative to the run folder), undefined when none.
 * @param options `maxLines`: lines kept per handler (default 3; the rest are counted).
 * @returns One action per handler stage.
 *
 * @example
 * ```ts
 * import { handlerActions } from "./actions.ts";
 * import assert from "node:assert/strict";
 * const grant = { read: [], write: [], net: [], env: [], run: [], ffi: [], proxied: [], fullTrust: false };
 * const stage = (id: string, kind: "normal" | "finally") => ({
 *   id, kind, rollback: false, needs: [], status: "succeeded" as const, attempts: [],
 *   permissions: grant, checks: [], gates: [], calls: [], log: `logs/${id}.log`,
 * });
 * const actions = await handlerActions([stage("deploy", "normal"), stage("notify", "finally")],
 *   () => Promise.resolve(["2026-01-01T00:00:00Z WARN slack not notified"]));
 * assert.deepEqual(actions.map((a) => [a.stage, a.lines]), [["notify", ["WARN: slack not notified"]]]);
 * ```
 */
export async function handlerActions(
  stages: readonly StageRecord[],
  readLog: (log: string) => Promise<string[] | undefined>,
  options: { maxLines?: number } = {},
): Promise<Action[]> {
  const max = options.maxLines ?? 3;
  const handlers = stages.filter((s) => s.rollback || s.kind !== "normal");
  const order = (s: StageRecord) => s.rollback ? 0 : s.kind === "onFailure" ? 1 : 2;
  const sorted = handlers.map((s, i) => ({ s, i }))
    .sort((a, b) => order(a.s) - order(b.s) || a.i - b.i).map((x) => x.s);
  const out: Action[] = [];
  for (const s of sorted) {
    const lines = s.status === "skipped" ? [] : foldLines(logMessages(await readLog(s.log) ?? []));
    out.push({
      stage: s.id,
      kind: s.rollback ? "rollback" : s.kind === "onFailure" ? "onFailure" : "finally",
      status: s.status,
      ...(s.reason ? { reason: s.reason } : {}),
      lines: lines.slice(0, max),
      more: Math.max(0, lines.length - max),
      log: s.log,
    });
  }
  return out;
}

/**
 * The channels a run's final notification reached, and the stage that recorded them (an
 * output `{ notified: [...] }`), or undefined when no stage says.
 *
 * @param stages The run's stages.
 * @returns The stage and the channels.
 *
 * @example
 * ```ts
 * import { notifiedChannels } from "./actions.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(notifiedChannels([{ id: "notify", output: { notified: ["slack"] } }]), {
 *   stage: "notify",
 *   channels: ["slack"],
 * });
 * assert.equal(notifiedChannels([{ id: "x", output: 3 }]), undefined);
 * ```
 */
export function notifiedChannels(
  stages: readonly { id: string; output?: unknown }[],
): { stage: string; channels: string[] } | undefined {
  for (const s of stages) {
    const list = (s.output as { notified?: unknown } | null | undefined)?.notified;
    if (Array.isArray(list)) return { stage: s.id, channels: list.map(String) };
  }
  return undefined;
}
