/**
 * The first cause of a run that did not succeed: the runner died, the run lost its lock, or
 * the ordinary stage that failed first (by when it finished) — explained by what failed in
 * it: a gate (its values against its threshold per target), a required check (its evidence),
 * pods that would not run (their reason and last lines), a migration, or its error and log.
 * @module
 */
import type { Report, StageRecord } from "../report/types.ts";
import { gateCause } from "./gates.ts";
import { isPodFailure, podCause } from "./pods.ts";
import { logMessages } from "./actions.ts";
import type { JournalEvent } from "./read_run.ts";
import type { Cause, CheckCause, InterruptedCause, LockCause, MigrationCause } from "./types.ts";

/** How much of a log's end is shown. */
const TAIL = 3;

/**
 * A stage's own error: its reason, else its last attempt's error.
 *
 * @param s The stage's record.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { stageError } from "./cause.ts";
 * console.assert(stageError({ id: "a", status: "failed", reason: "exit 2", attempts: [] }) === "exit 2");
 * ```
 */
export function stageError(
  s: Pick<StageRecord, "id" | "status" | "reason" | "attempts">,
): string {
  const attempt = [...(s.attempts ?? [])].reverse().find((a) => a.error);
  return s.reason ?? attempt?.error ?? `${s.id} ${s.status}`;
}

function finishedAt(s: Pick<StageRecord, "finishedAt">): number {
  const t = Date.parse(s.finishedAt ?? "");
  return Number.isFinite(t) ? t : Infinity;
}

/**
 * The ordinary stages that failed, first to finish first (the report's order breaks ties).
 *
 * @param report The run's report.
 * @returns The failed stages.
 *
 * @example
 * ```ts
 * import { failedStages } from "./cause.ts";
 * import assert from "node:assert/strict";
 * const s = (id: string, status: "failed" | "succeeded", finishedAt: string) =>
 *   ({ id, kind: "normal" as const, rollback: false, status, finishedAt });
 * const failed = failedStages({ stages: [
 *   s("b", "failed", "2026-01-01T00:00:09Z"), s("a", "failed", "2026-01-01T00:00:05Z"),
 *   s("c", "succeeded", "2026-01-01T00:00:01Z"),
 * ] });
 * assert.deepEqual(failed.map((x) => x.id), ["a", "b"]);
 * ```
 */
export function failedStages<
  S extends Pick<StageRecord, "id" | "kind" | "rollback" | "status" | "finishedAt">,
>(report: { stages: readonly S[] }): S[] {
  return report.stages.map((s, i) => ({ s, i }))
    .filter(({ s }) => s.status === "failed" && s.kind === "normal" && !s.rollback)
    .sort((a, b) => finishedAt(a.s) - finishedAt(b.s) || a.i - b.i)
    .map(({ s }) => s);
}

/** `Migration 0009_x failed: migrations/0009_x.up.sql:3: detail (SQLSTATE 42P01): outcome`. */
function migrationCause(stage: string, message: string): MigrationCause {
  const m = /\bMigration (\d+_[\w-]+) failed: (\S+?:\d+): /.exec(message);
  const sqlState = /\(SQLSTATE (\w+)\)/.exec(message)?.[1];
  const outcome = /: (rolled back, nothing recorded|not in a transaction: .*)$/.exec(message)?.[1];
  const detail = m
    ? message.slice(m.index + m[0].length).replace(/ \(SQLSTATE \w+\)(: .*)?$/, "")
      .replace(/: (rolled back, nothing recorded|not in a transaction: .*)$/, "")
    : undefined;
  return {
    kind: "migration",
    stage,
    message,
    ...(m ? { migration: m[1], file: m[2] } : {}),
    ...(detail ? { detail } : {}),
    ...(sqlState ? { sqlState } : {}),
    ...(outcome ? { outcome } : {}),
  };
}

function isMigration(s: StageRecord, message: string): boolean {
  return /\bMigration \d+_[\w-]+ failed\b/.test(message) ||
    (/migrat/i.test(s.id) && !isPodFailure(message));
}

/** Evidence keys that tell why a check failed, shown before the rest. */
const TELLING = /error|reason|status|condition|exit|fail|problem|missing|message|expected|actual/i;

/**
 * A check's evidence as `key: value` (nested values as compact JSON), the keys that tell why
 * it failed first.
 */
function flatEvidence(evidence: Record<string, unknown>): [string, string][] {
  const entries = Object.entries(evidence ?? {}).map(([k, v]): [string, string] => [
    k,
    typeof v === "string" ? v : JSON.stringify(v) ?? String(v),
  ]);
  return [
    ...entries.filter(([k]) => TELLING.test(k)),
    ...entries.filter(([k]) => !TELLING.test(k)),
  ];
}

function checkCause(s: StageRecord): CheckCause | undefined {
  const failed = (s.checks ?? []).filter((c) => c.status === "failed" && c.required);
  const first = failed[0];
  if (!first) return undefined;
  return {
    kind: "check",
    stage: s.id,
    check: first.name,
    message: first.message,
    evidence: flatEvidence(first.evidence),
    otherChecks: failed.slice(1).map((c) => c.name),
  };
}

/** The lock a stage took, as its output records a Lease (`{ namespace, name, holder }`). */
function leaseOf(stages: readonly StageRecord[]): LockCause["lease"] {
  for (const s of stages) {
    const o = s.output as Record<string, unknown> | null | undefined;
    if (
      o && typeof o === "object" && typeof o.namespace === "string" &&
      typeof o.name === "string" && typeof o.holder === "string"
    ) return { namespace: o.namespace, name: o.name, holder: o.holder };
  }
  return undefined;
}

/** What the journal's end says of a run whose runner died. */
async function diedCause(
  report: Report,
  events: readonly JournalEvent[],
  readLog: (log: string) => Promise<string[] | undefined>,
): Promise<InterruptedCause> {
  const running = report.stages.filter((s) => s.status === "interrupted");
  const last = events.at(-1);
  const tail = running[0] ? await readLog(running[0].log) ?? [] : [];
  const at = last ? ` at ${String(last.ts)}` : "";
  return {
    kind: "interrupted",
    died: true,
    message: `the runner died: its journal stops at line ${events.length}${at}, with no ` +
      `run.finished${
        running.length ? `; running then: ${running.map((s) => s.id).join(", ")}` : ""
      }`,
    ...(last
      ? {
        lastEvent: {
          seq: Number(last.seq ?? events.length),
          at: String(last.ts),
          type: String(last.type),
        },
      }
      : {}),
    running: running.map((s) => s.id),
    logTail: tail.slice(-TAIL).map((l) => l.replace(/^\S+\s+/, "")),
  };
}

/**
 * The first cause of a run that did not succeed (undefined for one that did).
 *
 * @param report The run's report.
 * @param options `finished`: the journal has `run.finished` (else the runner died);
 *   `events`: the journal's lines; `readLog`: reads a stage's log.
 * @returns The cause.
 *
 * @example
 * ```ts
 * import { firstCause } from "./cause.ts";
 * import assert from "node:assert/strict";
 * const grant = { read: [], write: [], net: [], env: [], run: [], ffi: [], proxied: [], fullTrust: false };
 * const report = {
 *   schemaVersion: 1 as const, runId: "r1", pipeline: { name: "deploy", file: "d.ts" },
 *   environment: "staging", dryRun: false, status: "failed" as const,
 *   who: { user: "u", host: "h" }, git: { commit: null, dirty: false, branch: null }, target: {},
 *   startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:01Z", durationMs: 1000,
 *   rollback: { performed: false, stages: [], succeeded: null },
 *   events: { file: "events.jsonl", count: 0, digest: "0".repeat(64) },
 *   stages: [{
 *     id: "build", kind: "normal" as const, rollback: false, needs: [], status: "failed" as const,
 *     reason: "exit code 2", attempts: [], permissions: grant, checks: [], gates: [], calls: [],
 *     log: "logs/build.log", finishedAt: "2026-01-01T00:00:01Z",
 *   }],
 * };
 * const cause = await firstCause(report, { finished: true, events: [], readLog: () => Promise.resolve(undefined) });
 * assert.equal(cause?.kind, "stage");
 * ```
 */
export async function firstCause(
  report: Report,
  options: {
    finished: boolean;
    events: readonly JournalEvent[];
    readLog: (log: string) => Promise<string[] | undefined>;
  },
): Promise<Cause | undefined> {
  const { readLog } = options;
  if (!options.finished || report.rebuilt) return await diedCause(report, options.events, readLog);
  if (report.status === "succeeded") return undefined;
  const error = report.error ?? "";
  if (/\blost its (?:deploy )?lock\b/i.test(error)) {
    const stopped = report.stages.filter((s) =>
      s.status === "interrupted" || (s.reason ?? "").includes(error)
    );
    const lease = leaseOf(report.stages);
    return {
      kind: "lock",
      message: error,
      stopped: stopped.map((s) => s.id),
      ...(lease ? { lease } : {}),
    };
  }
  const first = failedStages(report)[0];
  if (!first) {
    if (report.status === "interrupted") {
      const running = report.stages.filter((s) =>
        s.status === "interrupted" && s.kind === "normal"
      );
      const tail = running[0] ? await readLog(running[0].log) ?? [] : [];
      return {
        kind: "interrupted",
        died: false,
        message: error && error !== "interrupted" ? error : `the run was interrupted (a signal: ` +
          `Ctrl-C or SIGTERM)${
            running.length ? ` while ${running.map((s) => s.id).join(", ")} ran` : ""
          }; its failure path ran`,
        running: running.map((s) => s.id),
        logTail: tail.slice(-TAIL).map((l) => l.replace(/^\S+\s+/, "")),
      };
    }
    const handler = report.stages.find((s) => s.status === "failed");
    return {
      kind: "stage",
      stage: handler?.id ?? "(run)",
      message: handler ? stageError(handler) : error || report.status,
      logTail: [],
    };
  }
  const message = stageError(first);
  const gate = first.gates?.length ? gateCause(first) : undefined;
  if (gate) return gate;
  const check = checkCause(first);
  if (check) return check;
  if (isMigration(first, message)) return migrationCause(first.id, message);
  if (isPodFailure(message)) return podCause(first.id, message, report.stages);
  const log = logMessages(await readLog(first.log) ?? [], ["WARN", "ERROR"]);
  return { kind: "stage", stage: first.id, message, logTail: log.slice(-TAIL) };
}
