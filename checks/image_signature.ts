/**
 * The image's cosign signature verifies with one of the given public keys — the keys of the
 * environment's `deployment.image_signing` (and, in the sandbox, the keys of what its
 * registry holds). The reference checked is the one deployed: a digest-pinned reference is
 * verified at that digest, so a tag re-pushed after signing does not pass for it. `cosign
 * verify --key` when cosign is installed (each key in turn, handed over in an environment
 * variable: no key file to write; no transparency log, as the build uploads none), else the
 * built-in verifier of cosign's key-based format. Running cosign needs `run` (full trust).
 * @module
 */
import type { Check, CheckOutcome } from "../lib/dsl/types.ts";
import { parseImageReference } from "../lib/probes/oci_registry.ts";
import { verifyImageSignature } from "../lib/companions/cosign.ts";
import { getManifest, type RegistryAccess } from "../lib/companions/oci.ts";
import { fail, pass } from "./_outcome.ts";

/** Options for {@linkcode imageSignedBy}. */
export interface ImageSignedByOptions {
  /** Whether a failure fails the stage (default true). */
  readonly required?: boolean;
  /** The check's name (default `Image signature valid: <image>`). */
  readonly name?: string;
  /** Read the image and its signature from this registry (`host:port`) instead of its own. */
  readonly mirror?: string | undefined;
  /**
   * `cosign` to try first (default `cosign`); `false`: only the built-in verifier (where
   * the registry is a mirror cosign would not be pointed at).
   */
  readonly cosign?: string | false;
  /** How requests reach the registry (credentials: `lib/companions/registry_auth.ts`). */
  readonly fetch?: typeof fetch;
  /** cosign's deadline in milliseconds (default 120 000). */
  readonly timeoutMs?: number;
}

const KEY_VARIABLE = "TRACKTION_IMAGE_PUBLIC_KEY";
const IMAGE_CONFIG = [
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
];

/** `cosign verify --key env://...` with each key; undefined when cosign is not installed. */
async function withCosign(
  command: string,
  image: string,
  keys: readonly string[],
  o: { timeoutMs: number; signal: AbortSignal },
): Promise<CheckOutcome | undefined> {
  const args = ["verify", "--key", `env://${KEY_VARIABLE}`, "--insecure-ignore-tlog=true", image];
  const outputs: string[] = [];
  for (const [i, key] of keys.entries()) {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(command, {
        args,
        env: { [KEY_VARIABLE]: key },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.any([AbortSignal.timeout(o.timeoutMs), o.signal]),
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        return fail(
          `no permission to run ${command}: declare permissions({ run: ["${command}"] })`,
          { image, command },
        );
      }
      throw err;
    }
    const text = new TextDecoder().decode(out.code === 0 ? out.stdout : out.stderr).trim();
    if (out.code === 0) {
      return pass(`Signature of ${image} verified by cosign with key ${i + 1}`, {
        image,
        verifier: "cosign",
        command,
        args,
        key: i + 1,
      });
    }
    outputs.push(`key ${i + 1}: ${text.split("\n").slice(-2).join(" ")}`);
  }
  return fail(`cosign verify failed for ${image} with every key: ${outputs.join("; ")}`, {
    image,
    verifier: "cosign",
    command,
    args,
    keys: keys.length,
  });
}

/**
 * The image's signature verifies with one of `publicKeys` (PEM). No key is a failure
 * saying the environment names none.
 *
 * @param image The reference deployed (`<registry>/<repo>:<tag>@sha256:...` checks that digest).
 * @param publicKeys The PEM public keys any of which may verify.
 * @param options Required, mirror, cosign, fetch.
 * @returns The check; evidence: image, verifier, registry, digest, signatures.
 * @throws {SyntaxError} When the reference is malformed (when the check is built).
 *
 * @example
 * ```ts
 * import { imageSignedBy } from "./image_signature.ts";
 * import assert from "node:assert/strict";
 * const check = imageSignedBy("ghcr.io/t/a:1.2.4", []);
 * assert.equal((await check.run({ signal: new AbortController().signal } as never)).ok, false);
 * ```
 */
export function imageSignedBy(
  image: string,
  publicKeys: readonly string[],
  options: ImageSignedByOptions = {},
): Check {
  const ref = parseImageReference(image);
  return {
    name: options.name ?? `Image signature valid: ${image}`,
    required: options.required ?? true,
    run: async (ctx) => {
      if (publicKeys.length === 0) {
        return fail(
          `no public key to verify ${image} with: the environment's deployment.image_signing ` +
            "names none",
          { image },
        );
      }
      if (options.cosign !== false && options.mirror === undefined) {
        const done = await withCosign(options.cosign ?? "cosign", image, publicKeys, {
          timeoutMs: options.timeoutMs ?? 120_000,
          signal: ctx.signal,
        });
        if (done) return done;
      }
      const host = options.mirror ?? ref.registry;
      const access: RegistryAccess = {
        host,
        plainHttp: /^(127\.|localhost[:]|\[::1\])/.test(host),
        signal: ctx.signal,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      };
      const verdict = await verifyImageSignature(
        access,
        ref.repository,
        ref.digest ?? ref.tag ?? "latest",
        publicKeys.join("\n"),
      );
      const evidence: Record<string, unknown> = {
        image,
        verifier: "built-in (cosign format, key-based)",
        registry: host,
        keys: publicKeys.length,
        digest: verdict.digest,
        signatureTag: verdict.signatureTag,
        signatures: verdict.signatures,
        verified: verdict.verified,
        ...(verdict.identity ? { identity: verdict.identity } : {}),
      };
      if (ref.digest && verdict.digest && verdict.digest !== ref.digest) {
        return fail(`${image}: the registry serves ${verdict.digest}, not the digest deployed`, {
          ...evidence,
        });
      }
      if (!verdict.ok) return fail(verdict.message, evidence);
      // A signed artifact that is not an image (the SBOM, signed with the same key) is not
      // something to run: its digest is refused as the image deployed.
      const found = await getManifest(access, ref.repository, verdict.digest!);
      const config = found?.manifest.config?.mediaType ?? "";
      if (!found || found.manifest.artifactType !== undefined || !IMAGE_CONFIG.includes(config)) {
        return fail(
          `${image} is not an image (${
            found?.manifest.artifactType ?? (config || "no manifest")
          }): refusing a signed artifact as what is deployed`,
          evidence,
        );
      }
      return pass(`Signature of ${image} verified (${verdict.digest})`, evidence);
    },
  };
}
