/**
 * Cosign-format image signatures, in TypeScript (WebCrypto, ECDSA P-256 with SHA-256):
 * the "simple signing" payload naming the image's manifest digest, pushed as the layer
 * of a manifest tagged `sha256-<hex>.sig` beside the image, its base64 ASN.1 signature in
 * the layer's `dev.cosignproject.cosign/signature` annotation — what `cosign sign --key`
 * writes and `cosign verify --key` reads (without a transparency log). Signing is what
 * a companion registry does for the images it holds; verifying is what a check does when
 * `cosign` is not installed.
 * @module
 */
import {
  type Descriptor,
  getBlob,
  getManifest,
  type ImageManifest,
  pushBlob,
  putManifest,
  type RegistryAccess,
} from "./oci.ts";

/** The media type of a simple-signing payload layer. */
export const SIMPLE_SIGNING_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The annotation that carries the base64 signature. */
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** The payload's `critical.type`. */
export const SIGNATURE_TYPE = "cosign container image signature";

/** The simple-signing payload (the part cosign reads). */
export interface SimpleSigningPayload {
  readonly critical: {
    readonly identity: { readonly "docker-reference": string };
    readonly image: { readonly "docker-manifest-digest": string };
    readonly type: string;
  };
  readonly optional: Record<string, unknown> | null;
}

/**
 * The tag cosign stores an image's signatures under.
 *
 * @param digest The image's manifest digest, `sha256:<hex>`.
 * @returns `sha256-<hex>.sig`.
 *
 * @example
 * ```ts
 * import { signatureTag } from "./cosign.ts";
 * import assert from "node:assert/strict";
 * assert.equal(signatureTag("sha256:ab12"), "sha256-ab12.sig");
 * ```
 */
export function signatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

/** A signing key pair (ECDSA P-256) and its public key as PEM (cosign's `cosign.pub`). */
export interface SigningKey {
  /** The private key (never exported). */
  readonly privateKey: CryptoKey;
  /** The public key, `-----BEGIN PUBLIC KEY-----` (SPKI). */
  readonly publicKeyPem: string;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/**
 * Generates a key pair to sign with.
 *
 * @returns The key; only the public half can leave it.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from "./cosign.ts";
 * import assert from "node:assert/strict";
 * const key = await generateSigningKey();
 * assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
 * ```
 */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const lines = toBase64(spki).match(/.{1,64}/g) ?? [];
  const publicKeyPem = `-----BEGIN PUBLIC KEY-----\n${
    lines.join("\n")
  }\n-----END PUBLIC KEY-----\n`;
  return { privateKey: pair.privateKey, publicKeyPem };
}

/** Every key of a PEM text (one key, or a bundle of several: any of them may verify). */
async function importPublicKeys(pem: string): Promise<CryptoKey[]> {
  const bodies = [...pem.matchAll(/-----BEGIN PUBLIC KEY-----([^-]*)-----END PUBLIC KEY-----/g)]
    .map((m) => m[1]!);
  if (bodies.length === 0) throw new SyntaxError("no PEM public key");
  return await Promise.all(bodies.map((body) =>
    crypto.subtle.importKey(
      "spki",
      fromBase64(body) as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    )
  ));
}

function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const pad = (trimmed[0] ?? 0) & 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + trimmed.length);
  out[0] = 0x02;
  out[1] = pad + trimmed.length;
  out.set(trimmed, 2 + pad);
  return out;
}

/** WebCrypto's raw `r || s` as ASN.1 DER (what cosign writes). */
function rawToDer(raw: Uint8Array): Uint8Array {
  const r = derInteger(raw.subarray(0, 32));
  const s = derInteger(raw.subarray(32, 64));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

/** ASN.1 DER `SEQUENCE { r, s }` as raw `r || s`; undefined when it is not one. */
function derToRaw(der: Uint8Array): Uint8Array | undefined {
  if (der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(64);
  let at = 2;
  for (const slot of [0, 32]) {
    if (der[at] !== 0x02) return undefined;
    const len = der[at + 1] ?? 0;
    let value = der.subarray(at + 2, at + 2 + len);
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32) return undefined;
    out.set(value, slot + 32 - value.length);
    at += 2 + len;
  }
  return at === der.length ? out : undefined;
}

/** What {@linkcode signImage} pushed. */
export interface PushedSignature {
  /** The signed manifest digest. */
  readonly digest: string;
  /** The signature's tag. */
  readonly tag: string;
}

/**
 * Signs an image in a registry the way `cosign sign --key` does: a payload naming its
 * digest and `identity` (the image's name), the signature manifest under
 * `sha256-<hex>.sig`.
 *
 * @param access The registry.
 * @param repository The image's repository there.
 * @param digest The image's manifest digest.
 * @param identity The `docker-reference` to name (e.g. `ghcr.io/team/app`).
 * @param key The signing key.
 * @returns The digest and the signature's tag.
 *
 * @example
 * ```ts ignore
 * import { generateSigningKey, signImage } from "./cosign.ts";
 * await signImage({ host: "127.0.0.1:5000" }, "team/app", digest, "ghcr.io/team/app", await generateSigningKey());
 * ```
 */
export async function signImage(
  access: RegistryAccess,
  repository: string,
  digest: string,
  identity: string,
  key: SigningKey,
): Promise<PushedSignature> {
  const payload: SimpleSigningPayload = {
    critical: {
      identity: { "docker-reference": identity },
      image: { "docker-manifest-digest": digest },
      type: SIGNATURE_TYPE,
    },
    optional: null,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      key.privateKey,
      bytes as Uint8Array<ArrayBuffer>,
    ),
  );
  const layer = await pushBlob(access, repository, bytes);
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: "",
    os: "",
    config: {},
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  }));
  const configBlob = await pushBlob(access, repository, config);
  const tag = signatureTag(digest);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers: [{
      mediaType: SIMPLE_SIGNING_TYPE,
      ...layer,
      annotations: { [SIGNATURE_ANNOTATION]: toBase64(rawToDer(raw)) },
    }],
  };
  await putManifest(access, repository, tag, manifest);
  return { digest, tag };
}

/** What {@linkcode verifyImageSignature} found. */
export interface SignatureVerdict {
  /** A signature by the key verified over a payload naming this digest. */
  readonly ok: boolean;
  /** One line: what verified, or why not. */
  readonly message: string;
  /** The image's manifest digest (undefined: the image is not there). */
  readonly digest?: string | undefined;
  /** The signature tag looked at. */
  readonly signatureTag?: string | undefined;
  /** Signature layers seen, and how many verified. */
  readonly signatures: number;
  /** How many of them verified. */
  readonly verified: number;
  /** The `docker-reference` of the verified payload. */
  readonly identity?: string | undefined;
}

async function verifyLayer(
  access: RegistryAccess,
  repository: string,
  layer: Descriptor,
  digest: string,
  keys: readonly CryptoKey[],
): Promise<{ ok: true; identity: string } | { ok: false; why: string }> {
  const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (!sig) return { ok: false, why: `layer ${layer.digest} has no ${SIGNATURE_ANNOTATION}` };
  const bytes = await getBlob(access, repository, layer.digest);
  const raw = derToRaw(fromBase64(sig));
  if (!raw) return { ok: false, why: "the signature is not an ASN.1 ECDSA signature" };
  let valid = false;
  for (const key of keys) {
    valid ||= await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      raw as Uint8Array<ArrayBuffer>,
      bytes as Uint8Array<ArrayBuffer>,
    );
  }
  if (!valid) {
    return {
      ok: false,
      why: `the signature does not verify with the key${keys.length > 1 ? "s" : ""}`,
    };
  }
  let payload: SimpleSigningPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { ok: false, why: "the signed payload is not JSON" };
  }
  const c = payload?.critical;
  if (c?.type !== SIGNATURE_TYPE) return { ok: false, why: `the payload's type is ${c?.type}` };
  if (c.image?.["docker-manifest-digest"] !== digest) {
    return {
      ok: false,
      why: `the payload signs ${c.image?.["docker-manifest-digest"]}, not ${digest}`,
    };
  }
  const identity = c.identity?.["docker-reference"] ?? "";
  // The signer names the image as published; a mirror serves the same repository path.
  if (!identity.endsWith(`/${repository}`) && identity !== repository) {
    return { ok: false, why: `the payload names ${identity}, not the repository ${repository}` };
  }
  return { ok: true, identity };
}

/**
 * Verifies an image's cosign signature with a public key, as `cosign verify --key` does
 * (no transparency log): the image's digest, its `sha256-<hex>.sig` manifest, and for
 * each simple-signing layer the signature over the payload and the payload's digest.
 *
 * @param access The registry.
 * @param repository The repository.
 * @param reference The tag (or digest) being deployed.
 * @param publicKeyPem The key the signatures must verify with (PEM; a bundle of several PEM
 *   keys: a signature by any of them verifies).
 * @returns The verdict; registry errors are a failed verdict naming them.
 *
 * @example
 * ```ts ignore
 * import { verifyImageSignature } from "./cosign.ts";
 * const v = await verifyImageSignature({ host: "127.0.0.1:5000" }, "team/app", "1.0.0", pem);
 * console.log(v.ok, v.message);
 * ```
 */
export async function verifyImageSignature(
  access: RegistryAccess,
  repository: string,
  reference: string,
  publicKeyPem: string,
): Promise<SignatureVerdict> {
  const name = `${access.host}/${repository}:${reference}`;
  let key: CryptoKey[];
  try {
    key = await importPublicKeys(publicKeyPem);
  } catch (err) {
    return {
      ok: false,
      message: `the public key is not an ECDSA P-256 key: ${(err as Error).message}`,
      signatures: 0,
      verified: 0,
    };
  }
  try {
    const image = await getManifest(access, repository, reference);
    if (!image) {
      return { ok: false, message: `${name} is not in the registry`, signatures: 0, verified: 0 };
    }
    const tag = signatureTag(image.digest);
    const sig = await getManifest(access, repository, tag);
    const base = { digest: image.digest, signatureTag: tag };
    if (!sig) {
      return {
        ...base,
        ok: false,
        message: `${name} (${image.digest}) is not signed: no ${tag} in the registry`,
        signatures: 0,
        verified: 0,
      };
    }
    const layers = sig.manifest.layers.filter((l) => l.mediaType === SIMPLE_SIGNING_TYPE);
    const reasons: string[] = [];
    for (const layer of layers) {
      const r = await verifyLayer(access, repository, layer, image.digest, key);
      if (r.ok) {
        return {
          ...base,
          ok: true,
          message: `signature of ${name} (${image.digest}) verified with the key`,
          signatures: layers.length,
          verified: 1,
          identity: r.identity,
        };
      }
      reasons.push(r.why);
    }
    return {
      ...base,
      ok: false,
      message: `no signature of ${name} verifies: ${
        reasons.join("; ") || "no simple-signing layer"
      }`,
      signatures: layers.length,
      verified: 0,
    };
  } catch (err) {
    return {
      ok: false,
      message: `cannot verify ${name}: ${(err as Error).message}`,
      signatures: 0,
      verified: 0,
    };
  }
}
