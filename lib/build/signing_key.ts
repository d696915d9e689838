/**
 * The image signing key: where it is (`file:<path>`, `env:<NAME>` or `secret:<name>/<key>` — a
 * key of a Kubernetes Secret —, never the key itself on a command line), read and imported as an ECDSA P-256 key for cosign's format
 * (`lib/companions/cosign.ts`). A PKCS#8 PEM (`openssl genpkey -algorithm EC -pkeyopt
 * ec_paramgen_curve:P-256`) or a SEC1 one (`openssl ecparam -genkey`); its public half is
 * SPKI PEM, what `cosign verify --key` takes. Errors name the reference, never the key.
 * @module
 */
import type { SigningKey } from "../companions/cosign.ts";

/** Where a signing key is. */
export type KeyReference =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "secret"; readonly name: string; readonly key: string };

/** A key that cannot be read or is not an ECDSA P-256 private key. */
export class SigningKeyError extends Error {
  /** The reference, as people read it (`file keys/image.pem`, `env IMAGE_SIGNING_KEY`). */
  readonly reference: string;
  /**
   * Builds the error.
   *
   * @param reference The reference as people read it.
   * @param message What is wrong (never the key's text).
   */
  constructor(reference: string, message: string) {
    super(`Cannot use the image signing key (${reference}): ${message}`);
    this.name = "SigningKeyError";
    this.reference = reference;
  }
}

/**
 * Parses a key reference: `file:<path>` (or a bare path), `env:<NAME>`, `secret:<name>/<key>`.
 *
 * @param text The reference as given (e.g. `--option signing-key=...`).
 * @returns The reference.
 * @throws {RangeError} When it is empty, looks like a key itself, or names no variable.
 *
 * @example
 * ```ts
 * import { parseKeyReference } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseKeyReference("env:IMAGE_SIGNING_KEY"), { kind: "env", name: "IMAGE_SIGNING_KEY" });
 * assert.deepEqual(parseKeyReference("keys/image.pem"), { kind: "file", path: "keys/image.pem" });
 * assert.throws(() => parseKeyReference("-----BEGIN PRIVATE KEY-----"), RangeError);
 * ```
 */
export function parseKeyReference(text: string): KeyReference {
  const value = text.trim();
  if (value === "") throw new RangeError("The signing key reference is empty");
  if (value.includes("-----BEGIN") || value.includes("\n")) {
    throw new RangeError(
      "The signing key reference looks like a key itself: give where it is (file:<path> or " +
        "env:<NAME>), never the key on a command line",
    );
  }
  if (value.startsWith("env:")) {
    const name = value.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RangeError(`The signing key reference "${value}" names no environment variable`);
    }
    return { kind: "env", name };
  }
  if (value.startsWith("secret:")) {
    const [name, key, ...rest] = value.slice(7).split("/");
    const dns = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
    if (!name || !key || rest.length > 0 || !dns.test(name) || !/^[-._a-zA-Z0-9]+$/.test(key)) {
      throw new RangeError(
        `The signing key reference "${value}" is not secret:<name>/<key> (a Secret of the namespace)`,
      );
    }
    return { kind: "secret", name, key };
  }
  const path = value.startsWith("file:") ? value.slice(5) : value;
  if (path === "") throw new RangeError("The signing key reference file: names no file");
  return { kind: "file", path };
}

/**
 * A reference as people read it.
 *
 * @param ref The reference.
 * @returns E.g. `file keys/image.pem`.
 *
 * @example
 * ```ts
 * import { describeKeyReference } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeKeyReference({ kind: "env", name: "K" }), "env K");
 * ```
 */
export function describeKeyReference(ref: KeyReference): string {
  return ref.kind === "env"
    ? `env ${ref.name}`
    : ref.kind === "secret"
    ? `secret ${ref.name}/${ref.key}`
    : `file ${ref.path}`;
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function pemBody(pem: string, label: string): Uint8Array | undefined {
  const match = pem.match(new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`));
  if (!match) return undefined;
  try {
    return Uint8Array.from(atob(match[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

function der(tag: number, body: Uint8Array | number[]): Uint8Array {
  const bytes = body instanceof Uint8Array ? body : Uint8Array.from(body);
  return Uint8Array.from([tag, ...derLength(bytes.length), ...bytes]);
}

/** SEC1 `EC PRIVATE KEY` wrapped as PKCS#8 for P-256 (what WebCrypto imports). */
function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const ecPublicKey = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
  const prime256v1 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
  const algorithm = der(0x30, [...ecPublicKey, ...prime256v1]);
  return der(0x30, [0x02, 0x01, 0x00, ...algorithm, ...der(0x04, sec1)]);
}

/**
 * Imports a private key PEM as a {@linkcode SigningKey} (its public half as SPKI PEM).
 *
 * @param pem The PEM text (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`, P-256).
 * @param reference How to name it in errors (default `the key`).
 * @returns The key; the private half is not extractable.
 * @throws {SigningKeyError} When it is encrypted, not a PEM private key, or not P-256.
 *
 * @example
 * ```ts
 * import { importSigningKey } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
 * const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
 * const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...pkcs8))}\n-----END PRIVATE KEY-----\n`;
 * const key = await importSigningKey(pem);
 * assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
 * ```
 */
export async function importSigningKey(pem: string, reference = "the key"): Promise<SigningKey> {
  if (/ENCRYPTED/.test(pem)) {
    throw new SigningKeyError(
      reference,
      "it is encrypted (a cosign.key?): give a PKCS#8 P-256 key without a password " +
        "(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256; cosign " +
        "import-key-pair makes a cosign.key of the same key)",
    );
  }
  const pkcs8 = pemBody(pem, "PRIVATE KEY") ??
    (() => {
      const sec1 = pemBody(pem, "EC PRIVATE KEY");
      return sec1 ? sec1ToPkcs8(sec1) : undefined;
    })();
  if (!pkcs8) {
    throw new SigningKeyError(
      reference,
      "it holds no PEM private key (PRIVATE KEY or EC PRIVATE KEY)",
    );
  }
  let extractable: CryptoKey;
  try {
    extractable = await crypto.subtle.importKey(
      "pkcs8",
      pkcs8 as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign"],
    );
  } catch {
    throw new SigningKeyError(reference, "it is not an ECDSA P-256 private key");
  }
  const jwk = await crypto.subtle.exportKey("jwk", extractable);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: jwk.x ?? "", y: jwk.y ?? "", ext: true },
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["verify"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as Uint8Array<ArrayBuffer>,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const lines = base64(spki).match(/.{1,64}/g) ?? [];
  return {
    privateKey,
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`,
  };
}

/**
 * Reads the key a reference names and imports it.
 *
 * @param ref Where the key is.
 * @param io How to read a file and a variable (default `Deno.readTextFile`, `Deno.env.get`).
 * @returns The key.
 * @throws {SigningKeyError} When it is missing, unreadable or not a P-256 private key.
 *
 * @example
 * ```ts
 * import { readSigningKey, SigningKeyError } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(
 *   readSigningKey({ kind: "env", name: "NO_SUCH_KEY" }, { readEnv: () => undefined }),
 *   SigningKeyError,
 * );
 * ```
 */
export async function readSigningKey(
  ref: KeyReference,
  io: {
    readonly readFile?: (path: string) => Promise<string>;
    readonly readEnv?: (name: string) => string | undefined;
    /** Reads a key of a Secret (needed for a `secret:` reference). */
    readonly readSecret?: (name: string, key: string) => Promise<string | null>;
  } = {},
): Promise<SigningKey> {
  const name = describeKeyReference(ref);
  let pem: string | undefined;
  if (ref.kind === "secret") {
    if (!io.readSecret) throw new SigningKeyError(name, "no cluster to read the Secret from");
    try {
      pem = (await io.readSecret(ref.name, ref.key)) ?? undefined;
    } catch (err) {
      throw new SigningKeyError(name, `the Secret cannot be read: ${(err as Error).message}`);
    }
    if (pem === undefined || pem.trim() === "") {
      throw new SigningKeyError(name, "the Secret or its key does not exist");
    }
  } else if (ref.kind === "env") {
    try {
      pem = (io.readEnv ?? ((n) => Deno.env.get(n)))(ref.name);
    } catch (err) {
      throw new SigningKeyError(name, `the variable cannot be read: ${(err as Error).name}`);
    }
    if (pem === undefined || pem.trim() === "") throw new SigningKeyError(name, "it is not set");
  } else {
    try {
      pem = await (io.readFile ?? Deno.readTextFile)(ref.path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "no such file"
        : err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied
        ? "no permission to read it"
        : (err as Error).name;
      throw new SigningKeyError(name, why);
    }
  }
  return await importSigningKey(pem, name);
}

/**
 * A public key's fingerprint: `sha256:<hex>` of its DER (SPKI) bytes.
 *
 * @param publicKeyPem The public key (PEM).
 * @returns The fingerprint.
 * @throws {SyntaxError} When the text holds no PEM public key.
 *
 * @example
 * ```ts
 * import { keyFingerprint } from "./signing_key.ts";
 * import assert from "node:assert/strict";
 * const pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
 * assert.match(await keyFingerprint(pem), /^sha256:[0-9a-f]{64}$/);
 * ```
 */
export async function keyFingerprint(publicKeyPem: string): Promise<string> {
  const body = pemBody(publicKeyPem, "PUBLIC KEY");
  if (!body) throw new SyntaxError("The text holds no PEM public key");
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>),
  );
  return `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
