/**
 * `deno task report verify <run-id|run-dir>` (short: `report <run-id>`): validates a run's report against its schema,
 * verifies the journal's hash chain against the digest the report recorded, and
 * prints a summary (or the report with `--json`).
 * @module
 */
import { parseArgs } from "node:util";
import { formatDuration } from "../dsl/duration.ts";
import { verifyJournal } from "../journal/journal.ts";
import { reportSchema } from "../report/schema.ts";
import type { PlanApprovalEvidence, Report, SignedApprovalRecord } from "../report/types.ts";
import { approvalStatement } from "../approval/approvals.ts";
import { fingerprintOf, readPublicKey, verifyText } from "../approval/signatures.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { rebuildReport } from "../runner/rebuild.ts";
import { readRunStart } from "../runner/resume_run.ts";
import { EXIT } from "./command.ts";

/**
 * The usage of `report verify`.
 *
 * @example
 * ```ts
 * import { VERIFY_USAGE } from "./report_verify.ts";
 * console.assert(VERIFY_USAGE.startsWith("usage: deno task report"));
 * ```
 */
export const VERIFY_USAGE =
  `usage: deno task report [verify] <run-id|run-dir> [--runs-dir <dir>] [--json]

Validates a run's report.json against its schema, verifies the journal's hash chain against
the digest the report recorded, re-verifies every approval's signature (✓/✗ each; approvals
given on GitHub are listed, not signed), and prints a summary (exit 1 when any does not hold).
  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR})
  --json            the report and the journal's verification as JSON`;

/**
 * Where the report command writes.
 *
 * @example
 * ```ts
 * import type { ReportIo } from "./report.ts";
 * const io: ReportIo = { stdout: () => {}, stderr: () => {} };
 * io.stdout("ok\n");
 * ```
 */
export interface ReportIo {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error. */
  readonly stderr: (text: string) => void;
}

/**
 * Runs `report verify`.
 *
 * @returns 0 when the report is valid and its journal verifies; 1 when not.
 * @throws {InputError} On bad usage or an unknown run.
 *
 * @example
 * ```ts
 * import { verifyCommand } from "./report_verify.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {} };
 * await assert.rejects(() => verifyCommand([], io), /usage: deno task report/);
 * ```
 */
export async function verifyCommand(args: string[], io: ReportIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "runs-dir": { type: "string" }, json: { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const [which] = parsed.positionals;
  if (!which || parsed.positionals.length > 1) {
    throw new InputError(VERIFY_USAGE);
  }
  const runsDir = parsed.values["runs-dir"] ?? RUNS_DIR;
  const candidates = [which, `${runsDir}/${which}`];
  let dir: string | undefined;
  for (const c of candidates) {
    try {
      if ((await Deno.stat(`${c}/report.json`)).isFile) dir = c;
    } catch { /* try the next */ }
    if (dir) break;
  }
  if (!dir) {
    // A run whose runner died wrote no report: rebuilt from its journal (status interrupted).
    for (const c of candidates) {
      const journal = await Deno.stat(`${c}/events.jsonl`).catch(() => null);
      if (!journal?.isFile) continue;
      if (!(await readRunStart(c).catch(() => null))) continue;
      await rebuildReport(c);
      io.stderr(`${c}: no report.json (its runner died): rebuilt from the journal\n`);
      dir = c;
      break;
    }
  }
  if (!dir) throw new InputError(`No run "${which}": no report.json in ${candidates.join(" or ")}`);
  const raw = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  const checked = reportSchema.safeParse(raw);
  if (!checked.success) {
    io.stderr(`report ${dir}/report.json does not match the schema:\n`);
    for (const issue of checked.error.issues) {
      io.stderr(`  ${issue.path.join(".")}: ${issue.message}\n`);
    }
    return EXIT.failed;
  }
  const report = checked.data;
  const chain = await verifyJournal(`${dir}/${report.events.file}`, {
    digest: report.events.digest,
  });
  const approvals = await verifyEvidence(report);
  const signaturesOk = approvals.every((a) => a.ok);
  if (parsed.values.json) {
    io.stdout(JSON.stringify({ report, journal: chain, approvals }, null, 2) + "\n");
    return chain.ok && signaturesOk ? EXIT.ok : EXIT.failed;
  }
  io.stdout(
    `${report.runId}: ${report.pipeline.name} → ${report.environment}${
      report.version ? ` @ ${report.version}` : ""
    } ${report.status}${report.dryRun ? " (dry run)" : ""} in ${
      formatDuration(report.durationMs)
    }\n` +
      `by ${report.who.user}@${report.who.host} at ${report.startedAt}, commit ${
        report.git.commit ?? "unknown"
      }${report.git.dirty ? " (dirty tree)" : ""}\n`,
  );
  for (const s of report.stages) {
    io.stdout(
      `  ${s.status.padEnd(11)} ${s.id}${s.reason ? `: ${s.reason}` : ""}${
        s.permissions.fullTrust ? "  [full trust]" : ""
      }\n`,
    );
  }
  if (report.rollback.performed) {
    io.stdout(`rollback: ${report.rollback.succeeded ? "succeeded" : "FAILED"}\n`);
  }
  for (const line of approvalLines(report, approvals)) io.stdout(`${line}\n`);
  io.stdout(
    chain.ok
      ? `journal: ${chain.lines} events, chain verified, digest ${chain.digest}\n`
      : `journal: BROKEN at line ${chain.brokenAt}: ${chain.reason}\n`,
  );
  return chain.ok && signaturesOk ? EXIT.ok : EXIT.failed;
}

/** One approval in a report, re-verified (a GitHub one: listed, nothing to verify). */
interface VerifiedApproval {
  readonly where: string;
  readonly name: string;
  readonly email: string;
  /** The key's fingerprint, or `@login` for a GitHub approval. */
  readonly identity: string;
  readonly at: string;
  readonly rehearsal: boolean;
  readonly github?: string | undefined;
  readonly ok: boolean;
  readonly reason?: string;
}

/** Every approval evidence in a report: the run's (`target.approvals`) and each stage's. */
function evidenceOf(report: Report): { where: string; evidence: PlanApprovalEvidence }[] {
  const out: { where: string; evidence: PlanApprovalEvidence }[] = [];
  if (report.target.approvals) out.push({ where: "plan", evidence: report.target.approvals });
  for (const s of report.stages) {
    if (s.approval?.evidence) out.push({ where: `stage ${s.id}`, evidence: s.approval.evidence });
  }
  return out;
}

/** Why a signed approval does not verify with the public key it names, or undefined. */
async function signatureProblem(
  a: SignedApprovalRecord,
  evidence: PlanApprovalEvidence,
  report: Report,
): Promise<string | undefined> {
  const key = await readPublicKey(a.publicKey, `${a.email}'s key`).catch(() => null);
  if (!key) return "its public key is not an Ed25519 key";
  if (await fingerprintOf(a.publicKey) !== a.fingerprint) {
    return "its public key does not have the fingerprint recorded";
  }
  if (a.digest !== evidence.planDigest) {
    return `it signs ${a.digest}, not the plan that ran (${evidence.planDigest})`;
  }
  if (a.environment !== report.environment || a.version !== report.version) {
    return `it signs ${a.environment} ${a.version}, not this run's`;
  }
  const statement = approvalStatement({
    digest: a.digest,
    environment: a.environment,
    version: a.version,
    approver: a.email,
    fingerprint: a.fingerprint,
    signedAt: a.signedAt,
    ...(a.comment !== undefined ? { comment: a.comment } : {}),
  });
  return await verifyText(key, statement, a.signature)
    ? undefined
    : "the signature does not verify (the report was altered)";
}

/**
 * Re-verifies each signed approval's signature with the public key it names (and its
 * fingerprint); a GitHub approval is not signed: it is listed (GitHub vouched for the login),
 * checked only to be of the plan that ran.
 */
async function verifyEvidence(report: Report): Promise<VerifiedApproval[]> {
  const out: VerifiedApproval[] = [];
  for (const { where, evidence } of evidenceOf(report)) {
    for (const a of evidence.approvals) {
      if (a.kind === "github") {
        const base = {
          where,
          name: a.name,
          email: a.email,
          identity: `@${a.github}`,
          at: a.at,
          rehearsal: false,
          github: a.url,
        };
        out.push(
          a.digest === evidence.planDigest ? { ...base, ok: true } : {
            ...base,
            ok: false,
            reason: `it approves ${a.digest}, not the plan that ran (${evidence.planDigest})`,
          },
        );
        continue;
      }
      const base = {
        where,
        name: a.name,
        email: a.email,
        identity: a.fingerprint,
        at: a.signedAt,
        rehearsal: a.rehearsal,
      };
      const reason = await signatureProblem(a, evidence, report);
      out.push(reason ? { ...base, ok: false, reason } : { ...base, ok: true });
    }
  }
  return out;
}

function approvalLines(report: Report, verified: readonly VerifiedApproval[]): string[] {
  const lines: string[] = [];
  for (const { where, evidence } of evidenceOf(report)) {
    lines.push(
      `approvals (${where}, ${evidence.source}): plan ${evidence.planDigest}, ${evidence.required} ` +
        `required, deployer ${evidence.deployer}`,
    );
    for (const v of verified.filter((x) => x.where === where)) {
      lines.push(
        `  ${v.ok ? "✓" : "✗"} ${v.name} <${v.email}> ${v.identity} at ${v.at}${
          v.rehearsal ? " (rehearsal approver)" : ""
        }${v.github ? ` (on GitHub, not signed: ${v.github})` : ""}${v.ok ? "" : `: ${v.reason}`}`,
      );
    }
  }
  return lines;
}
