/**
 * The schema of `deployment.image_signing`: the public keys image signatures (cosign's
 * format, ECDSA P-256) must verify with — inline PEM (`-----BEGIN PUBLIC KEY-----`, SPKI),
 * checked when the file is loaded, so a bad key is a configuration error before anything runs.
 * @module
 */
import { z } from "zod";

// The DER of an ECDSA P-256 SubjectPublicKeyInfo: a fixed 26-byte header (id-ecPublicKey,
// prime256v1, the BIT STRING's tag and length) and the 65-byte uncompressed point (04 x y).
const P256_SPKI_HEADER = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
const HINT = "an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY----- ... as " +
  "`openssl pkey -pubout` or cosign.pub writes it)";

/** Whether a text is one ECDSA P-256 public key in PEM (SPKI). */
function isP256PublicKeyPem(value: string): boolean {
  const m = /^-----BEGIN PUBLIC KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/
    .exec(value.trim());
  if (!m) return false;
  try {
    const bytes = Uint8Array.from(atob(m[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    const header = Array.from(bytes.subarray(0, 26), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    return bytes.length === 91 && header === P256_SPKI_HEADER && bytes[26] === 4;
  } catch {
    return false;
  }
}

/** `deployment.image_signing:` — what a deployed image's signature must verify with. */
export const imageSigningSchema: z.ZodType<{ public_keys: string[] }> = z.strictObject({
  public_keys: z.array(
    z.string({ error: `expected ${HINT}` }).refine(isP256PublicKeyPem, {
      error: `expected ${HINT}`,
    }),
    { error: "expected a list of public keys" },
  ).min(1, { error: "expected at least one public key" }).describe(
    "the public keys (PEM) a deployed image's cosign signature must verify with (any of them)",
  ),
}, { error: "expected a mapping with public_keys" });
