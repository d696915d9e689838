/**
 * A whole run: the run folder, the journal, the engine, and the report.
 * @module
 */
import { hostname } from "node:os";
import { relative } from "node:path";
import { Journal } from "../journal/journal.ts";
import {
  type ApprovalRecord,
  type Report,
  reportSchema,
  type StageRecord,
} from "../report/schema.ts";
import { type CapabilityProvider, type GateAnalyzer, runGraph } from "./engine.ts";
import type { PreparedRun } from "./prepare.ts";

/** How to run a prepared pipeline. */
export interface ExecuteOptions {
  /** Where run folders go (default `.tracktion/runs`). */
  readonly runsDir?: string;
  /** Stages that may run at once (default 4). */
  readonly concurrency?: number;
  /** Describe, change nothing. */
  readonly dryRun?: boolean;
  /** Resources the main thread holds, by name. */
  readonly capabilities?: Readonly<Record<string, CapabilityProvider>>;
  /** Gives approvals (a TTY prompt, `--confirm`, ...). */
  readonly approve: (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord>;
  /** Measures gates. Without it, gated stages fail closed. */
  readonly analyze?: GateAnalyzer;
  /** Where the run went, for the report. */
  readonly target?: Readonly<Record<string, unknown>>;
  /** Interrupts the run (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Told what a stage's code printed, redacted (default: standard error). */
  readonly onPrint?: (stageId: string, stream: "stdout" | "stderr", text: string) => void;
  /** Told of every stage state change. */
  readonly onChange?: (record: StageRecord, running: boolean) => void;
  /** Told of a stage's notices. */
  readonly onNotice?: (stageId: string, message: string) => void;
  /** Told the run folder as soon as it exists. */
  readonly onStart?: (runId: string, runDir: string) => void;
}

/** A finished run. */
export interface RunOutcome {
  readonly runId: string;
  readonly runDir: string;
  readonly reportPath: string;
  readonly report: Report;
}

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

function runIdNow(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `${stamp}-${[...rand].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function whoAmI(): string {
  return Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ??
    (Deno.uid() === 0 ? "root" : `uid-${Deno.uid()}`);
}

/**
 * Runs a prepared pipeline and writes its report. A failed or interrupted run still
 * leaves a valid report.
 *
 * @param prepared From {@linkcode prepareRun}.
 * @param o How to run it.
 * @returns Where the report is, and the report.
 */
export async function executeRun(prepared: PreparedRun, o: ExecuteOptions): Promise<RunOutcome> {
  const runId = runIdNow();
  const runsDir = o.runsDir ?? ".tracktion/runs";
  const runDir = `${runsDir}/${runId}`;
  await Deno.mkdir(`${runDir}/logs`, { recursive: true });
  o.onStart?.(runId, runDir);
  const journal = await Journal.open(`${runDir}/events.jsonl`, { redactor: prepared.redactor });
  const startedAt = new Date().toISOString();
  const [commit, porcelain, branch] = await Promise.all([
    git(["rev-parse", "HEAD"]),
    git(["status", "--porcelain"]),
    git(["rev-parse", "--abbrev-ref", "HEAD"]),
  ]);
  const who = { user: whoAmI(), host: hostname() };
  const gitInfo = { commit, dirty: porcelain !== null && porcelain !== "", branch };
  await journal.append({
    type: "run.started",
    runId,
    pipeline: prepared.definition.name,
    environment: prepared.env.name,
    version: prepared.version?.tag,
    dryRun: o.dryRun ?? false,
    who,
    git: gitInfo,
  });

  const signal = o.signal ?? new AbortController().signal;
  const result = await runGraph({
    definition: prepared.definition,
    pipelineUrl: prepared.pipelineUrl,
    runId,
    user: who.user,
    dag: prepared.dag,
    grants: prepared.grants,
    env: prepared.env,
    environmentName: prepared.env.name,
    version: prepared.version,
    options: prepared.options,
    concurrency: o.concurrency ?? 4,
    dryRun: o.dryRun ?? false,
    capabilities: o.capabilities ?? {},
    approve: o.approve,
    ...(o.analyze ? { analyze: o.analyze } : {}),
    journal,
    redactor: prepared.redactor,
    runDir,
    signal,
    ...(o.onPrint ? { onPrint: o.onPrint } : {}),
    ...(o.onChange ? { onChange: o.onChange } : {}),
    ...(o.onNotice ? { onNotice: o.onNotice } : {}),
  });

  const finishedAt = new Date().toISOString();
  await journal.append({
    type: "run.finished",
    status: result.status,
    rollback: result.rollback,
    ...(result.error ? { error: result.error } : {}),
  });
  await journal.close();

  const report: Report = prepared.redactor.redactValue({
    schemaVersion: 1 as const,
    runId,
    pipeline: { name: prepared.definition.name, file: relative(Deno.cwd(), prepared.pipelineFile) },
    environment: prepared.env.name,
    ...(prepared.version ? { version: prepared.version.tag } : {}),
    dryRun: o.dryRun ?? false,
    status: result.status,
    who,
    git: gitInfo,
    target: { ...(o.target ?? {}) },
    startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
    stages: result.stages,
    rollback: result.rollback,
    ...(result.error ? { error: result.error } : {}),
    events: { file: "events.jsonl", count: journal.length, digest: journal.digest },
  });
  reportSchema.parse(report);
  const reportPath = `${runDir}/report.json`;
  await Deno.writeTextFile(`${reportPath}.tmp`, JSON.stringify(report, null, 2) + "\n");
  await Deno.rename(`${reportPath}.tmp`, reportPath);
  return { runId, runDir, reportPath, report };
}
