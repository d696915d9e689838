/**
 * `deno task report audit <environment>`: walks the environment's runs in time order and
 * reports every break in their chain — a gap (a deleted run), a replaced run, a run the
 * cluster's record does not know, a run in the cluster's history with no folder, a broken
 * journal — naming the runs and what to do; then DORA's four keys of the window. Exit 0
 * when the chain is whole, 1 when not, 2 on bad usage (nothing read).
 * @module
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../config/duration.ts";
import { ENVIRONMENTS_DIR, listEnvironments, loadEnvironment } from "../config/mod.ts";
import { ConfigError } from "../config/config_error.ts";
import { formatDuration } from "../dsl/duration.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR, SANDBOX_DIR } from "../product/mod.ts";
import { realClock } from "../clock/mod.ts";
import { auditEnvironment, type EnvironmentAudit } from "../audit/audit.ts";
import type { ClusterRecord } from "../audit/cluster_record.ts";
import { readClusterRecord, readRecordFile } from "../audit/cluster_read.ts";
import type { FourKeys } from "../audit/dora.ts";
import { EXIT } from "./command.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report audit`.
 *
 * @example
 * ```ts
 * import { AUDIT_USAGE } from "./report_audit.ts";
 * console.assert(AUDIT_USAGE.startsWith("usage: deno task report audit"));
 * ```
 */
export const AUDIT_USAGE =
  `usage: deno task report audit <environment> [--since 30d|<date>|all] [--until <date>]
         [--record <file> | --sandbox [--sandbox-dir <dir>] | --cluster]
         [--target sandbox|kubernetes] [--runs-dir <dir>] [--environments-dir <dir>]
         [--repo <dir>] [--json]

Walks the environment's runs in time order (each run records the previous one and its final
digest) and reports every problem, naming the runs and what to do: a gap (a deleted run), a
replaced run, a run the cluster's record does not know, a run in the cluster's history with
no folder, a broken journal, a signature that does not verify (or is missing where the
environment requires one: deployment.audit.require_signature). Then DORA's four keys over
the window (docs/dora.md): deployment frequency, lead time for changes, change failure rate,
time to restore.
Exit 0 when the chain is whole, 1 when not, 2 on bad usage (nothing read).
  --since <when>     the window's start: a duration back from --until (30d, 12h, 2w), a date
                     (2026-01-01, or an ISO time), or all (default 30d)
  --until <date>     the window's end (default now)
  --record <file>    check against a saved kubectl get configmap deployment-info -o json
  --sandbox          check against the sandbox's record (its saved state, or the running one)
  --sandbox-dir <d>  the sandbox's state folder (default ${SANDBOX_DIR})
  --cluster          check against the environment's cluster (the kubeconfig's)
                     (without any of these three, the cluster's record is not consulted)
  --target <kind>    audit only the runs that went there (the sandbox, or a cluster): each
                     target's runs form a chain of their own; DORA counts one target's
                     deploys (default kubernetes, or sandbox with --sandbox)
  --runs-dir <dir>   where the run folders are (default ${RUNS_DIR})
  --environments-dir <dir>  where the environment files are (default ${ENVIRONMENTS_DIR})
  --repo <dir>       the git repository the versions' commit times come from (default .)
  --json             the whole audit as JSON`;

/** Where runs go: the sandbox, or a Kubernetes cluster (`connect`'s target kinds). */
const TARGETS = ["sandbox", "kubernetes"];

/** The window's end: a date or ISO time, or `now`. */
function parseDate(flag: string, text: string, nowMs: number): number {
  if (text === "now") return nowMs;
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (!Number.isFinite(ms)) {
    throw new InputError(
      `--${flag} ${JSON.stringify(text)} is not a date: write 2026-01-31 or 2026-01-31T12:00:00Z`,
    );
  }
  return ms;
}

/** `--since`: undefined for `all`. */
function parseSince(text: string, untilMs: number): number | undefined {
  if (text === "all") return undefined;
  const duration = parseDuration(text);
  if (duration) {
    if (!(duration.ms > 0)) {
      throw new InputError(`--since ${text}: the window must be longer than 0`);
    }
    return untilMs - duration.ms;
  }
  if (/^\d{4}-/.test(text)) return parseDate("since", text, untilMs);
  throw new InputError(
    `--since ${JSON.stringify(text)} is neither a duration (30d, 12h, 2w), a date (2026-01-01) ` +
      "nor all",
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isDirectory ?? false;
}

/** The parsed arguments: everything checked before anything is read. */
async function parse(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        since: { type: "string" },
        until: { type: "string" },
        record: { type: "string" },
        sandbox: { type: "boolean" },
        "sandbox-dir": { type: "string" },
        cluster: { type: "boolean" },
        "runs-dir": { type: "string" },
        "environments-dir": { type: "string" },
        repo: { type: "string" },
        target: { type: "string" },
        json: { type: "boolean" },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${AUDIT_USAGE}`);
  }
  const v = parsed.values;
  const [environment, ...extra] = parsed.positionals;
  if (!environment || extra.length > 0) throw new InputError(AUDIT_USAGE);
  const environmentsDir = v["environments-dir"] ?? ENVIRONMENTS_DIR;
  const known = await listEnvironments({ dir: environmentsDir });
  if (!known.includes(environment)) {
    throw new InputError(
      `Unknown environment ${
        JSON.stringify(environment)
      }: no ${environmentsDir}/${environment}.yml ` +
        `(known: ${known.length > 0 ? known.join(", ") : "none"})`,
    );
  }
  let env;
  try {
    env = await loadEnvironment(environment, { dir: environmentsDir });
  } catch (err) {
    if (err instanceof ConfigError) throw new InputError(err.message);
    throw err;
  }
  const nowMs = realClock.now();
  const untilMs = v.until !== undefined ? parseDate("until", v.until, nowMs) : nowMs;
  const sinceMs = parseSince(v.since ?? "30d", untilMs);
  if (sinceMs !== undefined && sinceMs > untilMs) {
    throw new InputError(
      `--since ${v.since} is after --until ${v.until ?? "now"}: nothing to audit`,
    );
  }
  const sources = [v.record !== undefined, v.sandbox === true, v.cluster === true];
  if (sources.filter(Boolean).length > 1) {
    throw new InputError(
      "--record, --sandbox and --cluster: give one (where the cluster's record is)",
    );
  }
  if (v["sandbox-dir"] !== undefined && !v.sandbox) {
    throw new InputError("--sandbox-dir needs --sandbox: it is about the sandbox's record");
  }
  const runsDir = v["runs-dir"] ?? RUNS_DIR;
  if (v["runs-dir"] !== undefined && !(await isDirectory(runsDir))) {
    throw new InputError(`--runs-dir ${runsDir}: no such folder`);
  }
  if (v.target !== undefined && !TARGETS.includes(v.target)) {
    throw new InputError(
      `--target ${JSON.stringify(v.target)}: expected ${
        TARGETS.join(" or ")
      } (where the runs went)`,
    );
  }
  if (v.repo !== undefined && !(await isDirectory(v.repo))) {
    throw new InputError(`--repo ${v.repo}: no such folder`);
  }
  return {
    environment,
    env,
    environmentsDir,
    sinceMs,
    untilMs,
    runsDir,
    repo: v.repo,
    target: v.target,
    json: v.json === true,
    record: v.record,
    sandboxDir: v.sandbox ? v["sandbox-dir"] ?? SANDBOX_DIR : undefined,
    cluster: v.cluster === true,
  };
}

type Parsed = Awaited<ReturnType<typeof parse>>;

/** The cluster's record the arguments name (bad input: exit 2, nothing else read). */
async function recordOf(a: Parsed, io: ReportIo): Promise<ClusterRecord | undefined> {
  if (a.record !== undefined) {
    try {
      return await readRecordFile(a.record);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new InputError(`--record ${a.record}: no such file`);
      }
      if (err instanceof TypeError) throw new InputError(`--record: ${err.message}`);
      throw err;
    }
  }
  if (a.sandboxDir === undefined && !a.cluster) return undefined;
  return await readClusterRecord({
    environment: a.environment,
    environmentsDir: a.environmentsDir,
    sandboxDir: a.sandboxDir,
    onWarning: (line) => io.stderr(`warning: ${line}\n`),
  });
}

const percent = (x: number) => `${(x * 100).toFixed(1).replace(/\.0$/, "")}%`;
const when = (ms: number | null) => (ms === null ? "n/a" : formatDays(ms));

function formatDays(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  if (days === 0) return formatDuration(ms);
  return rest >= 1_000 ? `${days}d${formatDuration(rest)}` : `${days}d`;
}

/** The four keys as text lines. */
function doraLines(k: FourKeys, target: string): string[] {
  const f = k.deploymentFrequency;
  const l = k.leadTime;
  const c = k.changeFailureRate;
  const t = k.timeToRestore;
  return [
    `DORA (${target} runs), ${k.window.since} → ${k.window.until} (${
      k.window.days.toFixed(1).replace(/\.0$/, "")
    } days):`,
    `  deployment frequency    ${f.successful} successful deploys: ${f.perDay.toFixed(2)}/day, ` +
    `${f.perWeek.toFixed(2)}/week${f.bucket ? ` (${f.bucket})` : ""}`,
    `  lead time for changes   median ${when(l.medianMs)} over ${l.samples.length} deploys` +
    (l.missing.length > 0 ? ` (${l.missing.length} without a commit time)` : ""),
    `  change failure rate     ${
      c.rate === null ? "n/a" : percent(c.rate)
    } (${c.failures} of ${c.deploys} deploys that changed the environment)`,
    `  time to restore         median ${when(t.medianMs)} over ${t.restores.length} restores` +
    (t.unrestored.length > 0 ? ` (${t.unrestored.length} failed deploys not restored yet)` : ""),
  ];
}

/** The audit as text lines. */
function textLines(a: EnvironmentAudit): string[] {
  const { chain } = a;
  const lines = [
    `audit ${a.environment}: ${a.runs.length} runs in the window (${chain.counts.chained} chained, ` +
    `${chain.counts.legacy} before chaining, ${chain.counts.dryRuns} dry runs) in ${a.runsDir}`,
  ];
  for (const h of chain.heads) {
    lines.push(
      `head${h.target ? ` (${h.target})` : ""}: ${h.runId} (${h.events} events, ${h.digest})`,
    );
  }
  const cl = chain.cluster;
  lines.push(
    cl.consulted
      ? `cluster record: ${cl.source}: ${cl.verified} of ${cl.checkpoints} checkpoints match their journals`
      : `cluster record: ${cl.reason}`,
  );
  if (a.signatures) {
    lines.push(
      `signatures: ${a.signatures.verified} verified, ${a.signatures.unsigned} unsigned, ` +
        `${a.signatures.invalid} not verifying`,
    );
  }
  for (const n of chain.notes) lines.push(`note: ${n}`);
  if (a.problems.length === 0) lines.push("chain: whole ✓");
  else {
    lines.push(`chain: ${a.problems.length} problem${a.problems.length === 1 ? "" : "s"}:`);
    for (const p of a.problems) lines.push(`  ✗ ${p.kind}: ${p.message}`, `    → ${p.fix}`);
  }
  const left = a.doraTarget.leftOut;
  return [
    ...lines,
    ...doraLines(a.dora, a.doraTarget.target),
    ...(left > 0
      ? [`  (${left} runs of other targets left out: --target to count those instead)`]
      : []),
  ];
}

/**
 * Runs `report audit`.
 *
 * @param args The arguments after `report audit`.
 * @param io Where to write.
 * @returns 0 when the chain is whole, 1 when not.
 * @throws {InputError} On bad usage (an unknown environment, a bad `--since`, a missing
 * `--record` file, a cluster that cannot be reached): nothing of the runs was read.
 *
 * @example
 * ```ts
 * import { auditCommand } from "./report_audit.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {} };
 * await assert.rejects(() => auditCommand([], io), /usage: deno task report audit/);
 * await assert.rejects(() => auditCommand(["staging", "--since", "soon"], io), /--since/);
 * ```
 */
export async function auditCommand(args: string[], io: ReportIo): Promise<number> {
  const a = await parse(args);
  const record = await recordOf(a, io);
  const audit = await auditEnvironment({
    // Checked with the keys the environment file trusts, and its rule.
    signatures: { env: a.env, sandboxDir: a.sandboxDir ?? SANDBOX_DIR },
    runsDir: a.runsDir,
    environment: a.environment,
    sinceMs: a.sinceMs,
    untilMs: a.untilMs,
    record,
    repo: a.repo,
    target: a.target,
    // The sandbox's record is the sandbox runs'; the cluster's, the cluster runs'.
    ...(a.sandboxDir !== undefined
      ? { recordTarget: "sandbox" }
      : a.cluster
      ? { recordTarget: "kubernetes" }
      : {}),
    doraTarget: a.target ?? (a.sandboxDir !== undefined ? "sandbox" : "kubernetes"),
  });
  if (a.json) io.stdout(JSON.stringify(audit, null, 2) + "\n");
  else io.stdout(textLines(audit).join("\n") + "\n");
  return audit.ok ? EXIT.ok : EXIT.failed;
}
