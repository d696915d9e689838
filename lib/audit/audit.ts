/**
 * The whole audit of an environment over a window, what `deno task report audit` prints:
 * its runs read back ({@linkcode readRunHistory}), the chain across time and the cluster's
 * record checked ({@linkcode auditChain}), each run's signature (`checkRunSignature`: a
 * run that does not verify, or is unsigned where a signature is required, is a problem),
 * and DORA's four keys ({@linkcode fourKeys}) with commit times from git.
 * @module
 */
import { readRunHistory } from "./history.ts";
import type { AuditedRun } from "./history.ts";
import { auditChain, type AuditProblem, type ChainAudit } from "./chain.ts";
import type { ClusterRecord } from "./cluster_record.ts";
import { type FourKeys, fourKeys } from "./dora.ts";
import { commitTimes } from "./commit_times.ts";
import { type CheckedReport, checkRunSignature, type SignatureCheckOptions } from "./signature.ts";

/** What the audit says of one run's signature. */
export interface SignatureVerdict {
  /** Verified against a trusted key, not signed, or signed and not verifying. */
  readonly status: "verified" | "unsigned" | "invalid";
  /** Whether that is acceptable (unsigned is, where no signature is required). */
  readonly ok: boolean;
  /** One line for people. */
  readonly message: string;
}

/** Options of {@linkcode auditEnvironment}. */
export interface AuditOptions {
  /** The runs folder. */
  readonly runsDir: string;
  /** The environment. */
  readonly environment: string;
  /** The window's start (epoch ms); undefined: from the first run. */
  readonly sinceMs?: number | undefined;
  /** The window's end (epoch ms), e.g. now. */
  readonly untilMs: number;
  /** The cluster's record; undefined: not consulted. */
  readonly record?: ClusterRecord | undefined;
  /** Why the cluster was not consulted (when `record` is undefined). */
  readonly notConsulted?: string | undefined;
  /** The git repository commit times are read from (default: the working directory). */
  readonly repo?: string | undefined;
  /** The pipelines whose runs roll a deploy back (default `["rollback"]`). */
  readonly rollbackPipelines?: readonly string[] | undefined;
  /** Audit only the chain of runs that went to this target (`sandbox`, `kubernetes`). */
  readonly target?: string | undefined;
  /**
   * The target the cluster's record is of (default: `target`, else that of the runs its
   * history names): the runs it must know went there.
   */
  readonly recordTarget?: string | undefined;
  /**
   * The target whose deploys DORA counts (default `kubernetes`: a sandbox rehearsal is not a
   * deploy); runs whose target is not recorded count too.
   */
  readonly doraTarget?: string | undefined;
  /**
   * Check each run's signature (`signature.json`) with these keys and rules (the
   * environment file's trusted keys and `require_signature`); without it, not checked.
   */
  readonly signatures?: SignatureCheckOptions | undefined;
}

/** One run of the window, as the audit lists it. */
export interface AuditedRunSummary {
  /** The run's id. */
  readonly runId: string;
  /** Its pipeline. */
  readonly pipeline: string;
  /** The version it deployed, when its pipeline takes one. */
  readonly version: string | undefined;
  /** Whether it was a dry run. */
  readonly dryRun: boolean;
  /** How it ended (`unfinished`: its runner died). */
  readonly status: string;
  /** When it started. */
  readonly startedAt: string;
  /** When it finished, when it did. */
  readonly finishedAt: string | undefined;
  /** Where it went (`sandbox`, `kubernetes`), when recorded. */
  readonly target: string | undefined;
  /** The previous run it records (null: the first; undefined: before chaining). */
  readonly previous: string | null | undefined;
  /** Its journal's final digest. */
  readonly digest: string;
  /** How many lines its journal has. */
  readonly events: number;
  /** Its signature, when checked. */
  readonly signature?: SignatureVerdict["status"] | undefined;
}

/**
 * The audit of an environment.
 *
 * @example
 * ```ts
 * import type { EnvironmentAudit } from "./audit.ts";
 * const whole = (a: EnvironmentAudit) => a.ok;
 * ```
 */
export interface EnvironmentAudit {
  /** The environment. */
  readonly environment: string;
  /** The runs folder. */
  readonly runsDir: string;
  /** The runs in the window, oldest first. */
  readonly runs: readonly AuditedRunSummary[];
  /** The chain and the cluster's record. */
  readonly chain: ChainAudit;
  /** Every problem (the chain's, then signatures'). */
  readonly problems: readonly AuditProblem[];
  /** How many runs were signed and verified, unsigned, invalid; null when not checked. */
  readonly signatures:
    | { readonly verified: number; readonly unsigned: number; readonly invalid: number }
    | null;
  /** DORA's four keys over the window, of the runs that went to `doraTarget`. */
  readonly dora: FourKeys;
  /** The target DORA counted, and how many runs of other targets it left out. */
  readonly doraTarget: { readonly target: string; readonly leftOut: number };
  /** Whether the chain is whole (no problem). */
  readonly ok: boolean;
}

/** A run's signature: against its report, or (none: its runner died) its journal's data. */
async function signatureOf(
  run: AuditedRun,
  options: SignatureCheckOptions,
): Promise<SignatureVerdict> {
  let report: CheckedReport;
  try {
    report = JSON.parse(await Deno.readTextFile(`${run.dir}/report.json`));
    if (typeof report?.runId !== "string" || typeof report.events?.digest !== "string") {
      throw new TypeError("not a report");
    }
  } catch {
    report = {
      runId: run.runId,
      environment: run.environment,
      pipeline: { name: run.pipeline },
      ...(run.version !== undefined ? { version: run.version } : {}),
      status: run.status,
      events: { count: run.journal.lines, digest: run.journal.digest },
    };
  }
  const check = await checkRunSignature(run.dir, report, options);
  return {
    status: check.state === "signed" ? "verified" : check.state,
    ok: check.ok,
    message: check.message,
  };
}

/**
 * Audits an environment: its chain of runs, the cluster's record, signatures, DORA.
 *
 * @param options The runs folder, the environment, the window, the cluster's record, the
 * git repository, the keys and rules signatures are checked with.
 * @returns The audit (of no runs when the runs folder does not exist).
 *
 * @example
 * ```ts
 * import { auditEnvironment } from "./audit.ts";
 * import assert from "node:assert/strict";
 * const runsDir = await Deno.makeTempDir();
 * const audit = await auditEnvironment({ runsDir, environment: "staging", untilMs: 0 });
 * assert.equal(audit.ok, true);
 * assert.equal(audit.runs.length, 0);
 * await Deno.remove(runsDir);
 * ```
 */
export async function auditEnvironment(options: AuditOptions): Promise<EnvironmentAudit> {
  const { runsDir, environment, untilMs } = options;
  const history = await readRunHistory(runsDir, { environment });
  const named = new Set(options.record?.history?.map((c) => c.runId) ?? []);
  const recordTarget = options.recordTarget ?? options.target ??
    history.runs.find((r) => named.has(r.runId) && r.target !== undefined)?.target;
  const chain = auditChain(history, {
    runsDir,
    sinceMs: options.sinceMs,
    untilMs,
    record: options.record,
    notConsulted: options.notConsulted,
    target: options.target,
    recordTarget,
  });
  const sinceMs = options.sinceMs ??
    Math.min(untilMs, ...history.runs.map((r) => Date.parse(r.startedAt)).filter(Number.isFinite));
  const inWindow = (r: AuditedRun) => {
    const t = Date.parse(r.startedAt);
    return t >= sinceMs && t <= untilMs;
  };
  const windowed = history.runs.filter((r) =>
    inWindow(r) &&
    (options.target === undefined || r.target === undefined || r.target === options.target)
  );
  const problems: AuditProblem[] = [...chain.problems];
  const verdicts = new Map<string, SignatureVerdict>();
  if (options.signatures) {
    for (const run of windowed.filter((r) => !r.dryRun)) {
      const verdict = await signatureOf(run, options.signatures);
      verdicts.set(run.runId, verdict);
      if (!verdict.ok) {
        problems.push({
          kind: "signature",
          runIds: [run.runId],
          message: `${run.runId}: ${verdict.message}`,
          fix: verdict.status === "unsigned"
            ? "sign runs (deployment.audit.signing_key), or say the environment does not " +
              "require it (deployment.audit.require_signature: false)"
            : `its files were changed after it was signed: deno task report verify ${run.runId}`,
        });
      }
    }
  }
  const signed = [...verdicts.values()];
  const commits = await commitTimes(
    history.runs.filter((r) => !r.dryRun),
    options.repo !== undefined ? { repo: options.repo } : {},
  );
  const doraTarget = options.doraTarget ?? "kubernetes";
  const counted = history.runs.filter((r) => r.target === undefined || r.target === doraTarget);
  const dora = fourKeys(counted, {
    sinceMs,
    untilMs,
    commits,
    ...(options.rollbackPipelines ? { rollbackPipelines: options.rollbackPipelines } : {}),
  });
  return {
    environment,
    runsDir,
    runs: windowed.map((r) => ({
      runId: r.runId,
      pipeline: r.pipeline,
      version: r.version,
      dryRun: r.dryRun,
      status: r.status,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      target: r.target,
      previous: r.previous === undefined ? undefined : r.previous?.runId ?? null,
      digest: r.journal.digest,
      events: r.journal.lines,
      ...(verdicts.has(r.runId) ? { signature: verdicts.get(r.runId)!.status } : {}),
    })),
    chain,
    problems,
    signatures: options.signatures
      ? {
        verified: signed.filter((v) => v.status === "verified").length,
        unsigned: signed.filter((v) => v.status === "unsigned").length,
        invalid: signed.filter((v) => v.status === "invalid").length,
      }
      : null,
    dora,
    doraTarget: {
      target: doraTarget,
      leftOut: windowed.filter((r) => !counted.includes(r)).length,
    },
    ok: problems.length === 0,
  };
}
