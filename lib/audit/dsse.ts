/**
 * DSSE envelopes (Dead Simple Signing Envelope, the in-toto and cosign attestation format):
 * a payload, its type, and Ed25519 signatures over the pre-authentication encoding
 * `PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`. Used for a
 * run's signature (`signature.json` beside the report) and for exported provenance.
 * @module
 */
import { fingerprintOf } from "../approval/signatures.ts";

/**
 * A DSSE envelope, as JSON.
 *
 * @example
 * ```ts
 * import type { Envelope } from "./dsse.ts";
 * const e: Envelope = { payloadType: "text/plain", payload: "aGk=", signatures: [] };
 * ```
 */
export interface Envelope {
  /** What the payload is (a media type, e.g. `application/vnd.in-toto+json`). */
  readonly payloadType: string;
  /** The payload, standard base64. */
  readonly payload: string;
  /** Each signature over `PAE(payloadType, payload bytes)`. */
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

const encoder = new TextEncoder();

function base64(bytes: Uint8Array | ArrayBuffer): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function unbase64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The pre-authentication encoding DSSE signs.
 *
 * @param payloadType The payload's type.
 * @param payload The payload's bytes.
 * @returns `DSSEv1 <len> <type> <len> <payload>` as bytes.
 *
 * @example
 * ```ts
 * import { pae } from "./dsse.ts";
 * const text = new TextDecoder().decode(pae("t", new TextEncoder().encode("hi")));
 * console.assert(text === "DSSEv1 1 t 2 hi");
 * ```
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const type = encoder.encode(payloadType);
  const head = encoder.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/**
 * Signs a payload into an envelope with an Ed25519 private key.
 *
 * @param key The private key (WebCrypto, Ed25519, usage `sign`).
 * @param publicKey Its public key (one-line base64 SPKI or PEM): the signature's `keyid` is
 *   its fingerprint (`SHA256:...`, as `deno task keygen` prints).
 * @param payloadType The payload's type.
 * @param payload The payload (bytes, or text encoded as UTF-8).
 * @returns The envelope.
 *
 * @example
 * ```ts
 * import { signEnvelope, verifyEnvelope } from "./dsse.ts";
 * import { generateApproverKeys, readPrivateKey } from "../approval/signatures.ts";
 * const k = await generateApproverKeys();
 * const e = await signEnvelope(await readPrivateKey(k.privateKeyPem, "k"), k.publicKey, "t", "hi");
 * console.assert((await verifyEnvelope(e, [k.publicKey])).ok);
 * ```
 */
export async function signEnvelope(
  key: CryptoKey,
  publicKey: string,
  payloadType: string,
  payload: Uint8Array | string,
): Promise<Envelope> {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const sig = await crypto.subtle.sign("Ed25519", key, pae(payloadType, bytes));
  return {
    payloadType,
    payload: base64(bytes),
    signatures: [{ keyid: await fingerprintOf(publicKey), sig: base64(sig) }],
  };
}

/**
 * What {@linkcode verifyEnvelope} found.
 *
 * @example
 * ```ts
 * import type { EnvelopeVerification } from "./dsse.ts";
 * const v: EnvelopeVerification = { ok: false, reason: "no signature" };
 * ```
 */
export type EnvelopeVerification =
  | { readonly ok: true; readonly keyid: string; readonly payload: Uint8Array<ArrayBuffer> }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies an envelope against trusted public keys: it holds when one of its signatures is
 * by one of the keys (matched by fingerprint) and verifies over the envelope's PAE. Never
 * throws on a malformed envelope: `ok: false` with the reason.
 *
 * @param envelope The envelope (as parsed from JSON; checked here).
 * @param trusted The public keys trusted (one-line base64 SPKI or PEM).
 * @returns The signing key's fingerprint and the payload, or why it does not verify.
 *
 * @example
 * ```ts
 * import { verifyEnvelope } from "./dsse.ts";
 * const v = await verifyEnvelope({ payloadType: "t", payload: "aGk=", signatures: [] }, []);
 * console.assert(!v.ok);
 * ```
 */
export async function verifyEnvelope(
  envelope: unknown,
  trusted: readonly string[],
): Promise<EnvelopeVerification> {
  const e = envelope as Partial<Envelope> | null;
  if (
    !e || typeof e.payloadType !== "string" || typeof e.payload !== "string" ||
    !Array.isArray(e.signatures)
  ) {
    return { ok: false, reason: "not a DSSE envelope (payloadType, payload, signatures)" };
  }
  let payload: Uint8Array<ArrayBuffer>;
  try {
    payload = unbase64(e.payload);
  } catch {
    return { ok: false, reason: "its payload is not base64" };
  }
  if (e.signatures.length === 0) return { ok: false, reason: "it carries no signature" };
  const keys = new Map<string, string>();
  for (const k of trusted) keys.set(await fingerprintOf(k), k);
  const message = pae(e.payloadType, payload);
  const seen: string[] = [];
  for (const s of e.signatures) {
    const keyid = typeof s?.keyid === "string" ? s.keyid : "";
    seen.push(keyid || "(no keyid)");
    const pub = keys.get(keyid);
    if (!pub || typeof s.sig !== "string") continue;
    try {
      const der = unbase64(pub.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
      const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, [
        "verify",
      ]);
      if (await crypto.subtle.verify("Ed25519", key, unbase64(s.sig), message)) {
        return { ok: true, keyid, payload };
      }
      return { ok: false, reason: `the signature by ${keyid} does not verify (altered)` };
    } catch {
      return { ok: false, reason: `the signature by ${keyid} is malformed` };
    }
  }
  return {
    ok: false,
    reason: `signed by ${seen.join(", ")}: no key the environment file trusts`,
  };
}
