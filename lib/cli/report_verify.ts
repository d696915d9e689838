/**
 * `deno task report verify <run-id|run-dir>` (short: `report <run-id>`): checks a run's
 * report against its journal, the source of truth (`lib/report/verify.ts`: the chain, every
 * field the journal states, the digest of the rest), re-verifies its approvals' signatures,
 * and prints a summary naming the first field that disagrees (or, with `--json`, the
 * verification, the report and the approvals).
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../dsl/duration.ts";
import { reportSchema } from "../report/schema.ts";
import { type ReportVerification, verifyReport } from "../report/verify.ts";
import type { PlanApprovalEvidence, Report, SignedApprovalRecord } from "../report/types.ts";
import { approvalStatement } from "../approval/approvals.ts";
import { fingerprintOf, readPublicKey, verifyText } from "../approval/signatures.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR, SANDBOX_DIR } from "../product/mod.ts";
import { checkRunSignature, type RunSignatureCheck } from "../audit/signature.ts";
import { ConfigError, loadEnvironment } from "../config/mod.ts";
import type { Environment } from "../config/types.ts";
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
  `usage: deno task report [verify] <run-id|run-dir> [--runs-dir <dir>] [--environments-dir <dir>]
       [--sandbox-dir <dir>] [--json]

Checks a run's report.json against its journal (events.jsonl, the source of truth): the
journal's hash chain, then every field the journal states (the run's status, each stage's
status, reason, attempts, checks, gates with every sample, approvals, the rollback, the
error...), then the digest run.finished recorded of the whole report; re-verifies every
approval's signature (✓/✗ each; approvals given on GitHub are listed, not signed), and checks
the run's own signature (signature.json) against the public keys the environment file trusts
(deployment.audit.public_keys; a sandbox run: the sandbox's key). An unsigned run is "unsigned":
accepted unless deployment.audit.require_signature (by default: production requires one). Exit 1
when any does not hold, naming the first field that disagrees and the journal's line.
A run whose runner died has no report: it is rebuilt from the journal first.
  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR})
  --environments-dir <dir>  where the environment files are (default environments/)
  --sandbox-dir <dir>       the sandbox whose key signs sandbox runs (default: the sandbox
                            folder beside the runs folder, else ${SANDBOX_DIR})
  --json            the verification (fields checked, first mismatch), the report and the
                    approvals as JSON`;

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
      options: {
        "runs-dir": { type: "string" },
        "environments-dir": { type: "string" },
        "sandbox-dir": { type: "string" },
        json: { type: "boolean" },
      },
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
  if (!(await Deno.stat(`${dir}/events.jsonl`).catch(() => null))?.isFile) {
    throw new InputError(`Cannot verify ${dir}: it has a report.json but no events.jsonl`);
  }
  const verification = await verifyReport(dir);
  // The report as far as it parses: a summary, and its approvals re-verified.
  const checked = reportSchema.safeParse(await readJson(`${dir}/report.json`));
  const report = checked.success ? checked.data : undefined;
  const approvals = report ? await verifyEvidence(report) : [];
  const signaturesOk = approvals.every((a) => a.ok);
  const signature = report
    ? await runSignature(dir, report, {
      environmentsDir: parsed.values["environments-dir"],
      sandboxDir: parsed.values["sandbox-dir"],
    })
    : undefined;
  const ok = verification.ok && signaturesOk && (signature?.ok ?? false);
  if (parsed.values.json) {
    io.stdout(
      JSON.stringify(
        { verification, report, journal: verification.journal, approvals, signature },
        null,
        2,
      ) +
        "\n",
    );
    return ok ? EXIT.ok : EXIT.failed;
  }
  if (report) printSummary(report, io);
  for (const line of approvalLines(report, approvals)) io.stdout(`${line}\n`);
  const chain = verification.journal;
  io.stdout(
    chain.ok
      ? `journal: ${chain.lines} events, chain verified, digest ${chain.digest}\n`
      : `journal: BROKEN at line ${chain.brokenAt}: ${chain.reason}\n`,
  );
  io.stdout(`${verificationLine(verification)}\n`);
  if (signature) {
    io.stdout(
      `signature: ${signature.state === "invalid" ? "INVALID: " : ""}${signature.message}\n`,
    );
  }
  return ok ? EXIT.ok : EXIT.failed;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

/** Who ran what, where, and how each stage ended. */
function printSummary(report: Report, io: ReportIo): void {
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
}

/** The report against its journal, in one line. */
function verificationLine(v: ReportVerification): string {
  if (v.mismatch) return `report: DOES NOT VERIFY: ${v.mismatch.message}`;
  const what = v.derived === "rebuilt"
    ? "rebuilt from the journal of a run whose runner died: every field re-derived"
    : v.derived === "legacy"
    ? "the journal predates derivable reports: only the run's and its stages' status re-derived"
    : "re-derived from the journal";
  const digest = v.digest === "matched"
    ? `; the rest matches the digest run.finished recorded (line ${v.digestLine})`
    : "";
  return `report: verified, ${v.fields} fields ${what}${digest}`;
}

/**
 * The sandbox folder beside the runs folder that holds `dir` (`<state>/runs/<id>` →
 * `<state>/sandbox`, as `--runs-dir x/runs --sandbox-dir x/sandbox` keep them), else the
 * default {@linkcode SANDBOX_DIR}.
 */
async function besideRuns(dir: string): Promise<string> {
  const beside = join(dirname(dirname(resolve(dir))), "sandbox");
  return (await Deno.stat(beside).catch(() => null))?.isDirectory ? beside : SANDBOX_DIR;
}

/**
 * The run's signature (`signature.json`), checked against the public keys its environment
 * file trusts (and the sandbox's key for a sandbox run), and whether an unsigned run is
 * acceptable there (`deployment.audit.require_signature`; production requires one by
 * default). An environment file that cannot be read is said, and the signature then checked
 * with no file's keys (an unsigned production run still fails).
 */
async function runSignature(
  dir: string,
  report: Report,
  o: { environmentsDir: string | undefined; sandboxDir: string | undefined },
): Promise<RunSignatureCheck> {
  let env: Environment | undefined;
  let note = "";
  try {
    env = await loadEnvironment(
      report.environment,
      o.environmentsDir ? { dir: o.environmentsDir } : {},
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    note = ` (environment file of ${report.environment} not read: ${err.message.split("\n")[0]})`;
  }
  const check = await checkRunSignature(dir, report, {
    ...(env ? { env } : {}),
    sandboxDir: o.sandboxDir ?? await besideRuns(dir),
  });
  // A run whose runner died never got to sign: its report is rebuilt from the journal alone
  // (verified above, field by field); resuming it finishes and signs the run.
  const died = check.state === "unsigned" && report.rebuilt === true
    ? {
      ...check,
      ok: true,
      message: `unsigned: its runner died before signing (the report is rebuilt from the ` +
        `journal); resume it and the resumed run is signed: deno task resume ${report.runId}`,
    }
    : check;
  return note ? { ...died, message: died.message + note } : died;
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

function approvalLines(
  report: Report | undefined,
  verified: readonly VerifiedApproval[],
): string[] {
  const lines: string[] = [];
  if (!report) return lines;
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
