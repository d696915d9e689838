/**
 * Signing in a command that runs pipelines: before the run, which key signs it and whether
 * that will verify (a key that cannot be read, one the environment file does not trust, or
 * none where a signature is required: refused with nothing changed); after it, the run
 * signed, or why not, as a line to print.
 * @module
 */
import { type SignedReport, signRun } from "./run_statement.ts";
import { signatureRequired } from "./signature.ts";
import {
  type AuditedEnvironment,
  resolveSigningKey,
  type RunSigningKey,
  sandboxSigningKey,
  SigningKeyError,
  type SigningKeyOptions,
} from "./signing_key.ts";

/**
 * The key a run will be signed with (`null`: none, the run is left unsigned; `deferred`: a
 * Kubernetes Secret, read once the cluster is reachable; `sandbox`: the sandbox's own, made
 * in its folder once the sandbox is up), and what to tell the user.
 *
 * @example
 * ```ts
 * import type { RunSigning } from "./run_signing.ts";
 * const none: RunSigning = { key: null, lines: [] };
 * ```
 */
export interface RunSigning {
  /** The key, none, or one to read from the cluster. */
  readonly key: RunSigningKey | null | "deferred" | "sandbox";
  /** Lines to print before the run (which key, a warning). */
  readonly lines: readonly string[];
}

/**
 * What to say about a key, and whether its runs will verify where it signs them: the
 * sandbox's own key is trusted for sandbox runs only; any other must be one of the
 * environment file's `deployment.audit.public_keys` (refused when the file lists others, or
 * lists none where a signature is required).
 *
 * @param env The environment.
 * @param key The key chosen.
 * @returns The lines to print.
 * @throws {SigningKeyError} When the key's runs would not verify.
 *
 * @example
 * ```ts
 * import { checkSigningKey, sandboxSigningKey } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await sandboxSigningKey(dir);
 * const lines = checkSigningKey({ name: "dev", file: "dev.yml", deployment: {} }, key);
 * console.assert(lines[0]!.includes("trusted for sandbox runs only"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function checkSigningKey(env: AuditedEnvironment, key: RunSigningKey): string[] {
  if (key.source === "sandbox") {
    return [
      `signing: ${key.fingerprint}, the sandbox's own key (trusted for sandbox runs only, as ` +
      "its rehearsal approvers are)",
    ];
  }
  const trusted = env.deployment.audit?.public_keys ?? [];
  const line = `signing: ${key.fingerprint} from ${key.where}`;
  if (trusted.includes(key.publicKey)) return [line];
  const add = `add its public key ${key.publicKey} to deployment.audit.public_keys`;
  if (trusted.length > 0 || signatureRequired(env.name, env)) {
    throw new SigningKeyError(
      `The signing key ${key.fingerprint} (${key.where}) is not one ${env.file} trusts ` +
        `(deployment.audit.public_keys${
          trusted.length === 0 ? " lists none" : ""
        }): its runs would not verify; ${add}, or sign with a key it lists`,
    );
  }
  return [
    line,
    `warning: ${env.file} lists no deployment.audit.public_keys: report verify will not ` +
    `trust this run's signature until you ${add}`,
  ];
}

/**
 * Chooses a run's signing key before it starts ({@linkcode resolveSigningKey}) and checks
 * its runs will verify ({@linkcode checkSigningKey}); with no key where a signature is
 * required (production by default), refuses unless it is a dry run. A sandbox run (no
 * `file`) gets `sandbox`: nothing is written in the sandbox's folder before the run has
 * started its sandbox ({@linkcode keyForRun} makes or reads the key then).
 *
 * @param env The environment.
 * @param o The flag, the sandbox, how to read secrets; `dryRun`: a run that changes nothing.
 * @returns The key (or none, or one to read from the cluster) and what to print.
 * @throws {SigningKeyError} When the key cannot be used, or none is given where required.
 *
 * @example
 * ```ts
 * import { chooseSigningKey } from "./run_signing.ts";
 * import assert from "node:assert/strict";
 * const env = { name: "production", file: "production.yml", deployment: {} };
 * await assert.rejects(() => chooseSigningKey(env, { dryRun: false }), /requires signed runs/);
 * assert.equal((await chooseSigningKey(env, { dryRun: true })).key, null);
 * ```
 */
export async function chooseSigningKey(
  env: AuditedEnvironment,
  o: SigningKeyOptions & { readonly dryRun: boolean },
): Promise<RunSigning> {
  if (o.file === undefined && o.sandboxDir !== undefined) return { key: "sandbox", lines: [] };
  const key = await resolveSigningKey(env, o);
  if (key === "deferred") return { key, lines: [] };
  if (key) return { key, lines: checkSigningKey(env, key) };
  if (signatureRequired(env.name, env) && !o.dryRun) {
    throw new SigningKeyError(
      `${env.name} requires signed runs (deployment.audit.require_signature${
        env.deployment.audit?.require_signature === undefined ? ", true for production" : ""
      }) and no signing key is given: set deployment.audit.signing_key in ${env.file}, or ` +
        "pass --signing-key <file> (deno task keygen --out <file> makes one)",
    );
  }
  return { key: null, lines: [] };
}

/**
 * The key a run is signed with, once its cluster is reachable: a key chosen before the run
 * as it is; one in a Kubernetes Secret (`deferred`) read through the run's `kubernetes`
 * capability; the sandbox's (`sandbox`) made or read in `sandboxDir`; each checked
 * ({@linkcode checkSigningKey}).
 *
 * @param env The environment.
 * @param signing What {@linkcode chooseSigningKey} chose.
 * @param o The run's `kubernetes` capability (anything with `readSecret`), its namespace,
 *   and the sandbox's folder (for `sandbox`).
 * @returns The key (or none) and the lines to print.
 * @throws {SigningKeyError} When the Secret cannot be read or holds no usable key.
 *
 * @example
 * ```ts
 * import { keyForRun } from "./run_signing.ts";
 * const env = { name: "dev", file: "dev.yml", deployment: {} };
 * const none = await keyForRun(env, { key: null, lines: [] }, { kubernetes: undefined, namespace: "dev" });
 * console.assert(none.key === null);
 * ```
 */
export async function keyForRun(
  env: AuditedEnvironment,
  signing: RunSigning,
  o: {
    readonly kubernetes: unknown;
    readonly namespace: string;
    readonly sandboxDir?: string | undefined;
    readonly onWarning?: (line: string) => void;
  },
): Promise<{ key: RunSigningKey | null; lines: string[] }> {
  if (signing.key === "sandbox") {
    if (o.sandboxDir === undefined) throw new SigningKeyError("a sandbox run needs its folder");
    const key = await sandboxSigningKey(
      o.sandboxDir,
      o.onWarning ? { onWarning: o.onWarning } : {},
    );
    return { key, lines: checkSigningKey(env, key) };
  }
  if (signing.key !== "deferred") return { key: signing.key, lines: [] };
  const k = o.kubernetes as
    | { readSecret?(namespace: string, name: string, key: string): Promise<string | null> }
    | undefined;
  const found = await resolveSigningKey(env, {
    readSecret: (name, key) =>
      k?.readSecret
        ? k.readSecret(o.namespace, name, key)
        : Promise.reject(new Error("the run reaches no cluster (no kubernetes capability)")),
  });
  const key = found === "deferred" ? null : found;
  return { key, lines: key ? checkSigningKey(env, key) : [] };
}

/**
 * Signs a finished run and says so, or says loudly why it is not signed. Never throws: a
 * failure to sign is an answer (`ok: false`), for the command's exit code.
 *
 * @param run The run's folder and report.
 * @param key The key, or null (no key: left unsigned, `ok` unless a signature is required).
 * @param o `now`: the run's clock's time; `required`: whether its environment requires it.
 * @returns Whether the run is as it should be, and the line to print (an `error:` line for
 *   standard error when not ok).
 *
 * @example
 * ```ts ignore
 * const signed = await signFinishedRun(outcome, key, { now: clock.now(), required: false });
 * (signed.ok ? io.stdout : io.stderr)(`${signed.line}\n`);
 * ```
 */
export async function signFinishedRun(
  run: { readonly runDir: string; readonly report: SignedReport },
  key: RunSigningKey | null,
  o: { readonly now?: number; readonly required: boolean },
): Promise<{ ok: boolean; line: string }> {
  if (!key) {
    return o.required
      ? { ok: false, line: `error: run ${run.report.runId} is not signed: no signing key` }
      : {
        ok: true,
        line: "unsigned: no signing key (deployment.audit.signing_key or --signing-key)",
      };
  }
  try {
    const signed = await signRun(
      run.runDir,
      run.report,
      key,
      o.now !== undefined ? { now: o.now } : {},
    );
    return { ok: true, line: `signed: ${signed.path} (${signed.keyid})` };
  } catch (err) {
    return {
      ok: false,
      line: `error: signing run ${run.report.runId} failed: ${(err as Error).message}: its ` +
        "report and journal are as written, unsigned (report verify will say so)",
    };
  }
}
