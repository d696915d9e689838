/**
 * The engine: runs a validated stage graph. Independent stages run concurrently
 * (up to `concurrency`), each in its own permissioned Worker; a failed stage skips
 * what needs it; `onFailure` and `finally` handlers run after; an interrupt stops
 * running stages and takes the failure path. Everything is journalled.
 * @module
 */
import type { PipelineInfo } from "./describe.ts";
import type { StageDescription as StageSpec } from "../dsl/describe.ts";
import type { StageFailure, Version } from "../dsl/types.ts";
import type { Journal } from "../journal/journal.ts";
import type { Redactor } from "../journal/redact.ts";
import type { ApprovalRecord, GateRecord, Report, StageRecord } from "../report/schema.ts";
import type { Dag } from "./dag.ts";
import type { StageGrant } from "./permissions.ts";
import type { CheckReport } from "./protocol.ts";
import { StageRunError, WorkerPool } from "./worker_pool.ts";
import { StageLogs } from "./stage_logs.ts";
import { PrintBuffer } from "./print_buffer.ts";
import {
  backoffMs,
  callCapability,
  type CapabilityProvider,
  checkRecordOf,
  reportableOutput,
} from "./stage_records.ts";
import { delay } from "../async/delay.ts";
import { gateRecord } from "../report/gate_record.ts";

export type { CapabilityProvider };

/** What a gate analyzer returns: every gate's record, and a decision if the stage paused. */
export interface GateVerdict {
  readonly gates: GateRecord[];
  readonly decision?: StageRecord["decision"];
}

/** Measures a stage's gates over its analysis window (after its work, with its output). */
export type GateAnalyzer = (
  spec: StageSpec,
  ctx: {
    readonly signal: AbortSignal;
    readonly output: unknown;
    readonly log: (message: string) => void;
    readonly journal: Journal;
    readonly runDir: string;
  },
) => Promise<GateVerdict>;

/** Everything the engine needs to run a graph. */
export interface EngineOptions {
  readonly definition: PipelineInfo;
  readonly pipelineUrl: string;
  readonly runId: string;
  readonly user: string;
  readonly dag: Dag;
  readonly grants: ReadonlyMap<string, StageGrant>;
  readonly env: unknown;
  readonly environmentName: string;
  readonly version: Version | undefined;
  readonly options: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly capabilities: Readonly<Record<string, CapabilityProvider>>;
  readonly approve: (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord>;
  readonly analyze?: GateAnalyzer;
  readonly journal: Journal;
  readonly redactor: Redactor;
  readonly runDir: string;
  /** Aborted on SIGINT/SIGTERM: running stages stop and the failure path runs. */
  readonly signal: AbortSignal;
  /** How many Workers to start ahead for stages about to run (default: `concurrency`). */
  readonly prestart?: number;
  /** Told what a stage's code printed, redacted (default: standard error, `[stage] ` before each line). */
  readonly onPrint?: (stageId: string, stream: "stdout" | "stderr", text: string) => void;
  /** Told of every stage state change (the live view). */
  readonly onChange?: (record: StageRecord, running: boolean) => void;
  /** Told of a stage's notices (`ctx.notice`), shown on screen. */
  readonly onNotice?: (stageId: string, message: string) => void;
}

/** What the engine returns. */
export interface EngineResult {
  readonly status: Report["status"];
  readonly stages: StageRecord[];
  readonly rollback: Report["rollback"];
  readonly error?: string;
}

interface State {
  readonly spec: StageSpec;
  readonly record: StageRecord;
  settled: boolean;
  /** Skipped by its own `when`: dependents still run. */
  satisfied: boolean;
  output?: unknown;
}

const SETTLED_OK = new Set(["succeeded"]);

/** Runs one attempt; what it printed without a final line end is shown when it ends. */
async function runAttempt<T>(attempt: () => Promise<T>, printed: PrintBuffer): Promise<T> {
  try {
    return await attempt();
  } finally {
    printed.flush();
  }
}

function printToStderr(stageId: string, _stream: "stdout" | "stderr", text: string): void {
  const lines = text.replace(/\n$/, "").split("\n").map((l) => `[${stageId}] ${l}\n`).join("");
  Deno.stderr.writeSync(new TextEncoder().encode(lines));
}

/**
 * Runs the graph to the end (or to the end of its failure path).
 *
 * @param o What to run and with what.
 * @returns Every stage's record, the final status and the rollback summary.
 */
export async function runGraph(o: EngineOptions): Promise<EngineResult> {
  const logs = new StageLogs(o.runDir, o.redactor);
  const pool = new WorkerPool(o.pipelineUrl);
  const onPrint = o.onPrint ?? printToStderr;
  const stop = new AbortController(); // stops ordinary stages (interrupt or fail-fast)
  const onInterrupt = () => stop.abort();
  o.signal.addEventListener("abort", onInterrupt, { once: true });
  const states = new Map<string, State>();
  for (const [id, spec] of o.dag.stages) {
    states.set(id, {
      spec,
      settled: false,
      satisfied: false,
      record: {
        id,
        ...(spec.description ? { description: spec.description } : {}),
        kind: spec.kind,
        rollback: spec.rollback,
        needs: [...spec.needs],
        status: "skipped",
        attempts: [],
        permissions: {
          ...o.grants.get(id)!,
          proxied: [...o.grants.get(id)!.proxied],
        } as StageRecord[
          "permissions"
        ],
        checks: [],
        gates: [],
        calls: [],
        log: logs.relativePath(id),
      },
    });
  }
  let firstFailure: string | undefined;
  const changed = (s: State, running = false) => o.onChange?.(s.record, running);

  const settle = async (s: State, status: StageRecord["status"], reason?: string) => {
    s.settled = true;
    s.record.status = status;
    if (reason !== undefined) s.record.reason = o.redactor.redact(reason);
    if (s.record.startedAt) {
      s.record.finishedAt = new Date().toISOString();
      s.record.durationMs = Date.parse(s.record.finishedAt) - Date.parse(s.record.startedAt);
    }
    if (status === "failed" && s.spec.kind === "normal" && firstFailure === undefined) {
      firstFailure = s.spec.id;
      if (o.definition.options.failFast) stop.abort();
    }
    await o.journal.append({
      type: "stage.finished",
      stage: s.spec.id,
      status,
      ...(reason !== undefined ? { reason } : {}),
      ...(s.record.durationMs !== undefined ? { durationMs: s.record.durationMs } : {}),
    });
    await o.journal.flush();
    changed(s);
  };

  const normalIds = [...o.dag.stages.values()].filter((s) => s.kind === "normal").map((s) => s.id);
  const failuresIn = (ids: readonly string[]): StageFailure[] =>
    ids.map((id) => states.get(id)!).filter((s) =>
      s.record.status === "failed" || s.record.status === "interrupted"
    ).map((s) => ({ stage: s.spec.id, message: s.record.reason ?? s.record.status }));

  type Decision = { run: true } | { run: false; wait: true } | {
    run: false;
    wait: false;
    reason: string;
    satisfied: boolean;
  };
  const wait: Decision = { run: false, wait: true };
  const skip = (reason: string, satisfied = false): Decision => ({
    run: false,
    wait: false,
    reason,
    satisfied,
  });

  const decide = (s: State): Decision => {
    const spec = s.spec;
    const needs = spec.needs.map((id) => states.get(id)!);
    if (spec.kind === "normal") {
      const blocker = needs.find((n) =>
        n.settled && !SETTLED_OK.has(n.record.status) && !n.satisfied
      );
      if (blocker) {
        return skip(
          `needs "${blocker.spec.id}", which ${
            blocker.record.status === "skipped" ? "was skipped" : blocker.record.status
          }`,
        );
      }
      if (o.signal.aborted) return skip("not started: the run was interrupted");
      if (stop.signal.aborted && firstFailure) {
        return skip(`not started: stage "${firstFailure}" failed`);
      }
      if (needs.some((n) => !n.settled)) return wait;
      if (spec.when && !spec.when.condition) return skip(spec.when.reason, true);
      return { run: true };
    }
    const watched = spec.watches.length > 0 ? spec.watches : normalIds;
    if ([...watched, ...spec.needs].some((id) => !states.get(id)!.settled)) return wait;
    if (spec.kind === "onFailure" && failuresIn(watched).length === 0 && !o.signal.aborted) {
      return skip("no failure in the stages it watches", true);
    }
    if (spec.when && !spec.when.condition) return skip(spec.when.reason, true);
    return { run: true };
  };

  const execute = async (s: State): Promise<void> => {
    const spec = s.spec;
    const id = spec.id;
    const rec = s.record;
    const grant = o.grants.get(id)!;
    rec.startedAt = new Date().toISOString();
    await o.journal.append({ type: "stage.started", stage: id });
    await o.journal.flush();
    changed(s, true);
    const log = (level: "info" | "warn" | "notice", message: string) => {
      logs.write(id, level, message);
      if (level === "notice") o.onNotice?.(id, o.redactor.redact(message));
    };
    const signal = spec.kind === "normal" ? stop.signal : new AbortController().signal;

    if (spec.approval) {
      let approval: ApprovalRecord;
      if (o.dryRun) {
        approval = {
          phrase: spec.approval.phrase,
          approved: true,
          by: "dry-run",
          at: new Date().toISOString(),
          method: "dry-run",
        };
      } else {
        try {
          approval = await o.approve(id, spec.approval.phrase, spec.approval.message);
        } catch (err) {
          return settle(s, "failed", `approval failed: ${(err as Error).message}`);
        }
      }
      rec.approval = approval;
      await o.journal.append({ type: "approval", stage: id, ...approval });
      if (!approval.approved) return settle(s, "failed", "approval refused");
    }

    const needsWorker = spec.run !== undefined || spec.checks.length > 0;
    const printed = new PrintBuffer(o.redactor, (stream, clean) => {
      for (const line of clean.replace(/\n$/, "").split("\n")) {
        logs.write(id, stream === "stderr" ? "warn" : "info", line);
      }
      onPrint(id, stream, clean);
    });
    const attempts = spec.retry?.attempts ?? 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      try {
        if (needsWorker) {
          s.output = await runAttempt(() =>
            pool.run(grant, {
              type: "run",
              stageId: id,
              pipeline: o.definition.name,
              runId: o.runId,
              user: o.user,
              environmentName: o.environmentName,
              env: o.env,
              version: o.version,
              options: o.options,
              dryRun: o.dryRun,
              attempt,
              outputs: Object.fromEntries(spec.needs.map((n) => [n, states.get(n)!.output])),
              failures: failuresIn(spec.watches.length > 0 ? spec.watches : normalIds),
            }, {
              log,
              print: (stream, text) => printed.write(stream, text),
              check: (report: CheckReport) => {
                rec.checks.push(checkRecordOf(report, o.redactor));
                const ok = report.outcome.ok;
                log(ok ? "info" : "warn", `check ${report.name}: ${report.outcome.message}`);
              },
              call: (resource, method, args) =>
                callCapability(
                  { spec, grant, record: rec, capabilities: o.capabilities, redactor: o.redactor },
                  { resource, method, args },
                ),
            }, {
              signal,
              ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
            }), printed);
        }
        rec.attempts.push({
          attempt,
          startedAt,
          durationMs: performance.now() - t0,
          status: "succeeded",
        });
        if (s.output !== undefined) rec.output = reportableOutput(s.output, o.redactor);
        break;
      } catch (err) {
        const e = err instanceof StageRunError ? err : new StageRunError(String(err), "error");
        const message = o.redactor.redact(e.message);
        rec.attempts.push({
          attempt,
          startedAt,
          durationMs: performance.now() - t0,
          status: e.kind === "timeout"
            ? "timed_out"
            : e.kind === "interrupted"
            ? "interrupted"
            : "failed",
          error: message,
        });
        log("warn", `attempt ${attempt} failed: ${message}`);
        await o.journal.append({ type: "stage.attempt", stage: id, attempt, error: message });
        if (e.kind === "interrupted") {
          const why = o.signal.aborted ? "interrupted" : `stopped: stage "${firstFailure}" failed`;
          return settle(s, "interrupted", why);
        }
        // A denied permission or a failed check is not transient: no retry.
        if (attempt >= attempts || e.kind === "denied" || e.kind === "check") {
          return settle(s, "failed", message);
        }
        const wait = backoffMs(spec, attempt);
        log("info", `retrying in ${wait} ms (attempt ${attempt + 1} of ${attempts})`);
        await delay(wait, { signal }).catch(() => {}); // aborted: settled below
        if (signal.aborted) return settle(s, "interrupted", "interrupted while waiting to retry");
      }
    }

    if (spec.gates.length > 0) {
      if (o.dryRun) {
        rec.gates = spec.gates.map((g) =>
          gateRecord(g, { verdict: "not_measured", reason: "dry run" })
        );
      } else if (!o.analyze) {
        rec.gates = spec.gates.map((g) =>
          gateRecord(g, {
            verdict: "failed",
            reason: "no metrics source is configured: gates fail closed",
          })
        );
        return settle(s, "failed", "gates could not be measured: no metrics source is configured");
      } else {
        const verdict = await o.analyze(spec, {
          signal,
          output: s.output,
          log: (m) => log("info", m),
          journal: o.journal,
          runDir: o.runDir,
        });
        rec.gates = verdict.gates;
        if (verdict.decision) rec.decision = verdict.decision;
        const failed = rec.gates.filter((g) => g.verdict === "failed");
        if (signal.aborted) return settle(s, "interrupted", "interrupted during analysis");
        if (verdict.decision?.action === "promote") {
          log(
            "warn",
            `promoted by ${verdict.decision.by} despite: ${failed.map((g) => g.reason).join("; ")}`,
          );
        } else if (failed.length > 0) {
          return settle(
            s,
            "failed",
            failed.map((g) => `${g.gate}: ${g.reason ?? g.verdict}`).join("; "),
          );
        }
      }
    }
    return settle(s, "succeeded");
  };

  const pending = new Set(states.keys());
  const running = new Map<string, Promise<void>>();
  const prestart = o.prestart ?? o.concurrency;
  const prestarted = new Set<string>();
  // Starts Workers for the ordinary stages that can start next (every need settled or
  // running), so that a stage finds its fresh Worker ready.
  const prepareNext = () => {
    let budget = prestart - pool.waiting;
    for (const id of pending) {
      if (budget <= 0) return;
      const s = states.get(id)!;
      const spec = s.spec;
      if (prestarted.has(id) || spec.kind !== "normal" || spec.approval) continue;
      if (spec.run === undefined && spec.checks.length === 0) continue;
      if (spec.when && !spec.when.condition) continue;
      const near = spec.needs.every((n) => {
        const dep = states.get(n)!;
        return running.has(n) ||
          (dep.settled && (SETTLED_OK.has(dep.record.status) || dep.satisfied));
      });
      if (!near) continue;
      prestarted.add(id);
      void pool.prepare(id, o.grants.get(id)!);
      budget--;
    }
  };
  try {
    while (pending.size > 0 || running.size > 0) {
      let progressed = false;
      for (const id of [...pending]) {
        if (running.size >= o.concurrency) break;
        const s = states.get(id)!;
        const d = decide(s);
        if (!d.run && d.wait) continue;
        pending.delete(id);
        progressed = true;
        if (!d.run) {
          s.satisfied = d.satisfied;
          pool.forget(id);
          await settle(s, "skipped", d.reason);
          continue;
        }
        const p = execute(s).catch(async (err) => {
          if (!s.settled) await settle(s, "failed", `runner error: ${(err as Error).message}`);
        }).finally(() => running.delete(id));
        running.set(id, p);
      }
      if (running.size > 0 && (!progressed || running.size >= o.concurrency)) {
        if (!stop.signal.aborted) prepareNext();
        await Promise.race(running.values());
      } else if (running.size === 0 && !progressed) {
        for (const id of pending) {
          await settle(states.get(id)!, "skipped", "not started: its prerequisites never settled");
        }
        pending.clear();
      }
    }
  } finally {
    o.signal.removeEventListener("abort", onInterrupt);
    pool.close();
    await logs.close();
  }

  const records = [...states.values()].map((s) => s.record);
  const rollbacks = records.filter((r) => r.rollback && r.status !== "skipped");
  const anyFailed = records.some((r) => r.status === "failed" || r.status === "interrupted");
  const rollbackOk = rollbacks.length > 0 && rollbacks.every((r) => r.status === "succeeded");
  const status: Report["status"] = o.signal.aborted
    ? "interrupted"
    : !anyFailed
    ? "succeeded"
    : rollbackOk
    ? "rolled_back"
    : "failed";
  const failed = records.find((r) => r.status === "failed");
  return {
    status,
    stages: records,
    rollback: {
      performed: rollbacks.length > 0,
      stages: rollbacks.map((r) => r.id),
      succeeded: rollbacks.length > 0 ? rollbackOk : null,
    },
    ...(failed ? { error: `stage "${failed.id}" failed: ${failed.reason ?? ""}` } : {}),
  };
}
