/**
 * A run's signed statement: at its end a run signs (Ed25519) a statement of its final state —
 * its id, environment, pipeline, version, status, its journal's final digest and length, the
 * SHA-256 of `report.json`'s bytes, and the previous run it chained to — as a DSSE envelope in
 * `<run>/signature.json`. Changing the report, re-chaining the journal, or linking the run to
 * another previous run then needs the key.
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../approval/signatures.ts";
import { realClock } from "../clock/clock.ts";
import { ANNOTATION_PREFIX } from "../product/mod.ts";
import type { RunLink } from "../runner/run.ts";
import { type Envelope, signEnvelope } from "./dsse.ts";
import { readChainedRun } from "./run_link.ts";
import type { RunSigningKey } from "./signing_key.ts";

/**
 * The payload type of a run's signature envelope: a vendor media type of the tool's domain
 * (the domain of its annotations, `lib/product`), e.g. `application/vnd.tracktion.run.v1+json`.
 *
 * @example
 * ```ts
 * import { RUN_PAYLOAD_TYPE } from "./run_statement.ts";
 * console.assert(/^application\/vnd\.[a-z0-9-]+\.run\.v1\+json$/.test(RUN_PAYLOAD_TYPE));
 * ```
 */
export const RUN_PAYLOAD_TYPE = `application/vnd.${
  ANNOTATION_PREFIX.split(".").at(-2)
}.run.v1+json`;

/**
 * The file beside the report holding the run's signature.
 *
 * @example
 * ```ts
 * import { SIGNATURE_FILE } from "./run_statement.ts";
 * console.assert(SIGNATURE_FILE === "signature.json");
 * ```
 */
export const SIGNATURE_FILE = "signature.json";

/**
 * What a run signs (its canonical JSON is the envelope's payload).
 *
 * @example
 * ```ts
 * import type { RunStatement } from "./run_statement.ts";
 * const s: RunStatement = {
 *   runId: "r1", environment: "staging", pipeline: "deploy", version: "v1.2.4",
 *   status: "succeeded", events: { count: 52, digest: "0".repeat(64) },
 *   report: { sha256: "0".repeat(64) }, previous: null, signedAt: "2026-01-01T00:00:00.000Z",
 * };
 * ```
 */
export interface RunStatement {
  /** The run's id. */
  readonly runId: string;
  /** Its environment. */
  readonly environment: string;
  /** Its pipeline's name. */
  readonly pipeline: string;
  /** Its version, when its pipeline takes one. */
  readonly version?: string | undefined;
  /** How it ended (the report's `status`). */
  readonly status: string;
  /** Its journal: how many lines, and the hash of the last one. */
  readonly events: { readonly count: number; readonly digest: string };
  /** The hex SHA-256 of `report.json`'s bytes. */
  readonly report: { readonly sha256: string };
  /** The previous run of the environment it chained to (`run.started`), or null. */
  readonly previous: RunLink | null;
  /** When it was signed (ISO 8601). */
  readonly signedAt: string;
}

/**
 * The fields of a report a statement is made of.
 *
 * @example
 * ```ts
 * import type { SignedReport } from "./run_statement.ts";
 * const r: SignedReport = {
 *   runId: "r1", environment: "staging", pipeline: { name: "deploy" }, status: "succeeded",
 *   events: { count: 1, digest: "0".repeat(64) },
 * };
 * ```
 */
export interface SignedReport {
  /** The run's id. */
  readonly runId: string;
  /** Its environment. */
  readonly environment: string;
  /** Its pipeline. */
  readonly pipeline: { readonly name: string };
  /** Its version. */
  readonly version?: string | undefined;
  /** How it ended. */
  readonly status: string;
  /** Its journal's length and final digest. */
  readonly events: { readonly count: number; readonly digest: string };
}

/**
 * The hex SHA-256 of a file's bytes.
 *
 * @param path The file.
 * @returns 64 hex digits.
 *
 * @example
 * ```ts
 * import { fileSha256 } from "./run_statement.ts";
 * const f = await Deno.makeTempFile();
 * console.assert((await fileSha256(f)).startsWith("e3b0c442"));
 * await Deno.remove(f);
 * ```
 */
export async function fileSha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/**
 * The statement of a finished run: from its report and the bytes of its `report.json`, and
 * the previous run its journal's `run.started` names.
 *
 * @param runDir The run's folder (its `report.json` and `events.jsonl`).
 * @param report The report (as written).
 * @param o `signedAt`: when (ISO 8601).
 * @returns The statement.
 *
 * @example
 * ```ts ignore
 * const statement = await runStatementOf(outcome.runDir, outcome.report, { signedAt });
 * ```
 */
export async function runStatementOf(
  runDir: string,
  report: SignedReport,
  o: { signedAt: string },
): Promise<RunStatement> {
  const started = await readChainedRun(runDir);
  return {
    runId: report.runId,
    environment: report.environment,
    pipeline: report.pipeline.name,
    ...(report.version !== undefined ? { version: report.version } : {}),
    status: report.status,
    events: { count: report.events.count, digest: report.events.digest },
    report: { sha256: await fileSha256(`${runDir}/report.json`) },
    previous: started?.previous ?? null,
    signedAt: o.signedAt,
  };
}

/**
 * What {@linkcode signRun} wrote.
 *
 * @example
 * ```ts
 * import type { SignedRun } from "./run_statement.ts";
 * const show = (s: SignedRun) => `${s.path} by ${s.keyid}`;
 * ```
 */
export interface SignedRun {
  /** `<runDir>/signature.json`. */
  readonly path: string;
  /** The signing key's fingerprint. */
  readonly keyid: string;
  /** What was signed. */
  readonly statement: RunStatement;
  /** The envelope written. */
  readonly envelope: Envelope;
}

/**
 * Signs a finished run: writes `<runDir>/signature.json` (a DSSE envelope of its
 * {@linkcode RunStatement}), atomically (a half-written signature never replaces one).
 *
 * @param runDir The run's folder; its `report.json` must be written.
 * @param report The report.
 * @param key The signing key.
 * @param o `now`: when it is signed, ms since the epoch (default now on the real clock; a
 *   run on another clock gives that clock's time).
 * @returns The file, the key's fingerprint, the statement and the envelope.
 * @throws When the report cannot be read or the signature cannot be written.
 *
 * @example
 * ```ts ignore
 * const signed = await signRun(outcome.runDir, outcome.report, key, { now: clock.now() });
 * console.log(`signed: ${signed.path} (${signed.keyid})`);
 * ```
 */
export async function signRun(
  runDir: string,
  report: SignedReport,
  key: RunSigningKey,
  o: { now?: number } = {},
): Promise<SignedRun> {
  const signedAt = new Date(o.now ?? realClock.now()).toISOString();
  const statement = await runStatementOf(runDir, report, { signedAt });
  const envelope = await signEnvelope(
    key.privateKey,
    key.publicKey,
    RUN_PAYLOAD_TYPE,
    canonicalJson(statement),
  );
  const path = `${runDir}/${SIGNATURE_FILE}`;
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(envelope, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  return { path, keyid: envelope.signatures[0]!.keyid, statement, envelope };
}
