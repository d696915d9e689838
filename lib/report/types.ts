/**
 * The run report's shapes (`report.json`), written out so that they document
 * themselves; `schema.ts` holds the zod schema that validates them, and a compile-time
 * check there keeps the two the same.
 * @module
 */
import type { UndeliveredRecord } from "./undelivered.ts";

/** The Kubernetes reach of a stage granted the `kubernetes` capability. */
export interface KubernetesGrant {
  /** Namespaces the stage may read and change. */
  namespaces: string[];
  /** Cluster-scoped kinds it may read. */
  clusterReads: string[];
  /** Secrets (`namespace/name`) whose values it may read. */
  secrets: string[];
}

/** The permissions a stage's Worker was given. */
export interface Grant {
  /** Paths it may read. */
  read: string[];
  /** Paths it may write. */
  write: string[];
  /** Hosts it may connect to. */
  net: string[];
  /** Environment variables it may read. */
  env: string[];
  /** Programs it may run. */
  run: string[];
  /** Native libraries it may load. */
  ffi: string[];
  /** Resources reached through the runner's main thread. */
  proxied: string[];
  /** `run` or `ffi` granted, or a broad grant marked fullTrust: the stage can escape its limits. */
  fullTrust: boolean;
  /** Why a broad grant was marked full trust. */
  fullTrustReason?: string | undefined;
  /** What the stage may do through the kubernetes capability. */
  kubernetes?: KubernetesGrant | undefined;
}

/** A check's result with its evidence. */
export interface CheckRecord {
  /** The check's name. */
  name: string;
  /** Whether a failure fails the stage. */
  required: boolean;
  /** The outcome. */
  status: "passed" | "failed" | "warned" | "skipped";
  /** One line for people. */
  message: string;
  /** What was measured or seen. No secret values. */
  evidence: Record<string, unknown>;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** How long it took. */
  durationMs: number;
}

/**
 * The counts behind a sample: how many requests its window held, how many failed or
 * were slow, and the window itself — so a reader tells 0 errors of 3 from 0 of 30,000.
 */
export interface SampleEvidence {
  /** Requests in the window. */
  requests: number;
  /** Requests answered with an error (5xx). */
  errors?: number | undefined;
  /** Requests slower than `overMs`. */
  over?: number | undefined;
  /** The latency `over` counts against, in ms. */
  overMs?: number | undefined;
  /** Latencies sampled from the window (their count; a baseline comparison uses them). */
  latencies?: number | undefined;
  /** The window's length, in ms of target time. */
  windowMs: number;
  /** The window's start (ISO 8601). */
  from: string;
  /** The window's end (ISO 8601). */
  to: string;
}

/** Where a statistical gate stood after a sample. */
export interface SampleDecision {
  /** Breach, pass, or undecided so far. */
  state: "breach" | "pass" | "undecided";
  /** Sequential: the breach e-value (evidence of "above the threshold"). */
  breachE?: number | undefined;
  /** Sequential: the pass e-value (evidence of "below the threshold"). */
  passE?: number | undefined;
  /** Baseline: this look's one-sided p-value of "canary worse than baseline". */
  pValue?: number | undefined;
  /** Baseline: the level this look was tested at (α spent evenly over the looks). */
  level?: number | undefined;
}

/** One measurement of one gate for one target. */
export interface SampleRecord {
  /** When it was taken (ISO 8601). */
  at: string;
  /** The value, in the metric's unit; null when there was none (inconclusive or error). */
  value: number | null;
  /** How it counts. */
  verdict: "successful" | "failed" | "inconclusive" | "error";
  /** Why there was no value, or what the source said. */
  detail?: string | undefined;
  /** The target's labels (`service`, `slot`, ...). */
  labels?: Record<string, string> | undefined;
  /** The counts and window behind the value, when the source gave them. */
  evidence?: SampleEvidence | undefined;
  /** A baseline gate: the baseline's counts and window. */
  baseline?: SampleEvidence | undefined;
  /** A statistical gate: where it stood after this sample. */
  decision?: SampleDecision | undefined;
}

/**
 * How a statistical gate decided: its method and confidence, when it decided, and the
 * bound values it was held to. (Reports written before statistical gates have none.)
 */
export interface GateDecisionRecord {
  /** The method. */
  method: "sequential" | "baseline";
  /** The confidence of a decision; `α = 1 − confidence`. */
  confidence: number;
  /** Time between looks, in ms. */
  lookMs: number;
  /** Looks planned in the stage. */
  horizon: number;
  /** Where it ended: breach, pass, or undecided (a failure). */
  state: "breach" | "pass" | "undecided";
  /** When it decided (ISO 8601), if it did. */
  decidedAt?: string | undefined;
  /** The e-value (sequential) either side had to reach: `1/α`. */
  bound?: number | undefined;
  /** The breach e-value at the end (sequential; the target that decided, or the largest). */
  breachE?: number | undefined;
  /** The pass e-value at the end (sequential; the smallest over targets). */
  passE?: number | undefined;
  /** The smallest p-value seen (baseline). */
  pValue?: number | undefined;
  /** Requests counted in all. */
  requests: number;
  /** Errors or slow requests counted in all. */
  events: number;
}

/** A gate with every sample measured for it, and its verdict. */
export interface GateRecord {
  /** The gate as written, e.g. `error_rate < 1%`. */
  gate: string;
  /** The metric's name. */
  metric: string;
  /** The comparison. */
  operator: "<" | "<=" | ">" | ">=";
  /** The threshold, in the metric's unit. */
  threshold: number;
  /** The unit. */
  unit: string;
  /** Failed measurements tolerated (`>` fails). */
  failureLimit: number;
  /** Consecutive query errors tolerated. */
  consecutiveErrorLimit: number;
  /** How inconclusive samples counted. */
  inconclusivePolicy: "fail" | "ignore";
  /** The outcome. */
  verdict: "passed" | "failed" | "not_measured";
  /** Why it failed or was not measured. */
  reason?: string | undefined;
  /** How it decided: `fixed` (a threshold per measurement; also when absent) or statistical. */
  method?: "fixed" | "sequential" | "baseline" | undefined;
  /** A statistical gate's decision and bound values. */
  decision?: GateDecisionRecord | undefined;
  /** Every sample, in order. */
  samples: SampleRecord[];
}

/** One approver's signed approval of the plan that ran, with what verifies it. */
export interface SignedApprovalRecord {
  /** `signed` (absent in reports before GitHub approvals: signed). */
  kind?: "signed" | undefined;
  /** The approver's name (a rehearsal's: "rehearsal approver 1"). */
  name: string;
  /** Their e-mail, as listed (what was signed). */
  email: string;
  /** Their GitHub login, when the approval came through GitHub. */
  github?: string | undefined;
  /** The signing key's fingerprint (`SHA256:...`). */
  fingerprint: string;
  /** The public key (one base64 line) the signature verifies with. */
  publicKey: string;
  /** When they signed (ISO 8601). */
  signedAt: string;
  /** Their comment (a change ticket). */
  comment?: string | undefined;
  /** The plan digest signed. */
  digest: string;
  /** The environment signed. */
  environment: string;
  /** The version signed. */
  version: string;
  /** The Ed25519 signature (base64) of the approval statement. */
  signature: string;
  /** A sandbox rehearsal's approver (keys made for that run; counts nowhere else). */
  rehearsal: boolean;
}

/**
 * One listed approver's approval given on GitHub (`--approvals github`): their comment on the
 * run's approval issue. Not signed: GitHub vouches for the login; it is recorded as such.
 */
export interface GitHubApprovalRecord {
  /** Always `github`. */
  kind: "github";
  /** The approver's name, as listed. */
  name: string;
  /** Their e-mail, as listed. */
  email: string;
  /** The GitHub login that commented. */
  github: string;
  /** The comment's id. */
  commentId: number;
  /** The comment's URL. */
  url: string;
  /** When it was written (ISO 8601). */
  at: string;
  /** Its text. */
  comment: string;
  /** The plan digest the issue asked to approve. */
  digest: string;
}

/**
 * The evidence that a deploy was approved: the plan digest that ran, who deployed, how many
 * approvals were required and each one that counted.
 */
export interface PlanApprovalEvidence {
  /** The digest of the plan that ran. */
  planDigest: string;
  /** The plan file, when one was given (`--plan`). */
  planFile?: string | undefined;
  /** Where the approvals came from. */
  source: "plan" | "rehearsal" | "cluster" | "github";
  /** Who deployed (they cannot approve). */
  deployer: string;
  /** How many distinct approvers were required. */
  required: number;
  /** The approvals that counted: signed ones, or GitHub comments (`kind: "github"`). */
  approvals: (SignedApprovalRecord | GitHubApprovalRecord)[];
}

/** Where the run went, and the approval evidence of its plan. */
export interface ReportTarget {
  /** The evidence that the plan that ran was approved (none required: absent). */
  approvals?: PlanApprovalEvidence | undefined;
  /** The rest: cluster, namespace, ... */
  [key: string]: unknown;
}

/** Who approved a stage, when and how. */
export interface ApprovalRecord {
  /** The phrase that was required. */
  phrase: string;
  /** Whether it was given. */
  approved: boolean;
  /** Who gave it. */
  by: string;
  /** When (ISO 8601). */
  at: string;
  /** How: typed at a terminal, `--confirm`, a decision, or not needed on a dry run. */
  method: "tty" | "flag" | "decision" | "dry-run";
  /** The approvals by others given at this stage (a run that waited for them). */
  evidence?: PlanApprovalEvidence | undefined;
}

/** One attempt at a stage. */
export interface AttemptRecord {
  /** Its number, from 1. */
  attempt: number;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** How long it took. */
  durationMs: number;
  /** How it ended. */
  status: "succeeded" | "failed" | "timed_out" | "interrupted";
  /** Its error message. */
  error?: string | undefined;
}

/** A call a stage made through a proxied resource. */
export interface CallRecord {
  /** The resource, e.g. `kubernetes`. */
  resource: string;
  /** The method called. */
  method: string;
  /** When (ISO 8601). */
  at: string;
  /** How long it took. */
  durationMs: number;
  /** Whether it succeeded. */
  ok: boolean;
  /** Its error message. */
  error?: string | undefined;
}

/** A person's decision on a paused gate breach. */
export interface DecisionRecord {
  /** Promote despite the breach, or abort. */
  action: "promote" | "abort";
  /** Who decided. */
  by: string;
  /** When (ISO 8601). */
  at: string;
  /** How: at the terminal, with `deno task decide`, or by the timeout (abort). */
  method: "tty" | "command" | "timeout";
}

/** A stage's record in the report. */
export interface StageRecord {
  /** The stage's id. */
  id: string;
  /** Its one-line description. */
  description?: string | undefined;
  /** Ordinary stage or handler. */
  kind: "normal" | "onFailure" | "finally";
  /** Whether it is the rollback. */
  rollback: boolean;
  /** The stages it needs. */
  needs: string[];
  /** How it ended. */
  status: "succeeded" | "failed" | "skipped" | "interrupted";
  /** Why it was skipped, or why it failed. */
  reason?: string | undefined;
  /** When it started (ISO 8601). */
  startedAt?: string | undefined;
  /** When it finished (ISO 8601). */
  finishedAt?: string | undefined;
  /** How long it took. */
  durationMs?: number | undefined;
  /** Every attempt. */
  attempts: AttemptRecord[];
  /** What its Worker was granted. */
  permissions: Grant;
  /** Its checks. */
  checks: CheckRecord[];
  /** Its gates. */
  gates: GateRecord[];
  /** Its approval, when it needed one. */
  approval?: ApprovalRecord | undefined;
  /** A person's decision on a paused gate breach. */
  decision?: DecisionRecord | undefined;
  /** The calls it made through proxied resources. */
  calls: CallRecord[];
  /** What it handed on, secrets redacted; large outputs are summarised. */
  output?: unknown;
  /** Its log file, relative to the run folder. */
  log: string;
}

/** A run report: the audit record of a run. */
export interface Report {
  /** The report format's version. */
  schemaVersion: 1;
  /** The run's id (its folder's name). */
  runId: string;
  /** The pipeline run. */
  pipeline: { name: string; file: string };
  /** The environment's name. */
  environment: string;
  /** The version deployed. */
  version?: string | undefined;
  /** Whether it was a dry run. */
  dryRun: boolean;
  /** How the run ended. */
  status: "succeeded" | "failed" | "rolled_back" | "interrupted";
  /** Who ran it, where. */
  who: { user: string; host: string };
  /** The git state it ran from. */
  git: { commit: string | null; dirty: boolean; branch: string | null };
  /** Where the run went (cluster, namespace...), and the approval evidence. */
  target: ReportTarget;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** When it finished (ISO 8601). */
  finishedAt: string;
  /** How long it took. */
  durationMs: number;
  /** Every stage. */
  stages: StageRecord[];
  /** The rollback, if one ran. */
  rollback: { performed: boolean; stages: string[]; succeeded: boolean | null };
  /** The run's error. */
  error?: string | undefined;
  /** Each time the run was resumed after its runner died: when, by whom, what was reused. */
  resumes?: { at: string; by: string; reused: string[]; droppedLine: boolean }[] | undefined;
  /** Rebuilt from the journal of a run whose runner died before writing its report. */
  rebuilt?: boolean | undefined;
  /** Notifications and statuses that still failed after their retries. */
  undelivered?: UndeliveredRecord[] | undefined;
  /** The journal: its file, its line count, and the SHA-256 of its last line. */
  events: { file: string; count: number; digest: string };
}
