/**
 * The run report (`report.json`): the audit record of a run. Validated by this zod
 * schema, which is also published as JSON Schema in `schemas/report.schema.json`; its
 * shapes, documented, are in `types.ts` (re-exported here), kept the same by a check.
 * @module
 */
import { z } from "zod";
import type * as T from "./types.ts";
import { undeliveredSchema } from "./undelivered.ts";

const timestamp = z.iso.datetime({ offset: true });

/** The permissions a stage's Worker was given. */
export const grantSchema = z.object({
  read: z.array(z.string()),
  write: z.array(z.string()),
  net: z.array(z.string()),
  env: z.array(z.string()),
  run: z.array(z.string()),
  ffi: z.array(z.string()),
  proxied: z.array(z.string()).describe("resources reached through the runner's main thread"),
  fullTrust: z.boolean().describe(
    "run or ffi granted, or a broad grant marked fullTrust: the stage can escape its limits",
  ),
  fullTrustReason: z.string().optional().describe("why a broad grant was marked full trust"),
  kubernetes: z.object({
    namespaces: z.array(z.string()).describe("namespaces the stage may read and change"),
    clusterReads: z.array(z.string()).describe("cluster-scoped kinds it may read"),
    secrets: z.array(z.string()).describe("Secrets (namespace/name) whose values it may read"),
  }).optional().describe("what the stage may do through the kubernetes capability"),
});

/** A check's result with its evidence. */
export const checkRecordSchema = z.object({
  name: z.string(),
  required: z.boolean(),
  status: z.enum(["passed", "failed", "warned", "skipped"]),
  message: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  startedAt: timestamp,
  durationMs: z.number().nonnegative(),
});

/** The counts and window behind a sample. */
export const sampleEvidenceSchema = z.object({
  requests: z.int().nonnegative(),
  errors: z.int().nonnegative().optional(),
  over: z.int().nonnegative().optional(),
  overMs: z.number().nonnegative().optional(),
  latencies: z.int().nonnegative().optional().describe("how many latencies were sampled"),
  windowMs: z.number().nonnegative(),
  from: timestamp,
  to: timestamp,
}).describe("the counts behind a sample: 0 errors of 3 is not 0 of 30,000");

/** Where a statistical gate stood after a sample. */
export const sampleDecisionSchema = z.object({
  state: z.enum(["breach", "pass", "undecided"]),
  breachE: z.number().nonnegative().optional(),
  passE: z.number().nonnegative().optional(),
  pValue: z.number().min(0).max(1).optional(),
  level: z.number().min(0).max(1).optional(),
});

/** How a statistical gate decided. */
export const gateDecisionSchema = z.object({
  method: z.enum(["sequential", "baseline"]),
  confidence: z.number().gt(0).lt(1),
  lookMs: z.number().positive(),
  horizon: z.int().positive(),
  state: z.enum(["breach", "pass", "undecided"]),
  decidedAt: timestamp.optional(),
  bound: z.number().positive().optional().describe("the e-value either side had to reach: 1/α"),
  breachE: z.number().nonnegative().optional(),
  passE: z.number().nonnegative().optional(),
  pValue: z.number().min(0).max(1).optional(),
  requests: z.int().nonnegative(),
  events: z.int().nonnegative(),
});

/** One measurement of one gate. */
export const sampleSchema = z.object({
  at: timestamp,
  value: z.number().nullable().describe("null when there was no value (inconclusive or error)"),
  verdict: z.enum(["successful", "failed", "inconclusive", "error"]),
  detail: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  evidence: sampleEvidenceSchema.optional(),
  baseline: sampleEvidenceSchema.optional().describe("a baseline gate: the baseline's counts"),
  decision: sampleDecisionSchema.optional(),
});

/** A gate with every sample measured for it and its verdict. */
export const gateRecordSchema = z.object({
  gate: z.string(),
  metric: z.string(),
  operator: z.enum(["<", "<=", ">", ">="]),
  threshold: z.number(),
  unit: z.string(),
  failureLimit: z.int().nonnegative(),
  consecutiveErrorLimit: z.int().nonnegative(),
  inconclusivePolicy: z.enum(["fail", "ignore"]),
  verdict: z.enum(["passed", "failed", "not_measured"]),
  reason: z.string().optional(),
  method: z.enum(["fixed", "sequential", "baseline"]).optional().describe(
    "how it decided (absent in reports before statistical gates: fixed)",
  ),
  decision: gateDecisionSchema.optional(),
  samples: z.array(sampleSchema),
});

/** One approver's signed approval of the plan that ran, with what verifies it. */
export const signedApprovalSchema = z.object({
  kind: z.literal("signed").optional().describe("absent in reports before GitHub approvals"),
  name: z.string(),
  email: z.string(),
  github: z.string().optional(),
  fingerprint: z.string(),
  publicKey: z.string().describe("the Ed25519 public key (SPKI, base64) it verifies with"),
  signedAt: timestamp,
  comment: z.string().optional(),
  digest: z.string().describe("the plan digest signed"),
  environment: z.string(),
  version: z.string(),
  signature: z.string().describe("Ed25519 signature (base64) of the approval statement"),
  rehearsal: z.boolean().describe("a sandbox rehearsal's approver: counts nowhere else"),
});

/**
 * A listed approver's approving comment on GitHub (not signed: GitHub vouches for the login).
 *
 * @example
 * ```ts
 * import { gitHubApprovalSchema } from "./schema.ts";
 * console.assert(!gitHubApprovalSchema.safeParse({ kind: "signed" }).success);
 * ```
 */
export const gitHubApprovalSchema = z.object({
  kind: z.literal("github"),
  name: z.string(),
  email: z.string(),
  github: z.string().describe("the GitHub login that commented"),
  commentId: z.int(),
  url: z.string(),
  at: timestamp,
  comment: z.string(),
  digest: z.string().describe("the plan digest the issue asked to approve"),
});

/** The evidence that the plan that ran was approved. */
export const planApprovalEvidenceSchema = z.object({
  planDigest: z.string(),
  planFile: z.string().optional(),
  source: z.enum(["plan", "rehearsal", "cluster", "github"]),
  deployer: z.string(),
  required: z.int().nonnegative(),
  approvals: z.array(z.union([gitHubApprovalSchema, signedApprovalSchema])),
});

/** Who approved, when and how. */
export const approvalRecordSchema = z.object({
  phrase: z.string(),
  approved: z.boolean(),
  by: z.string(),
  at: timestamp,
  method: z.enum(["tty", "flag", "decision", "dry-run"]),
  evidence: planApprovalEvidenceSchema.optional().describe(
    "the approvals by others given at this stage (a run that waited for them)",
  ),
});

/** One attempt at a stage. */
export const attemptSchema = z.object({
  attempt: z.int().positive(),
  startedAt: timestamp,
  durationMs: z.number().nonnegative(),
  status: z.enum(["succeeded", "failed", "timed_out", "interrupted"]),
  error: z.string().optional(),
});

/** A call a stage made through a proxied resource. */
export const callRecordSchema = z.object({
  resource: z.string(),
  method: z.string(),
  at: timestamp,
  durationMs: z.number().nonnegative(),
  ok: z.boolean(),
  error: z.string().optional(),
});

/** A stage's record. */
export const stageRecordSchema = z.object({
  id: z.string(),
  description: z.string().optional(),
  kind: z.enum(["normal", "onFailure", "finally"]),
  rollback: z.boolean(),
  needs: z.array(z.string()),
  status: z.enum(["succeeded", "failed", "skipped", "interrupted"]),
  reason: z.string().optional().describe("why it was skipped, or why it failed"),
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  durationMs: z.number().nonnegative().optional(),
  attempts: z.array(attemptSchema),
  permissions: grantSchema,
  checks: z.array(checkRecordSchema),
  gates: z.array(gateRecordSchema),
  approval: approvalRecordSchema.optional(),
  decision: z.object({
    action: z.enum(["promote", "abort"]),
    by: z.string(),
    at: timestamp,
    method: z.enum(["tty", "command", "timeout"]),
  }).optional().describe("a person's decision on a paused gate breach"),
  calls: z.array(callRecordSchema),
  output: z.unknown().optional().describe(
    "what the stage handed on (e.g. migrations applied, slots), secrets redacted; large outputs are summarised",
  ),
  log: z.string().describe("the stage's log file, relative to the run folder"),
});

/** The whole report. */
export const reportSchema = z.object({
  schemaVersion: z.literal(1),
  runId: z.string(),
  pipeline: z.object({ name: z.string(), file: z.string() }),
  environment: z.string(),
  version: z.string().optional(),
  dryRun: z.boolean(),
  status: z.enum(["succeeded", "failed", "rolled_back", "interrupted"]),
  who: z.object({ user: z.string(), host: z.string() }),
  git: z.object({
    commit: z.string().nullable(),
    dirty: z.boolean(),
    branch: z.string().nullable(),
  }),
  target: z.looseObject({
    approvals: planApprovalEvidenceSchema.optional().describe(
      "the evidence that the plan that ran was approved",
    ),
  }).describe("where the run went (cluster, namespace...)"),
  startedAt: timestamp,
  finishedAt: timestamp,
  durationMs: z.number().nonnegative(),
  stages: z.array(stageRecordSchema),
  rollback: z.object({
    performed: z.boolean(),
    stages: z.array(z.string()),
    succeeded: z.boolean().nullable(),
  }),
  error: z.string().optional(),
  resumes: z.array(z.object({
    at: timestamp,
    by: z.string(),
    reused: z.array(z.string()),
    droppedLine: z.boolean(),
  })).optional().describe("each time the run was resumed after its runner died"),
  rebuilt: z.boolean().optional().describe(
    "rebuilt from the journal of a run whose runner died (no report was written)",
  ),
  undelivered: z.array(undeliveredSchema).optional().describe(
    "notifications and statuses that still failed after their retries",
  ),
  events: z.object({
    file: z.string(),
    count: z.int().nonnegative(),
    digest: z.string().regex(/^[0-9a-f]{64}$/).describe("SHA-256 of the journal's last line"),
  }),
});

export type {
  ApprovalRecord,
  AttemptRecord,
  CheckRecord,
  GateDecisionRecord,
  GateRecord,
  GitHubApprovalRecord,
  PlanApprovalEvidence,
  Report,
  ReportTarget,
  SampleDecision,
  SampleEvidence,
  SampleRecord,
  SignedApprovalRecord,
  StageRecord,
} from "./types.ts";

// The hand-written shapes (types.ts, documented) and this schema must describe the same
// report: each pair is mutually assignable, or `deno check` fails here.
type Same<A, B> = [A] extends [B] ? [B] extends [A] ? true : false : false;
type Assert<T extends true> = T;
type _InSync = Assert<
  | Same<T.Report, z.infer<typeof reportSchema>>
  | Same<T.StageRecord, z.infer<typeof stageRecordSchema>>
  | Same<T.Grant, z.infer<typeof grantSchema>>
  | Same<T.CheckRecord, z.infer<typeof checkRecordSchema>>
  | Same<T.GateRecord, z.infer<typeof gateRecordSchema>>
  | Same<T.SampleRecord, z.infer<typeof sampleSchema>>
  | Same<T.SampleEvidence, z.infer<typeof sampleEvidenceSchema>>
  | Same<T.SampleDecision, z.infer<typeof sampleDecisionSchema>>
  | Same<T.GateDecisionRecord, z.infer<typeof gateDecisionSchema>>
  | Same<T.ApprovalRecord, z.infer<typeof approvalRecordSchema>>
  | Same<T.SignedApprovalRecord, z.infer<typeof signedApprovalSchema>>
  | Same<T.GitHubApprovalRecord, z.infer<typeof gitHubApprovalSchema>>
  | Same<T.PlanApprovalEvidence, z.infer<typeof planApprovalEvidenceSchema>>
  | Same<T.AttemptRecord, z.infer<typeof attemptSchema>>
  | Same<T.CallRecord, z.infer<typeof callRecordSchema>>
>;

/**
 * The report's JSON Schema (draft 2020-12), as committed in `schemas/report.schema.json`.
 *
 * @returns The schema as a plain object.
 *
 * @example
 * ```ts
 * import { reportJsonSchema } from "./schema.ts";
 * import assert from "node:assert/strict";
 * assert.equal(reportJsonSchema().$schema, "https://json-schema.org/draft/2020-12/schema");
 * ```
 */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(reportSchema, { target: "draft-2020-12" }) as Record<string, unknown>;
}
