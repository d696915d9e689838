/**
 * Just enough of the OCI distribution API to ask whether a manifest exists: image
 * reference parsing (Docker's normalisation rules), `HEAD`/`GET
 * /v2/<name>/manifests/<reference>` with the manifest media types, and the
 * bearer-token challenge (`WWW-Authenticate: Bearer realm=...,service=...,scope=...`).
 * @module
 */
import { deadlineSignal, describeError } from "./timeout.ts";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host (and port), e.g. `ghcr.io`, `registry-1.docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, e.g. `tracktion/analysis-service`. */
  readonly repository: string;
  /** The tag, when given (or `latest` when neither tag nor digest is). */
  readonly tag?: string;
  /** The digest, when given (`sha256:...`). */
  readonly digest?: string;
  /** True when the tag was not written and defaulted to `latest`. */
  readonly implicitLatest: boolean;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Parses an image reference the way Docker does: a first component with a `.` or `:`
 * (or `localhost`) is the registry; otherwise it is Docker Hub (and a one-component
 * name gets `library/`).
 *
 * @param ref E.g. `ghcr.io/tracktion/analysis-service:1.2.4` or `nginx@sha256:...`.
 * @returns The parsed reference.
 * @throws {SyntaxError} For a malformed reference.
 *
 * @example
 * ```ts
 * import { parseImageReference } from "./oci_registry.ts";
 * import assert from "node:assert/strict";
 * const r = parseImageReference("ghcr.io/acme/api:1.2.4");
 * assert.equal(r.registry, "ghcr.io");
 * assert.equal(r.repository, "acme/api");
 * assert.equal(r.tag, "1.2.4");
 * assert.equal(parseImageReference("nginx").repository, "library/nginx");
 * ```
 */
export function parseImageReference(ref: string): ImageReference {
  const bad = (why: string) =>
    new SyntaxError(`Cannot parse image reference ${JSON.stringify(ref)}: ${why}`);
  let rest = ref.trim();
  if (!rest) throw bad("it is empty");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split("/");
  let registry = "docker.io";
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw bad("the repository name must be lowercase components separated by /");
  }
  if (registry === "docker.io") {
    registry = "registry-1.docker.io";
    if (parts.length === 1) parts.unshift("library");
  }
  const implicitLatest = tag === undefined && digest === undefined;
  return {
    registry,
    repository: parts.join("/"),
    ...(tag !== undefined ? { tag } : implicitLatest ? { tag: "latest" } : {}),
    ...(digest !== undefined ? { digest } : {}),
    implicitLatest,
  };
}

/** The manifest media types asked for (indexes first, so multi-arch images are found). */
const MANIFEST_MEDIA_TYPES: readonly string[] = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

/** Options for {@linkcode headManifest}. */
export interface ManifestProbeOptions {
  /** Use `http:` (default: only for loopback registries such as `127.0.0.1:5000`). */
  readonly plainHttp?: boolean;
  /** Registry credentials for the token service or basic auth. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Deadline for the whole exchange in milliseconds (default 15 000). */
  readonly timeoutMs?: number;
  /** A signal to follow. */
  readonly signal?: AbortSignal;
}

/** What the registry said about a manifest. */
export interface ManifestProbeResult {
  /** The final HTTP status (200 found, 404 not found, 401/403 refused...). */
  readonly status: number;
  /** `Docker-Content-Digest`, when sent. */
  readonly digest?: string;
  /** The manifest's media type. */
  readonly mediaType?: string;
  /** Its size in bytes. */
  readonly size?: number;
  /** How we authenticated: none, bearer token, or basic. */
  readonly auth: "none" | "bearer" | "basic";
  /** The URL asked (no credentials in it). */
  readonly url: string;
}

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * Parses a `WWW-Authenticate` header's scheme and parameters.
 *
 * @param header The header value.
 * @returns The scheme (lowercase) and its parameters.
 *
 * @example
 * ```ts
 * import { parseChallenge } from "./oci_registry.ts";
 * import assert from "node:assert/strict";
 * const c = parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io"');
 * assert.deepEqual(c, { scheme: "bearer", params: { realm: "https://ghcr.io/token", service: "ghcr.io" } });
 * ```
 */
export function parseChallenge(
  header: string,
): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)=(?:"((?:\\.|[^"\\])*)"|([^,\s]*))/g;
  for (const m of header.slice(space + 1).matchAll(re)) {
    params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme, params };
}

function basic(credentials: { username: string; password: string }): string {
  return `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`;
}

/**
 * Asks a registry for an image's manifest (`HEAD`, then `GET` when the registry does
 * not answer HEAD), answering a bearer or basic challenge once.
 *
 * @param image The parsed reference.
 * @param options Scheme, credentials, deadline, signal.
 * @returns What the registry said.
 * @throws {Error} When the registry cannot be reached or the token service fails
 *   (the message never contains the credentials).
 */
export async function headManifest(
  image: ImageReference,
  options: ManifestProbeOptions = {},
): Promise<ManifestProbeResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const signal = deadlineSignal(timeoutMs, options.signal);
  const scheme = (options.plainHttp ?? isLoopback(image.registry)) ? "http" : "https";
  const reference = image.digest ?? image.tag ?? "latest";
  const url = `${scheme}://${image.registry}/v2/${image.repository}/manifests/${reference}`;
  const accept = MANIFEST_MEDIA_TYPES.join(", ");
  let authorization: string | undefined;
  let auth: ManifestProbeResult["auth"] = "none";
  try {
    for (let round = 0; round < 2; round++) {
      let response = await fetch(url, {
        method: "HEAD",
        headers: { accept, ...(authorization ? { authorization } : {}) },
        signal,
      });
      if (response.status === 405 || response.status === 501) {
        response = await fetch(url, {
          headers: { accept, ...(authorization ? { authorization } : {}) },
          signal,
        });
      }
      const body = response.body ? await response.text() : "";
      if (response.status === 401 && round === 0) {
        const challenge = parseChallenge(response.headers.get("www-authenticate") ?? "");
        if (challenge.scheme === "bearer" && challenge.params.realm) {
          authorization = `Bearer ${await fetchToken(image, challenge.params, options, signal)}`;
          auth = "bearer";
          continue;
        }
        if (challenge.scheme === "basic" && options.credentials) {
          authorization = basic(options.credentials);
          auth = "basic";
          continue;
        }
      }
      const digest = response.headers.get("docker-content-digest") ?? undefined;
      const mediaType = response.headers.get("content-type")?.split(";")[0] ?? undefined;
      const length = Number(response.headers.get("content-length") ?? body.length);
      return {
        status: response.status,
        url,
        auth,
        ...(digest ? { digest } : {}),
        ...(response.ok && mediaType ? { mediaType } : {}),
        ...(response.ok && Number.isFinite(length) ? { size: length } : {}),
      };
    }
    throw new Error("the registry refused the token it issued");
  } catch (err) {
    const reason = describeError(signal.aborted ? signal.reason : err, timeoutMs);
    const secret = options.credentials?.password;
    throw new Error(
      `Cannot reach registry ${image.registry}: ${
        secret ? reason.split(secret).join("***") : reason
      }`,
    );
  }
}

async function fetchToken(
  image: ImageReference,
  params: Record<string, string>,
  options: ManifestProbeOptions,
  signal: AbortSignal,
): Promise<string> {
  const realm = new URL(params.realm!);
  if (params.service) realm.searchParams.set("service", params.service);
  realm.searchParams.set("scope", params.scope ?? `repository:${image.repository}:pull`);
  const response = await fetch(realm, {
    headers: options.credentials ? { authorization: basic(options.credentials) } : {},
    signal,
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`token service ${realm.origin}${realm.pathname} answered ${response.status}`);
  }
  let body: { token?: unknown; access_token?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`token service ${realm.origin}${realm.pathname} did not answer JSON`);
  }
  const token = body.token ?? body.access_token;
  if (typeof token !== "string" || !token) {
    throw new Error(`token service ${realm.origin}${realm.pathname} returned no token`);
  }
  return token;
}
