/**
 * The key a run is signed with: an Ed25519 private key (PKCS#8 PEM, as `deno task keygen`
 * writes), from a file (`--signing-key`), from where the environment file says
 * (`deployment.audit.signing_key`: an environment variable, a Kubernetes Secret, a file), or
 * the sandbox's own (generated once, kept in the sandbox folder with mode 0600, trusted for
 * sandbox runs only). Resolved before a run starts: a bad reference is an error then, with
 * nothing changed. Never the key's bytes in a message.
 * @module
 */
import { join } from "node:path";
import type { AuditSection, SigningKeyRef } from "../config/types.ts";
import { describeSecretRef } from "../config/secret_ref.ts";
import { fingerprintOf, generateApproverKeys, readPrivateKey } from "../approval/signatures.ts";

/**
 * Where a run's signing key came from.
 *
 * @example
 * ```ts
 * import type { SigningKeySource } from "./signing_key.ts";
 * const source: SigningKeySource = "sandbox";
 * ```
 */
export type SigningKeySource = "file" | "environment" | "sandbox";

/**
 * A run's signing key, with its public half.
 *
 * @example
 * ```ts
 * import { signingKeyFromPem } from "./signing_key.ts";
 * import { generateApproverKeys } from "../approval/signatures.ts";
 * const key = await signingKeyFromPem((await generateApproverKeys()).privateKeyPem, {
 *   source: "file",
 *   where: "--signing-key run.pem",
 * });
 * console.assert(key.fingerprint.startsWith("SHA256:"));
 * ```
 */
export interface RunSigningKey {
  /** The private key (WebCrypto, Ed25519, usage `sign`). */
  readonly privateKey: CryptoKey;
  /** Its public key, one base64 SPKI line (as `deployment.audit.public_keys` lists it). */
  readonly publicKey: string;
  /** The public key's fingerprint (`SHA256:...`): a signature's `keyid`. */
  readonly fingerprint: string;
  /** Where it came from. */
  readonly source: SigningKeySource;
  /** Where, for people: `--signing-key k.pem`, `env TRACKTION_SIGNING_KEY`, a file. */
  readonly where: string;
}

/**
 * A signing key that cannot be used: missing, unreadable, not an Ed25519 private key. The
 * message says where it was looked for and how to fix it (never the key's content).
 *
 * @example
 * ```ts
 * import { SigningKeyError } from "./signing_key.ts";
 * const e = new SigningKeyError("env SIGNING_KEY is not set");
 * console.assert(e.name === "SigningKeyError");
 * ```
 */
export class SigningKeyError extends Error {
  /**
   * Builds the error.
   *
   * @param message What is wrong, and where.
   */
  constructor(message: string) {
    super(message);
    this.name = "SigningKeyError";
  }
}

/** The DER header of an Ed25519 SubjectPublicKeyInfo, before the key's 32 bytes. */
const SPKI_HEADER = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

function base64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
}

/**
 * The public key (one base64 SPKI line) of an Ed25519 private key that can be exported.
 *
 * @param privateKey The private key (extractable, as `readPrivateKey` gives).
 * @returns Its public key, one base64 line.
 *
 * @example
 * ```ts
 * import { publicKeyOf } from "./signing_key.ts";
 * import { generateApproverKeys, readPrivateKey } from "../approval/signatures.ts";
 * const k = await generateApproverKeys();
 * console.assert(await publicKeyOf(await readPrivateKey(k.privateKeyPem, "k")) === k.publicKey);
 * ```
 */
export async function publicKeyOf(privateKey: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (typeof jwk.x !== "string") throw new SigningKeyError("the key has no public half");
  const der = new Uint8Array([...SPKI_HEADER, ...base64url(jwk.x)]);
  return btoa(String.fromCharCode(...der));
}

/**
 * Reads a signing key from its PEM text.
 *
 * @param pem The PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
 * @param o Where it came from.
 * @returns The key and its public half.
 * @throws {SigningKeyError} When the text is not an Ed25519 private key.
 *
 * @example
 * ```ts
 * import { signingKeyFromPem } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(
 *   () => signingKeyFromPem("not a key", { source: "file", where: "k.pem" }),
 *   /k.pem is not an Ed25519 private key/,
 * );
 * ```
 */
export async function signingKeyFromPem(
  pem: string,
  o: { source: SigningKeySource; where: string },
): Promise<RunSigningKey> {
  let privateKey: CryptoKey;
  try {
    privateKey = await readPrivateKey(pem, o.where);
  } catch (err) {
    // What the text holds instead (e.g. a PUBLIC KEY), never its bytes.
    const holds = /: it holds a [A-Z ]+$/.exec((err as Error).message)?.[0] ?? "";
    throw new SigningKeyError(
      `${o.where} is not an Ed25519 private key (PKCS#8 PEM, "-----BEGIN PRIVATE KEY-----", as ` +
        `deno task keygen writes)${holds}`,
    );
  }
  const publicKey = await publicKeyOf(privateKey);
  return { privateKey, publicKey, fingerprint: await fingerprintOf(publicKey), ...o };
}

async function readKeyFile(path: string, o: { source: SigningKeySource; where: string }) {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.PermissionDenied
      ? "not readable"
      : err instanceof Deno.errors.IsADirectory
      ? "a folder, not a file"
      : (err as Error).message;
    throw new SigningKeyError(`Cannot read the signing key ${o.where}: ${why}`);
  }
  return await signingKeyFromPem(text, o);
}

/**
 * The sandbox's own signing key file, in its state folder.
 *
 * @param sandboxDir The sandbox's state folder.
 * @returns The private key's path (`signing-key.pem`) and the public key's (`signing-key.pub`).
 *
 * @example
 * ```ts
 * import { sandboxKeyPaths } from "./signing_key.ts";
 * console.assert(sandboxKeyPaths("sandbox").pub.endsWith("signing-key.pub"));
 * ```
 */
export function sandboxKeyPaths(sandboxDir: string): { pem: string; pub: string } {
  return { pem: join(sandboxDir, "signing-key.pem"), pub: join(sandboxDir, "signing-key.pub") };
}

/**
 * The sandbox's signing key: made on first use (private key mode 0600, public key beside it),
 * then reused. A key file others may read is made private again (and said so by `onWarning`).
 *
 * @param sandboxDir The sandbox's state folder (made when missing).
 * @param o `onWarning`: told when the key's mode had to be fixed.
 * @returns The key (source `sandbox`).
 * @throws {SigningKeyError} When the file exists but is not a key.
 *
 * @example
 * ```ts
 * import { sandboxSigningKey } from "./signing_key.ts";
 * const dir = await Deno.makeTempDir();
 * const a = await sandboxSigningKey(dir);
 * const b = await sandboxSigningKey(dir);
 * console.assert(a.fingerprint === b.fingerprint);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function sandboxSigningKey(
  sandboxDir: string,
  o: { onWarning?: (line: string) => void } = {},
): Promise<RunSigningKey> {
  const paths = sandboxKeyPaths(sandboxDir);
  const where = `the sandbox's key ${paths.pem}`;
  await Deno.mkdir(sandboxDir, { recursive: true });
  try {
    const made = await generateApproverKeys();
    await Deno.writeTextFile(paths.pem, made.privateKeyPem, { createNew: true, mode: 0o600 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw new SigningKeyError(`Cannot write ${where}: ${(err as Error).message}`);
    }
  }
  const mode = (await Deno.stat(paths.pem)).mode;
  if (mode !== null && (mode & 0o077) !== 0) {
    await Deno.chmod(paths.pem, 0o600);
    o.onWarning?.(`${paths.pem} was readable by others: made private (mode 0600)`);
  }
  const key = await readKeyFile(paths.pem, { source: "sandbox", where });
  const pub = await Deno.readTextFile(paths.pub).catch(() => "");
  if (pub.trim() !== key.publicKey) await Deno.writeTextFile(paths.pub, `${key.publicKey}\n`);
  return key;
}

/**
 * The sandbox's signing key when it has made one (never makes one: for reading a past
 * run's key, e.g. to sign its provenance).
 *
 * @param sandboxDir The sandbox's state folder.
 * @returns The key, or null when the sandbox has none.
 * @throws {SigningKeyError} When its key file is not a key.
 *
 * @example
 * ```ts
 * import { existingSandboxKey } from "./signing_key.ts";
 * console.assert(await existingSandboxKey("/nonexistent") === null);
 * ```
 */
export async function existingSandboxKey(sandboxDir: string): Promise<RunSigningKey | null> {
  const { pem } = sandboxKeyPaths(sandboxDir);
  try {
    await Deno.stat(pem);
  } catch {
    return null;
  }
  return await readKeyFile(pem, { source: "sandbox", where: `the sandbox's key ${pem}` });
}

/**
 * The sandbox's public key, when it has made one.
 *
 * @param sandboxDir The sandbox's state folder.
 * @returns The one-line public key, or null.
 *
 * @example
 * ```ts
 * import { sandboxPublicKey } from "./signing_key.ts";
 * console.assert(await sandboxPublicKey("/nonexistent") === null);
 * ```
 */
export async function sandboxPublicKey(sandboxDir: string): Promise<string | null> {
  const text = await Deno.readTextFile(sandboxKeyPaths(sandboxDir).pub).catch(() => null);
  return text?.trim() || null;
}

/**
 * What of an environment file signing and verifying read: its name, file and
 * `deployment.audit` (a loaded `Environment` is one).
 *
 * @example
 * ```ts
 * import type { AuditedEnvironment } from "./signing_key.ts";
 * const env: AuditedEnvironment = { name: "dev", file: "dev.yml", deployment: {} };
 * ```
 */
export interface AuditedEnvironment {
  /** The environment's name. */
  readonly name: string;
  /** Its file, for messages. */
  readonly file: string;
  /** Its `deployment.audit`, when it has one. */
  readonly deployment: { readonly audit?: AuditSection | undefined };
}

/** What {@linkcode resolveSigningKey} chooses from. */
export interface SigningKeyOptions {
  /** `--signing-key <file>`: wins over everything. */
  readonly file?: string | undefined;
  /** A sandbox run: its state folder (its own key, unless `file` is given). */
  readonly sandboxDir?: string | undefined;
  /** Reads an environment variable (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /**
   * Reads a key of a Kubernetes Secret of the environment's namespace (for a
   * `secret_key_ref`); without it such a reference is left for later (`deferred`).
   */
  readonly readSecret?: (name: string, key: string) => Promise<string | null>;
  /** Told what is worth saying (a sandbox key's mode fixed). */
  readonly onWarning?: (line: string) => void;
}

/**
 * Chooses and reads a run's signing key: `--signing-key`, else for a sandbox run the
 * sandbox's own, else `deployment.audit.signing_key` of the environment file.
 *
 * @param env The environment.
 * @param o The flag, the sandbox, how to read secrets.
 * @returns The key; `null` when none is configured; `deferred` for a Kubernetes Secret when
 *   no `readSecret` was given (resolve it again once the cluster is reachable).
 * @throws {SigningKeyError} When the key named cannot be read or is not a key.
 *
 * @example
 * ```ts
 * import { resolveSigningKey } from "./signing_key.ts";
 * import type { AuditedEnvironment } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * const env: AuditedEnvironment = {
 *   name: "staging",
 *   file: "staging.yml",
 *   deployment: { audit: { signing_key: { from_env: "RUN_KEY" }, public_keys: [] } },
 * };
 * await assert.rejects(
 *   () => resolveSigningKey(env, { readEnv: () => undefined }),
 *   /staging.yml: deployment.audit.signing_key: env RUN_KEY is not set/,
 * );
 * ```
 */
export async function resolveSigningKey(
  env: AuditedEnvironment,
  o: SigningKeyOptions = {},
): Promise<RunSigningKey | null | "deferred"> {
  if (o.file !== undefined) {
    return await readKeyFile(o.file, { source: "file", where: `--signing-key ${o.file}` });
  }
  if (o.sandboxDir !== undefined) {
    return await sandboxSigningKey(o.sandboxDir, o.onWarning ? { onWarning: o.onWarning } : {});
  }
  const ref: SigningKeyRef | undefined = env.deployment.audit?.signing_key;
  if (ref === undefined) return null;
  const field = `${env.file}: deployment.audit.signing_key`;
  if ("from_file" in ref) {
    return await readKeyFile(ref.from_file, {
      source: "environment",
      where: `${field} (file ${ref.from_file})`,
    });
  }
  const where = `${field} (${describeSecretRef(ref)})`;
  let pem: string | null | undefined;
  if ("from_env" in ref) {
    pem = (o.readEnv ?? ((name: string) => Deno.env.get(name)))(ref.from_env);
  } else {
    if (!o.readSecret) return "deferred";
    try {
      pem = await o.readSecret(ref.secret_key_ref.name, ref.secret_key_ref.key);
    } catch (err) {
      throw new SigningKeyError(`${where} could not be read: ${(err as Error).message}`);
    }
  }
  if (!pem) {
    throw new SigningKeyError(
      `${field}: ${describeSecretRef(ref)} is not set (or empty): set it to the PEM of the ` +
        "signing key, or sign with --signing-key <file>",
    );
  }
  return await signingKeyFromPem(pem, { source: "environment", where });
}
