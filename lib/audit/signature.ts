/**
 * Checking a run's signature (`<run>/signature.json`, see `run_statement.ts`): the envelope
 * verifies against a key the environment file trusts (`deployment.audit.public_keys`; the
 * sandbox's own key for a sandbox run only), and what it signs matches the run — the report's
 * id, environment, pipeline, version, status and journal digest, `report.json`'s bytes, the
 * journal's last line, and the previous run its `run.started` names. A journal re-chained
 * (every hash recomputed) and a report edited to match are caught: their digests are not the
 * signed ones, and signing again needs the key.
 * @module
 */
import { canonicalJson, fingerprintOf } from "../approval/signatures.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import { verifyEnvelope } from "./dsse.ts";
import { journalHead, readChainedRun } from "./run_link.ts";
import {
  fileSha256,
  RUN_PAYLOAD_TYPE,
  SIGNATURE_FILE,
  type SignedReport,
} from "./run_statement.ts";
import { type AuditedEnvironment, sandboxPublicKey } from "./signing_key.ts";

/**
 * What {@linkcode checkRunSignature} found: `signed` (and it holds), `unsigned` (no
 * `signature.json`; `ok` unless a signature is required), or `invalid` (it does not hold:
 * `message` says where).
 *
 * @example
 * ```ts
 * import type { RunSignatureCheck } from "./signature.ts";
 * const c: RunSignatureCheck = { state: "unsigned", ok: true, message: "unsigned" };
 * ```
 */
export interface RunSignatureCheck {
  /** Whether the run is signed, unsigned, or its signature does not hold. */
  readonly state: "signed" | "unsigned" | "invalid";
  /** Whether this is acceptable: signed, or unsigned where no signature is required. */
  readonly ok: boolean;
  /** The signing key's fingerprint, when signed (or when the key is known but untrusted). */
  readonly keyid?: string;
  /** One line for people. */
  readonly message: string;
  /** True when it was signed by the sandbox's own key (trusted for sandbox runs only). */
  readonly sandboxKey?: boolean;
}

/**
 * What {@linkcode checkRunSignature} trusts and requires.
 *
 * @example
 * ```ts
 * import type { SignatureCheckOptions } from "./signature.ts";
 * const o: SignatureCheckOptions = { requireSignature: true, publicKeys: [] };
 * ```
 */
export interface SignatureCheckOptions {
  /**
   * The run's environment file: its `deployment.audit.public_keys` are trusted and its
   * `require_signature` applies.
   */
  readonly env?: Pick<AuditedEnvironment, "deployment"> | undefined;
  /** More public keys to trust (one base64 SPKI line or PEM each). */
  readonly publicKeys?: readonly string[] | undefined;
  /**
   * The sandbox's state folder (default `SANDBOX_DIR` of `lib/product`): its key is trusted for a run
   * whose report says it ran in the sandbox (`target.kind: sandbox`), and for no other.
   */
  readonly sandboxDir?: string | undefined;
  /**
   * Whether an unsigned run fails (default: the environment file's `require_signature`, else
   * true for the environment named `production`, false for the others).
   */
  readonly requireSignature?: boolean | undefined;
}

/**
 * Whether runs of an environment must be signed: `deployment.audit.require_signature`, by
 * default true for the environment named `production` and false for the others.
 *
 * @param environment The environment's name.
 * @param env Its environment file, when loaded.
 * @returns Whether an unsigned run fails verification.
 *
 * @example
 * ```ts
 * import { signatureRequired } from "./signature.ts";
 * console.assert(signatureRequired("production"));
 * console.assert(!signatureRequired("staging"));
 * ```
 */
export function signatureRequired(
  environment: string,
  env?: Pick<AuditedEnvironment, "deployment"> | undefined,
): boolean {
  return env?.deployment.audit?.require_signature ?? environment === "production";
}

/**
 * A run's report as {@linkcode checkRunSignature} reads it: what its statement names, and
 * where it ran (`target.kind`, `sandbox` for a sandbox run).
 *
 * @example
 * ```ts
 * import type { CheckedReport } from "./signature.ts";
 * const r: CheckedReport = {
 *   runId: "r1", environment: "dev", pipeline: { name: "deploy" }, status: "succeeded",
 *   events: { count: 1, digest: "0".repeat(64) }, target: { kind: "sandbox" },
 * };
 * ```
 */
export type CheckedReport = SignedReport & {
  /** Where the run went. */
  readonly target?: { readonly [key: string]: unknown };
};

/** The first field the signed statement and the run disagree on, as a sentence. */
function disagreement(
  signed: Record<string, unknown>,
  report: CheckedReport,
): string | undefined {
  const events = (signed.events ?? {}) as { count?: unknown; digest?: unknown };
  const fields: [string, unknown, unknown][] = [
    ["runId", signed.runId, report.runId],
    ["environment", signed.environment, report.environment],
    ["pipeline", signed.pipeline, report.pipeline.name],
    ["version", signed.version, report.version],
    ["status", signed.status, report.status],
    ["events.count", events.count, report.events.count],
    ["events.digest", events.digest, report.events.digest],
  ];
  for (const [field, was, is] of fields) {
    if (was !== is) {
      return `the signature says ${field} ${JSON.stringify(was ?? null)}, the report says ${
        JSON.stringify(is ?? null)
      } (the report was changed after the run was signed)`;
    }
  }
  return undefined;
}

/** Why the signed statement does not match the run's files, or undefined. */
async function fileProblem(
  runDir: string,
  signed: Record<string, unknown>,
): Promise<string | undefined> {
  const reportSha = await fileSha256(`${runDir}/report.json`).catch(() => null);
  const signedSha = (signed.report as { sha256?: unknown } | undefined)?.sha256;
  if (reportSha !== signedSha) {
    return reportSha === null
      ? "report.json cannot be read"
      : "report.json's bytes are not the ones signed (the report was changed after the run was signed)";
  }
  const events = (signed.events ?? {}) as { count?: unknown; digest?: unknown };
  const head = await journalHead(`${runDir}/events.jsonl`).catch(() => null);
  if (!head) return "events.jsonl cannot be read";
  if (head.events !== events.count || head.digest !== events.digest) {
    return `the journal (${head.events} lines, last line's hash ${head.digest.slice(0, 12)}…) ` +
      `is not the one signed (${String(events.count)} lines, ${
        String(events.digest).slice(0, 12)
      }…): events.jsonl was changed or re-chained after the run was signed`;
  }
  const started = await readChainedRun(runDir);
  const previous = started?.previous ?? null;
  if (canonicalJson(signed.previous ?? null) !== canonicalJson(previous)) {
    return `the journal's run.started links to ${
      previous ? `run ${previous.runId}` : "no previous run"
    }, the signature to ${
      signed.previous ? `run ${(signed.previous as { runId?: unknown }).runId}` : "none"
    } (the run's place in the chain was changed)`;
  }
  return undefined;
}

/**
 * Checks a run's signature (`<runDir>/signature.json`) against the keys trusted and the run's
 * report, journal and chain link. Never throws for a missing or malformed signature: the
 * answer says so.
 *
 * @param runDir The run's folder.
 * @param report Its report (as parsed from its `report.json`).
 * @param opts The environment file (trusted keys, `require_signature`), more keys, the
 *   sandbox's folder.
 * @returns `signed`, `unsigned` or `invalid`, whether that is acceptable, and why.
 *
 * @example
 * ```ts
 * import { checkRunSignature } from "./signature.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const report = {
 *   runId: "r1", environment: "production", pipeline: { name: "deploy" }, status: "succeeded",
 *   events: { count: 1, digest: "0".repeat(64) },
 * };
 * const check = await checkRunSignature(dir, report, {});
 * assert.equal(check.state, "unsigned");
 * assert.equal(check.ok, false); // production requires a signature by default
 * await Deno.remove(dir);
 * ```
 */
export async function checkRunSignature(
  runDir: string,
  report: CheckedReport,
  opts: SignatureCheckOptions = {},
): Promise<RunSignatureCheck> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${runDir}/${SIGNATURE_FILE}`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      return { state: "invalid", ok: false, message: `${SIGNATURE_FILE} cannot be read` };
    }
    const required = opts.requireSignature ?? signatureRequired(report.environment, opts.env);
    return {
      state: "unsigned",
      ok: !required,
      message: required
        ? `unsigned: ${report.environment} requires a signed run (deployment.audit.require_signature)`
        : `unsigned (${report.environment} does not require a signature)`,
    };
  }
  const invalid = (message: string, keyid?: string): RunSignatureCheck => ({
    state: "invalid",
    ok: false,
    ...(keyid ? { keyid } : {}),
    message,
  });
  let envelope: { payloadType?: unknown; signatures?: { keyid?: unknown }[] };
  try {
    envelope = JSON.parse(text);
  } catch {
    return invalid(`${SIGNATURE_FILE} is not JSON`);
  }
  if (envelope?.payloadType !== RUN_PAYLOAD_TYPE) {
    return invalid(
      `${SIGNATURE_FILE} is not a run's signature (payloadType ${
        JSON.stringify(envelope?.payloadType ?? null)
      }, not ${RUN_PAYLOAD_TYPE})`,
    );
  }
  const keys = [...(opts.env?.deployment.audit?.public_keys ?? []), ...(opts.publicKeys ?? [])];
  const sandboxKey = await sandboxPublicKey(opts.sandboxDir ?? SANDBOX_DIR);
  const sandboxId = sandboxKey ? await fingerprintOf(sandboxKey).catch(() => null) : null;
  const sandboxRun = report.target?.kind === "sandbox";
  const verified = await verifyEnvelope(
    envelope,
    sandboxRun && sandboxKey ? [...keys, sandboxKey] : keys,
  );
  const claimed = Array.isArray(envelope.signatures)
    ? envelope.signatures.map((s) => s?.keyid).find((k) => typeof k === "string") as
      | string
      | undefined
    : undefined;
  if (!verified.ok) {
    if (!sandboxRun && claimed !== undefined && claimed === sandboxId) {
      return invalid(
        `signed by the sandbox's own key ${claimed}, which is trusted for sandbox runs only ` +
          "(this run's report says it did not run in the sandbox)",
        claimed,
      );
    }
    const hint = sandboxRun && !sandboxKey
      ? ` (a sandbox run: ${opts.sandboxDir ?? SANDBOX_DIR} holds no sandbox key; is it the ` +
        "run's sandbox folder?)"
      : keys.length === 0 && !sandboxRun
      ? " (deployment.audit.public_keys lists none)"
      : "";
    return invalid(`${verified.reason}${hint}`, claimed);
  }
  let signed: Record<string, unknown>;
  try {
    signed = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return invalid("the signed statement is not JSON", verified.keyid);
  }
  const problem = disagreement(signed, report) ?? await fileProblem(runDir, signed);
  if (problem) return invalid(problem, verified.keyid);
  const bySandbox = verified.keyid === sandboxId;
  return {
    state: "signed",
    ok: true,
    keyid: verified.keyid,
    message: `signed by ${verified.keyid}${
      bySandbox ? " (the sandbox's own key: trusted for sandbox runs only)" : " (a trusted key)"
    }`,
    ...(bySandbox ? { sandboxKey: true } : {}),
  };
}
