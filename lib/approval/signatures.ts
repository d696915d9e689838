/**
 * The cryptography of approvals, all WebCrypto (Ed25519): a canonical JSON form and its
 * SHA-256 digest (what an approver signs), approver key pairs as PEM files (PKCS#8 private
 * key, SPKI public key; the public key as one base64 line for the environment file), key
 * fingerprints, and signing and verifying a digest. No hand-written crypto.
 * @module
 */

/**
 * The canonical JSON of a value: object keys sorted (by UTF-16 code units), no whitespace,
 * `undefined` members left out, as JSON.stringify writes strings and numbers — the same value
 * always gives the same text, so its digest is stable across machines.
 *
 * @param value A JSON value (no functions, no cycles; non-finite numbers are refused).
 * @returns The canonical text.
 * @throws {TypeError} For a non-finite number, a bigint or a function.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./signatures.ts";
 * import assert from "node:assert/strict";
 * assert.equal(canonicalJson({ b: 1, a: [true, null, "x"] }), '{"a":[true,null,"x"],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not a number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = "";
  for (const b of u8) bin += String.fromCharCode(b);
  return btoa(bin);
}

function unbase64(text: string, what: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) throw new TypeError(`${what} is not base64`);
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The SHA-256 digest of a value's canonical JSON, as `sha256:<hex>`.
 *
 * @param value A JSON value.
 * @returns `sha256:` and 64 hex digits.
 *
 * @example
 * ```ts
 * import { digestOf } from "./signatures.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await digestOf({ a: 1, b: 2 }), await digestOf({ b: 2, a: 1 }));
 * assert.match(await digestOf("x"), /^sha256:[0-9a-f]{64}$/);
 * ```
 */
export async function digestOf(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(value));
  return `sha256:${hex(await crypto.subtle.digest("SHA-256", bytes))}`;
}

/**
 * The SHA-256 of a file's exact bytes, as `sha256:<hex>` (a pipeline or environment file
 * whose one byte changed has another).
 *
 * @param bytes The file's content.
 * @returns `sha256:` and 64 hex digits.
 *
 * @example
 * ```ts
 * import { sha256Bytes } from "./signatures.ts";
 * import assert from "node:assert/strict";
 * assert.notEqual(
 *   await sha256Bytes(new TextEncoder().encode("a")),
 *   await sha256Bytes(new TextEncoder().encode("b")),
 * );
 * ```
 */
export async function sha256Bytes(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return `sha256:${hex(await crypto.subtle.digest("SHA-256", bytes))}`;
}

/** An approver's new key pair, as files and as the environment file's one line. */
export interface GeneratedKeyPair {
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): keep it secret. */
  readonly privateKeyPem: string;
  /** The public key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** The public key as one base64 line (SPKI DER): `deployment.approvals.approvers[].public_key`. */
  readonly publicKey: string;
  /** Its fingerprint ({@linkcode fingerprintOf}). */
  readonly fingerprint: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Makes an Ed25519 key pair for an approver (WebCrypto).
 *
 * @returns The private key PEM, the public key PEM and one-line form, and its fingerprint.
 *
 * @example
 * ```ts
 * import { generateApproverKeys } from "./signatures.ts";
 * import assert from "node:assert/strict";
 * const keys = await generateApproverKeys();
 * assert.match(keys.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
 * assert.match(keys.fingerprint, /^SHA256:/);
 * ```
 */
export async function generateApproverKeys(): Promise<GeneratedKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
  const publicKey = base64(spki);
  return {
    privateKeyPem: pem("PRIVATE KEY", pkcs8),
    publicKeyPem: pem("PUBLIC KEY", spki),
    publicKey,
    fingerprint: await fingerprintOf(publicKey),
  };
}

function pemBody(text: string, label: string): string | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  return m?.[1];
}

/**
 * Reads an approver's private key (PKCS#8 PEM, as {@linkcode generateApproverKeys} writes).
 *
 * @param text The file's content.
 * @param file Its name, for the error.
 * @returns The signing key.
 * @throws {TypeError} When the text is not an Ed25519 private key (the message names the file
 *   and what it holds instead; never the key's bytes).
 *
 * @example
 * ```ts
 * import { generateApproverKeys, readPrivateKey } from "./signatures.ts";
 * const key = await readPrivateKey((await generateApproverKeys()).privateKeyPem, "ada.key");
 * console.assert(key.type === "private");
 * ```
 */
export async function readPrivateKey(text: string, file: string): Promise<CryptoKey> {
  const body = pemBody(text, "PRIVATE KEY");
  const problem = `${file} is not an approver's private key (an Ed25519 PKCS#8 PEM, ` +
    `"-----BEGIN PRIVATE KEY-----", as deno task keygen writes)`;
  if (body === undefined) {
    const other = /-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1];
    throw new TypeError(other ? `${problem}: it holds a ${other}` : problem);
  }
  try {
    return await crypto.subtle.importKey("pkcs8", unbase64(body, file), { name: "Ed25519" }, true, [
      "sign",
    ]);
  } catch {
    throw new TypeError(`${problem}: it does not hold an Ed25519 key`);
  }
}

/**
 * Reads a public key: the one-line base64 SPKI of the environment file, or an SPKI PEM.
 *
 * @param text The key.
 * @param where Where it was written (e.g. `environments/production.yml: deployment.approvals.approvers[0].public_key`).
 * @returns The verifying key.
 * @throws {TypeError} When it is not an Ed25519 public key.
 *
 * @example
 * ```ts
 * import { generateApproverKeys, readPublicKey } from "./signatures.ts";
 * const key = await readPublicKey((await generateApproverKeys()).publicKey, "test");
 * console.assert(key.type === "public");
 * ```
 */
export async function readPublicKey(text: string, where: string): Promise<CryptoKey> {
  const body = pemBody(text, "PUBLIC KEY") ?? text;
  try {
    return await crypto.subtle.importKey("spki", unbase64(body, where), { name: "Ed25519" }, true, [
      "verify",
    ]);
  } catch {
    throw new TypeError(
      `${where} is not an Ed25519 public key (one base64 line, as deno task keygen prints)`,
    );
  }
}

/**
 * A public key's fingerprint, as OpenSSH prints one: `SHA256:` and the unpadded base64 of the
 * SHA-256 of its SPKI bytes.
 *
 * @param publicKey The key, one-line base64 SPKI or SPKI PEM.
 * @returns The fingerprint.
 *
 * @example
 * ```ts
 * import { fingerprintOf, generateApproverKeys } from "./signatures.ts";
 * const k = await generateApproverKeys();
 * console.assert(await fingerprintOf(k.publicKeyPem) === k.fingerprint);
 * ```
 */
export async function fingerprintOf(publicKey: string): Promise<string> {
  const der = unbase64(pemBody(publicKey, "PUBLIC KEY") ?? publicKey, "public key");
  return `SHA256:${base64(await crypto.subtle.digest("SHA-256", der)).replace(/=+$/, "")}`;
}

/**
 * Signs text (an approval statement) with an approver's private key.
 *
 * @param key The private key ({@linkcode readPrivateKey}).
 * @param text What is signed (UTF-8).
 * @returns The signature, base64.
 *
 * @example
 * ```ts
 * import { generateApproverKeys, readPrivateKey, readPublicKey, signText, verifyText } from "./signatures.ts";
 * const k = await generateApproverKeys();
 * const sig = await signText(await readPrivateKey(k.privateKeyPem, "k"), "sha256:00");
 * console.assert(await verifyText(await readPublicKey(k.publicKey, "k"), "sha256:00", sig));
 * ```
 */
export async function signText(key: CryptoKey, text: string): Promise<string> {
  return base64(await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(text)));
}

/**
 * Verifies a signature of text. A malformed signature is `false`, never a throw.
 *
 * @param key The public key ({@linkcode readPublicKey}).
 * @param text What was signed.
 * @param signature The signature, base64.
 * @returns Whether it is this key's signature of exactly this text.
 *
 * @example
 * ```ts
 * import { generateApproverKeys, readPublicKey, verifyText } from "./signatures.ts";
 * const k = await generateApproverKeys();
 * console.assert(!(await verifyText(await readPublicKey(k.publicKey, "k"), "x", "AAAA")));
 * ```
 */
export async function verifyText(
  key: CryptoKey,
  text: string,
  signature: string,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      unbase64(signature, "signature"),
      new TextEncoder().encode(text),
    );
  } catch {
    return false;
  }
}
