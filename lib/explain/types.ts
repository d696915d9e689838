/**
 * What `explain` says about a run, as data: {@linkcode Explanation} (what happened, the
 * first cause of a failure, what the runner did about it, the next commands), the same
 * content `--json` prints and the one-screen text is drawn from.
 * @module
 */
import type { UndeliveredRecord } from "../report/undelivered.ts";

/** How a run ended, as its report says (a runner that died: `interrupted`). */
export type RunOutcomeStatus = "succeeded" | "failed" | "rolled_back" | "interrupted";

/** Who ran what, where and when: the header of an explanation. */
export interface RunSummary {
  /** The pipeline's name. */
  pipeline: string;
  /** The environment. */
  environment: string;
  /** The version, when the pipeline takes one. */
  version?: string | undefined;
  /** How it ended (`interrupted` for a runner that died: see {@linkcode RunSummary.died}). */
  status: RunOutcomeStatus;
  /** The runner died before it finished (no `run.finished` in the journal). */
  died: boolean;
  /** A dry run: nothing was changed. */
  dryRun: boolean;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** When it ended, or its last journal line (ISO 8601). */
  finishedAt?: string | undefined;
  /** How long it took (ms). */
  durationMs?: number | undefined;
  /** Who ran it: `user@host`. */
  who: string;
  /** The git commit it ran from, and whether the tree was dirty. */
  commit?: { sha: string | null; dirty: boolean } | undefined;
  /** Where it went: the target's kind, cluster, namespace, sandbox scenario and clock. */
  target: {
    kind?: string | undefined;
    cluster?: string | undefined;
    namespace?: string | undefined;
    scenario?: string | undefined;
    clock?: string | undefined;
  };
  /** Who approved it (names), when approvals were recorded. */
  approvedBy: string[];
  /** How many times it was resumed after its runner died. */
  resumes: number;
}

/** One target of a gate (a service's slot): what its samples said. */
export interface GateTarget {
  /** The target's labels without the namespace, joined: `web/green`. */
  target: string;
  /** Its labels. */
  labels: Record<string, string>;
  /** The last value measured (null: none). */
  last: number | null;
  /** The worst value measured, against the gate's direction (null: none). */
  worst: number | null;
  /** Samples taken. */
  samples: number;
  /** Samples that failed, or that had no value (inconclusive, error). */
  badSamples: number;
  /** Requests counted over its samples' windows. */
  requests: number;
  /** Of them, errors (an error-rate gate) or requests over the threshold (a latency gate). */
  events: number;
  /**
   * `breached` (a failed sample, or its statistical decision), `no value` (no sample had one),
   * `undecided` (a statistical gate had not decided for it when the stage ended), or `ok`.
   */
  verdict: "breached" | "no value" | "undecided" | "ok";
  /** Why there was no value, as the source said (the last such detail). */
  detail?: string | undefined;
}

/** A breaching gate: the first cause of a failed gated stage. */
export interface GateCause {
  /** Discriminant. */
  kind: "gate";
  /** The gated stage (a canary step). */
  stage: string;
  /** The stage's description (the step: its traffic share and duration). */
  stageDescription?: string | undefined;
  /** The gate as written: `error_rate < 1%`. */
  gate: string;
  /** How it decided: `fixed`, `sequential` or `baseline`. */
  method: string;
  /** A statistical gate's confidence (0.99). */
  confidence?: number | undefined;
  /** The threshold, with its comparison and unit: `< 1%`. */
  threshold: string;
  /** The gate's reason, as the report records it. */
  reason: string;
  /** Each target, breaching ones first. */
  targets: GateTarget[];
  /** The stage's other failed gates. */
  otherGates: string[];
}

/** A failed required check: its name, message and evidence. */
export interface CheckCause {
  /** Discriminant. */
  kind: "check";
  /** The stage it ran in. */
  stage: string;
  /** The check's name. */
  check: string;
  /** What it said. */
  message: string;
  /** Its evidence, flattened to `key: value` (values cut). */
  evidence: [string, string][];
  /** The stage's other failed required checks (names). */
  otherChecks: string[];
}

/** One pod's state and last words, from the evidence a rollback kept, or the stage's error. */
export interface PodSummary {
  /** The pod. */
  pod: string;
  /** Its container's waiting or terminated reason (`CrashLoopBackOff`). */
  state?: string | undefined;
  /** Restarts. */
  restarts?: number | undefined;
  /** Whether it was Ready. */
  ready?: boolean | undefined;
  /** Its last log lines (oldest first). */
  lastLines: string[];
  /** Its Events, Warnings first: `BackOff ×6: Back-off restarting failed container`. */
  events: string[];
}

/** A pod that would not run (a crash loop, an image that does not pull, a rollout deadline). */
export interface PodCause {
  /** Discriminant. */
  kind: "pod";
  /** The stage that failed. */
  stage: string;
  /** The stage's error. */
  message: string;
  /** The Deployment (`namespace/name`), when the error names one. */
  deployment?: string | undefined;
  /** The container's reason: `CrashLoopBackOff`, `ImagePullBackOff`, ... */
  reason?: string | undefined;
  /** The pod the error names. */
  pod?: string | undefined;
  /** The last log line the error quotes. */
  lastLine?: string | undefined;
  /** The failed slot's pods, from the rollback's evidence (when it kept some). */
  pods: PodSummary[];
  /** The stage whose output held the pods' evidence. */
  evidenceStage?: string | undefined;
  /** Whether the failed slot's pods may still run (kept for debugging): `kubectl logs` works. */
  podsRunning: boolean;
  /** What became of the failed slot, as the last stage that saw it said. */
  slotNote?: string | undefined;
}

/** A migration that failed. */
export interface MigrationCause {
  /** Discriminant. */
  kind: "migration";
  /** The stage that ran it. */
  stage: string;
  /** The error. */
  message: string;
  /** The migration: `0009_add_index`. */
  migration?: string | undefined;
  /** The script and line: `migrations/0009_add_index.up.sql:3`. */
  file?: string | undefined;
  /** What the server said. */
  detail?: string | undefined;
  /** The server's SQLSTATE. */
  sqlState?: string | undefined;
  /** What it left: `rolled back, nothing recorded`, or what stays applied. */
  outcome?: string | undefined;
}

/** The run lost its lock: it stopped changing things. */
export interface LockCause {
  /** Discriminant. */
  kind: "lock";
  /** Why, as the run recorded it. */
  message: string;
  /** The stages it stopped (running when it happened). */
  stopped: string[];
  /** The lock (a Lease), as the stage that took it recorded it. */
  lease?: { namespace: string; name: string; holder?: string | undefined } | undefined;
}

/** The run was interrupted: by a signal (the failure path ran), or its runner died. */
export interface InterruptedCause {
  /** Discriminant. */
  kind: "interrupted";
  /** What the run recorded, or what the journal shows. */
  message: string;
  /** The runner died: the journal stops without `run.finished`. */
  died: boolean;
  /** The journal's last line: its number, time and type. */
  lastEvent?: { seq: number; at: string; type: string } | undefined;
  /** The stages running when it stopped. */
  running: string[];
  /** The last lines of the first running stage's log. */
  logTail: string[];
}

/** Any other failed stage: its error and its log's last lines. */
export interface StageCause {
  /** Discriminant. */
  kind: "stage";
  /** The stage. */
  stage: string;
  /** Its error. */
  message: string;
  /** The last warning or error lines of its log. */
  logTail: string[];
}

/** The first cause of a run that did not succeed. */
export type Cause =
  | GateCause
  | CheckCause
  | PodCause
  | MigrationCause
  | LockCause
  | InterruptedCause
  | StageCause;

/** What a handler stage (a rollback, a notification, an unlock) did. */
export interface Action {
  /** The stage. */
  stage: string;
  /** A rollback, another failure handler, or a `finally` stage. */
  kind: "rollback" | "onFailure" | "finally";
  /** How it ended (`skipped` with its reason). */
  status: string;
  /** Why it was skipped, or why it failed. */
  reason?: string | undefined;
  /** What it said: its notices and warnings, repeated ones folded (`a, b: same text`). */
  lines: string[];
  /** Lines left out, to be read in its log. */
  more: number;
  /** Its log, relative to the run folder. */
  log: string;
}

/** A command to run next, copy-pasteable, and why. */
export interface NextStep {
  /** The command. */
  command: string;
  /** What it is for. */
  why: string;
}

/** Everything `explain` says about a run. */
export interface Explanation {
  /** The run's id. */
  runId: string;
  /** Its folder. */
  runDir: string;
  /** Read from `report.json`, or from the journal alone (its runner died before writing one). */
  source: "report" | "journal";
  /** Who ran what, where, when, and how it ended. */
  run: RunSummary;
  /** One line: what happened. */
  headline: string;
  /** The first cause, for a run that did not succeed. */
  cause?: Cause | undefined;
  /** Later failures (stage and reason), beside the first. */
  alsoFailed: { stage: string; reason: string }[];
  /** The rollback: whether it ran, and whether it succeeded. */
  rollback: { performed: boolean; succeeded: boolean | null; stages: string[] };
  /** What the handlers did. */
  actions: Action[];
  /** Notifications and statuses that did not arrive after their retries. */
  undelivered: UndeliveredRecord[];
  /** The channels the final notification reached, when the run recorded them. */
  notified?: string[] | undefined;
  /** The stage that recorded them. */
  notifiedBy?: string | undefined;
  /** A few facts worth a line: the longest stages, warnings. */
  notes: string[];
  /** The commands to run next. */
  next: NextStep[];
  /** Where the rest is, relative to the run's folder: the report, the cause's log. */
  more: string[];
}
