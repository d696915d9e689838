/**
 * Image checks: the image is in its registry (OCI distribution API), its signature
 * verifies (`cosign`), it has no vulnerability at or above a severity (`grype`), and no
 * reference uses `:latest`. A required tool that is not installed is a failing
 * result that says so, never a silent pass. Running a tool needs `run` permission,
 * which is full trust.
 * @module
 */
import type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import { headManifest, parseImageReference } from "../lib/probes/oci_registry.ts";
import { verifyImageSignature } from "../lib/companions/cosign.ts";
import { describeError } from "../lib/probes/timeout.ts";
import {
  type CommonCheckOptions,
  fail,
  pass,
  redact,
  resolveSecret,
  type SecretInput,
} from "./_outcome.ts";

/** Options for {@linkcode imageExists}. */
export interface ImageExistsOptions extends CommonCheckOptions {
  /** Use `http:` (default: only for loopback registries). */
  readonly plainHttp?: boolean;
  /** Registry credentials (the password is a secret input, never shown). */
  readonly credentials?: { readonly username: string; readonly password: SecretInput };
  /** Deadline in milliseconds (default 15 000). */
  readonly timeoutMs?: number;
  /** Where a `secret_key_ref` password is read from (needs `uses("kubernetes")`). */
  readonly secretNamespace?: string;
  /**
   * Look the image up at this registry (`host:port`) instead of its own: a mirror holding
   * the same repositories (e.g. the sandbox's companion registry). Recorded as evidence.
   */
  readonly mirror?: string | undefined;
}

/**
 * The image's manifest exists in its registry (the seed's `docker manifest inspect`):
 * `HEAD /v2/<name>/manifests/<tag|digest>` with the OCI and Docker manifest types,
 * answering a bearer-token challenge. A digest-pinned reference must match.
 *
 * @param image The image reference, e.g. `ghcr.io/tracktion/analysis-service:1.2.4`.
 * @param options Scheme, credentials, deadline, name, required.
 * @returns The check; evidence: image, registry, repository, reference, status, digest, mediaType, auth.
 * @throws {SyntaxError} When the reference is malformed (when the check is built).
 *
 * @example
 * ```ts
 * import { imageExists } from "./images.ts";
 * import assert from "node:assert/strict";
 * const check = imageExists("ghcr.io/tracktion/analysis-service:1.2.4");
 * assert.equal(check.name, "Image exists: ghcr.io/tracktion/analysis-service:1.2.4");
 * ```
 */
export function imageExists(image: string, options: ImageExistsOptions = {}): Check {
  const named = parseImageReference(image);
  const ref = options.mirror ? { ...named, registry: options.mirror } : named;
  return {
    name: options.name ?? `Image exists: ${image}`,
    required: options.required ?? true,
    run: async (ctx: StageContext): Promise<CheckOutcome> => {
      const evidence: Record<string, unknown> = {
        image,
        registry: ref.registry,
        repository: ref.repository,
        reference: ref.digest ?? ref.tag,
        ...(options.mirror ? { mirror: options.mirror } : {}),
      };
      let password: string | undefined;
      if (options.credentials) {
        const secret = await resolveSecret(options.credentials.password, {
          ctx,
          namespace: options.secretNamespace,
        });
        if ("error" in secret) return fail(`Registry password unavailable: ${secret.error}`);
        password = secret.value;
      }
      try {
        const result = await headManifest(ref, {
          signal: ctx.signal,
          ...(options.plainHttp !== undefined ? { plainHttp: options.plainHttp } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.credentials && password !== undefined
            ? { credentials: { username: options.credentials.username, password } }
            : {}),
        });
        Object.assign(evidence, {
          status: result.status,
          digest: result.digest,
          mediaType: result.mediaType,
          size: result.size,
          auth: result.auth,
        });
        const where = options.mirror ? `the registry ${options.mirror}` : "the registry";
        if (result.status === 404) return fail(`Image ${image} is not in ${where}`, evidence);
        if (result.status === 401 || result.status === 403) {
          return fail(`Registry refused access to ${image} (HTTP ${result.status})`, evidence);
        }
        if (result.status !== 200) {
          return fail(`Registry answered HTTP ${result.status} for ${image}`, evidence);
        }
        if (ref.digest && result.digest && result.digest !== ref.digest) {
          return fail(
            `Registry serves ${result.digest} for ${image}, not the pinned digest`,
            evidence,
          );
        }
        return pass(
          `Image ${image} is in ${where} (${result.digest ?? "no digest sent"})`,
          evidence,
        );
      } catch (err) {
        // headManifest's errors are already one readable line without credentials.
        const reason = redact(err instanceof Error ? err.message : String(err), [password]);
        return fail(reason, { ...evidence, error: reason });
      }
    },
  };
}

/**
 * No image reference uses `:latest`, written or implied (a reference with neither tag
 * nor digest means `latest`). Digest-pinned references always pass.
 *
 * @param images The image references (e.g. every container of every Deployment).
 * @param options Name, required.
 * @returns The check; evidence: images (count), latest (the offending references).
 *
 * @example
 * ```ts
 * import { noLatestTag } from "./images.ts";
 * import assert from "node:assert/strict";
 * const outcome = await noLatestTag(["ghcr.io/t/a:latest", "ghcr.io/t/b:1.2.4"]).run({} as never);
 * assert.equal(outcome.ok, false);
 * ```
 */
export function noLatestTag(images: readonly string[], options: CommonCheckOptions = {}): Check {
  return {
    name: options.name ?? "Image tags correct (no :latest)",
    required: options.required ?? true,
    run: () => {
      const latest: string[] = [];
      const invalid: string[] = [];
      for (const image of images) {
        try {
          const ref = parseImageReference(image);
          if (!ref.digest && ref.tag === "latest") latest.push(image);
        } catch {
          invalid.push(image);
        }
      }
      const evidence = { images: images.length, latest, invalid };
      if (latest.length > 0 || invalid.length > 0) {
        return fail(
          [
            ...(latest.length ? [`images use :latest: ${latest.join(", ")}`] : []),
            ...(invalid.length ? [`invalid references: ${invalid.join(", ")}`] : []),
          ].join("; "),
          evidence,
        );
      }
      return pass(`${images.length} image references are pinned (no :latest)`, evidence);
    },
  };
}

/** Options for the tool-backed checks. */
export interface ToolCheckOptions extends CommonCheckOptions {
  /** The program to run (default `cosign` / `grype`, looked up on PATH). */
  readonly command?: string;
  /** Deadline in milliseconds (default 120 000). */
  readonly timeoutMs?: number;
  /** Extra arguments placed before the image. */
  readonly args?: readonly string[];
}

/** Runs a tool; distinguishes "not installed" and "not allowed" from its own failure. */
async function runTool(
  tool: string,
  command: string,
  args: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<
  | { kind: "missing"; message: string }
  | { kind: "denied"; message: string }
  | { kind: "ran"; code: number; stdout: string; stderr: string; timedOut: boolean }
> {
  const deadline = AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]);
  try {
    const output = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: deadline,
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return {
      kind: "ran",
      code: output.code,
      stdout: decode(output.stdout),
      stderr: decode(output.stderr),
      timedOut: deadline.aborted,
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { kind: "missing", message: `${tool} is not installed` };
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return {
        kind: "denied",
        message:
          `no permission to run ${command}: declare permissions({ run: ["${command}"] }) (full trust)`,
      };
    }
    return { kind: "missing", message: `${tool} could not be started: ${describeError(err)}` };
  }
}

function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * The image's signature verifies with `cosign verify` (a key, or keyless identity and
 * issuer). If cosign is not installed the check FAILS ("cosign is not installed:
 * cannot verify signatures"); pass `required: false` to make that a warning.
 *
 * @param image The image reference.
 * @param options `key`, `certificateIdentity`, `certificateOidcIssuer`, command, args,
 *   deadline, name, required.
 * @returns The check; evidence: image, command, exitCode, output tail.
 *
 * @example
 * ```ts
 * import { imageSignature } from "./images.ts";
 * import assert from "node:assert/strict";
 * assert.equal(imageSignature("ghcr.io/t/a:1.2.4").name, "Image signature valid: ghcr.io/t/a:1.2.4");
 * ```
 */
export function imageSignature(
  image: string,
  options: ToolCheckOptions & {
    readonly key?: string;
    readonly certificateIdentity?: string;
    readonly certificateOidcIssuer?: string;
    /**
     * A public key's PEM text: verify in TypeScript (cosign's key-based format, no
     * transparency log) instead of running cosign.
     */
    readonly publicKey?: string | undefined;
    /** With `publicKey`: read the image and its signature from this registry (`host:port`). */
    readonly mirror?: string | undefined;
  } = {},
): Check {
  const command = options.command ?? "cosign";
  return {
    name: options.name ?? `Image signature valid: ${image}`,
    required: options.required ?? true,
    run: async (ctx) => {
      if (options.publicKey !== undefined) return await verifyBuiltIn(image, options, ctx.signal);
      const args = [
        "verify",
        ...(options.key ? ["--key", options.key] : []),
        ...(options.certificateIdentity
          ? ["--certificate-identity", options.certificateIdentity]
          : []),
        ...(options.certificateOidcIssuer
          ? ["--certificate-oidc-issuer", options.certificateOidcIssuer]
          : []),
        ...(options.args ?? []),
        image,
      ];
      const r = await runTool("cosign", command, args, options.timeoutMs ?? 120_000, ctx.signal);
      const evidence: Record<string, unknown> = { image, command, args };
      if (r.kind === "missing") {
        return fail(`${r.message}: cannot verify signatures`, { ...evidence, installed: false });
      }
      if (r.kind === "denied") return fail(r.message, evidence);
      Object.assign(evidence, { exitCode: r.code, output: tail(r.stderr || r.stdout) });
      if (r.timedOut) return fail(`cosign verify timed out for ${image}`, evidence);
      if (r.code !== 0) {
        return fail(`cosign verify failed for ${image} (exit ${r.code})`, evidence);
      }
      return pass(`Signature of ${image} verified`, evidence);
    },
  };
}

/** Verifies a cosign signature with a public key, in TypeScript. */
async function verifyBuiltIn(
  image: string,
  options: { readonly publicKey?: string | undefined; readonly mirror?: string | undefined },
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const ref = parseImageReference(image);
  const host = options.mirror ?? ref.registry;
  const loopback = /^(127\.|localhost[:]|\[::1\])/.test(host);
  const verdict = await verifyImageSignature(
    { host, plainHttp: loopback, signal },
    ref.repository,
    ref.digest ?? ref.tag ?? "latest",
    options.publicKey ?? "",
  );
  const evidence: Record<string, unknown> = {
    image,
    verifier: "built-in (cosign format, key-based)",
    registry: host,
    digest: verdict.digest,
    signatureTag: verdict.signatureTag,
    signatures: verdict.signatures,
    verified: verdict.verified,
    ...(verdict.identity ? { identity: verdict.identity } : {}),
  };
  return verdict.ok
    ? pass(`Signature of ${image} verified (${verdict.digest})`, evidence)
    : fail(verdict.message, evidence);
}

/** grype's severities, lowest first. */
export const SEVERITIES = ["negligible", "low", "medium", "high", "critical"] as const;
/** A grype severity. */
export type Severity = typeof SEVERITIES[number];

/**
 * The image has no vulnerability at or above `failOn` (default `high`), by
 * `grype <image> -o json`. If grype is not installed the check FAILS; pass
 * `required: false` to make that a warning.
 *
 * @param image The image reference.
 * @param options `failOn`, command, args, deadline, name, required.
 * @returns The check; evidence: image, counts per severity, blocking (up to 20 ids).
 *
 * @example
 * ```ts
 * import { imageVulnerabilities } from "./images.ts";
 * import assert from "node:assert/strict";
 * assert.equal(imageVulnerabilities("ghcr.io/t/a:1.2.4").name, "Image vulnerability scan: ghcr.io/t/a:1.2.4");
 * ```
 */
export function imageVulnerabilities(
  image: string,
  options: ToolCheckOptions & { readonly failOn?: Severity } = {},
): Check {
  const command = options.command ?? "grype";
  const failOn = options.failOn ?? "high";
  const threshold = SEVERITIES.indexOf(failOn);
  return {
    name: options.name ?? `Image vulnerability scan: ${image}`,
    required: options.required ?? true,
    run: async (ctx) => {
      const args = [image, "-o", "json", ...(options.args ?? [])];
      const r = await runTool("grype", command, args, options.timeoutMs ?? 600_000, ctx.signal);
      const evidence: Record<string, unknown> = { image, command, failOn };
      if (r.kind === "missing") {
        return fail(`${r.message}: cannot scan for vulnerabilities`, {
          ...evidence,
          installed: false,
        });
      }
      if (r.kind === "denied") return fail(r.message, evidence);
      if (r.timedOut) return fail(`grype timed out scanning ${image}`, evidence);
      let report: { matches?: { vulnerability?: { id?: string; severity?: string } }[] };
      try {
        report = JSON.parse(r.stdout);
      } catch {
        return fail(`grype failed for ${image} (exit ${r.code})`, {
          ...evidence,
          exitCode: r.code,
          output: tail(r.stderr),
        });
      }
      const counts: Record<string, number> = {};
      const blocking: string[] = [];
      for (const match of report.matches ?? []) {
        const severity = (match.vulnerability?.severity ?? "unknown").toLowerCase();
        counts[severity] = (counts[severity] ?? 0) + 1;
        if (SEVERITIES.indexOf(severity as Severity) >= threshold) {
          blocking.push(`${match.vulnerability?.id ?? "?"} (${severity})`);
        }
      }
      Object.assign(evidence, { exitCode: r.code, counts, blocking: blocking.slice(0, 20) });
      if (blocking.length > 0) {
        return fail(
          `${image} has ${blocking.length} vulnerabilit${
            blocking.length > 1 ? "ies" : "y"
          } at or above ${failOn}`,
          evidence,
        );
      }
      return pass(`${image} has no vulnerability at or above ${failOn}`, evidence);
    },
  };
}
