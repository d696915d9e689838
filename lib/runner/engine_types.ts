/**
 * The engine's contract: what {@linkcode runGraph} is given (the graph, the grants, the
 * capabilities, the approver and the gate analyzer, the journal) and what it returns.
 * @module
 */
import type { PipelineInfo } from "./describe.ts";
import type { StageDescription as StageSpec } from "../dsl/describe.ts";
import type { Version } from "../dsl/types.ts";
import type { Journal } from "../journal/journal.ts";
import type { Redactor } from "../journal/redact.ts";
import type { ApprovalRecord, GateRecord, Report, StageRecord } from "../report/schema.ts";
import type { Dag } from "./dag.ts";
import type { StageGrant } from "./permissions.ts";
import type { CapabilityProvider } from "./stage_records.ts";
import type { Clock } from "../clock/clock.ts";

export type { CapabilityProvider };

/** What a gate analyzer returns: every gate's record, and a decision if the stage paused. */
export interface GateVerdict {
  /** Every gate's record: its samples and verdict. */
  readonly gates: GateRecord[];
  /** A person's decision, when a breach paused the stage. */
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
  /** Whether stage Workers load Node's modules as they start (see `WorkerPool`); default yes. */
  readonly nodeGuard?: boolean | undefined;
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
  /**
   * Aborted, with an `Error` as its reason, when the run must stop changing things (a
   * capability lost what made the run safe, e.g. its deploy lock): running ordinary stages
   * stop, the rest are not started, the failure path runs, and the run fails with that
   * reason.
   */
  readonly failure?: AbortSignal | undefined;
  /**
   * A resumed run: how each stage ended before its runner died, from the journal. A stage
   * that succeeded is not run again (its output is the journal's); one that failed stays
   * failed (the failure path runs); one that was running, or never started, runs.
   */
  readonly resume?: ReadonlyMap<string, JournalledStage> | undefined;
  /**
   * The run's clock (default real time): every timestamp, duration, retry backoff, stage
   * time limit and `ctx.sleep` of the run is on it, and it is held while real work is in
   * flight.
   */
  readonly clock?: Clock | undefined;
  /**
   * Capabilities that hold the clock only around their own real I/O, and may wait on the
   * clock in between (default `["kubernetes"]`); a call of any other capability holds the
   * clock from its start to its end.
   */
  readonly clockAwareCapabilities?: readonly string[] | undefined;
  /** How many Workers to start ahead for stages about to run (default: `concurrency`). */
  readonly prestart?: number;
  /** Told what a stage's code printed, redacted (default: standard error, `[stage] ` before each line). */
  readonly onPrint?: (stageId: string, stream: "stdout" | "stderr", text: string) => void;
  /** Told of every stage state change (the live view). */
  readonly onChange?: (record: StageRecord, running: boolean) => void;
  /** Told of a stage's notices (`ctx.notice`), shown on screen. */
  readonly onNotice?: (stageId: string, message: string) => void;
}

/** How a stage ended in the journal of a run being resumed. */
export interface JournalledStage {
  /** Its status in its last `stage.finished`. */
  readonly status: StageRecord["status"];
  /** Why, when it failed or was skipped. */
  readonly reason?: string | undefined;
  /** Its output as the journal kept it. */
  readonly output?: unknown;
  /** Its approval, when it had one. */
  readonly approval?: ApprovalRecord | undefined;
}

/** What the engine returns. */
export interface EngineResult {
  /** The run's status. */
  readonly status: Report["status"];
  /** Every stage's record, in graph order. */
  readonly stages: StageRecord[];
  /** Whether rollback stages ran, which, and whether they succeeded. */
  readonly rollback: Report["rollback"];
  /** The first failed stage and why. */
  readonly error?: string;
}

/** How a step of a stage ended it early (no value: the stage goes on). */
export interface Ending {
  /** The stage's final status. */
  readonly status: StageRecord["status"];
  /** Why (for the record). */
  readonly reason?: string;
}
