/**
 * A small client for the OCI distribution API (`/v2/...`) of a registry without
 * authentication, as a companion registry on loopback is: push blobs and manifests, read
 * them back by tag or digest. Enough for pushing images and their cosign signatures, and
 * for verifying those signatures without `cosign`.
 * @module
 */

/** The media types a manifest read asks for (OCI and Docker v2, image or index). */
export const MANIFEST_TYPES: readonly string[] = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

/** One entry of a manifest's `layers` (or its `config`). */
export interface Descriptor {
  /** Its media type. */
  readonly mediaType: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
  /** Annotations (a cosign signature layer carries its signature here). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image manifest (the fields read here). */
export interface ImageManifest {
  /** Always 2. */
  readonly schemaVersion: number;
  /** The manifest's media type. */
  readonly mediaType?: string;
  /** The config blob. */
  readonly config: Descriptor;
  /** The layers. */
  readonly layers: readonly Descriptor[];
  /** An artifact's type (OCI 1.1), e.g. an SBOM's media type. */
  readonly artifactType?: string;
  /** The manifest this one refers to (OCI 1.1 referrers: an SBOM's or a signature's image). */
  readonly subject?: Descriptor;
  /** Annotations of the manifest. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Where a registry is and how to reach it. */
export interface RegistryAccess {
  /** `host:port`. */
  readonly host: string;
  /** Use `http:` (default true: a companion on loopback has no TLS). */
  readonly plainHttp?: boolean;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Stops the requests. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * `sha256:<hex>` of some bytes.
 *
 * @param bytes The bytes.
 * @returns Their digest.
 *
 * @example
 * ```ts
 * import { sha256Digest } from "./oci.ts";
 * import assert from "node:assert/strict";
 * assert.match(await sha256Digest(new Uint8Array()), /^sha256:e3b0c442/);
 * ```
 */
export async function sha256Digest(bytes: Uint8Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${
    Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

function base(access: RegistryAccess): string {
  return `${access.plainHttp === false ? "https" : "http"}://${access.host}`;
}

function fetchOf(access: RegistryAccess): typeof fetch {
  return access.fetch ?? fetch;
}

/**
 * Pushes a blob (monolithic upload: `POST` then `PUT ?digest=`); a blob already there
 * is not sent again.
 *
 * @param access The registry.
 * @param repository E.g. `team/app`.
 * @param bytes The blob.
 * @returns Its descriptor's digest and size.
 * @throws {Error} Naming the step and the HTTP status when the registry refuses.
 *
 * @example
 * ```ts ignore
 * import { pushBlob } from "./oci.ts";
 * await pushBlob({ host: "127.0.0.1:5000" }, "team/app", new TextEncoder().encode("{}"));
 * ```
 */
export async function pushBlob(
  access: RegistryAccess,
  repository: string,
  bytes: Uint8Array,
): Promise<{ digest: string; size: number }> {
  const digest = await sha256Digest(bytes);
  const f = fetchOf(access);
  const url = `${base(access)}/v2/${repository}/blobs/${digest}`;
  const head = await f(url, { method: "HEAD", signal: access.signal ?? null });
  await head.body?.cancel();
  if (head.status === 200) return { digest, size: bytes.byteLength };
  const start = await f(`${base(access)}/v2/${repository}/blobs/uploads/`, {
    method: "POST",
    signal: access.signal ?? null,
  });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) {
    throw new Error(
      `registry ${access.host} refused a blob upload to ${repository}: HTTP ${start.status}`,
    );
  }
  const target = new URL(location, base(access));
  target.searchParams.set("digest", digest);
  const put = await f(target, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes as Uint8Array<ArrayBuffer>,
    signal: access.signal ?? null,
  });
  await put.body?.cancel();
  if (put.status !== 201) {
    throw new Error(
      `registry ${access.host} refused blob ${digest} of ${repository}: HTTP ${put.status}`,
    );
  }
  return { digest, size: bytes.byteLength };
}

/**
 * Puts a manifest under a tag (or its digest).
 *
 * @param access The registry.
 * @param repository The repository.
 * @param reference The tag.
 * @param manifest The manifest (serialised here; its `mediaType` is the content type).
 * @returns The manifest's digest.
 * @throws {Error} With the registry's answer when it refuses.
 *
 * @example
 * ```ts ignore
 * import { putManifest } from "./oci.ts";
 * await putManifest({ host: "127.0.0.1:5000" }, "team/app", "1.0.0", manifest);
 * ```
 */
export async function putManifest(
  access: RegistryAccess,
  repository: string,
  reference: string,
  manifest: ImageManifest,
): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const res = await fetchOf(access)(`${base(access)}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    headers: { "content-type": manifest.mediaType ?? MANIFEST_TYPES[0]! },
    body: bytes,
    signal: access.signal ?? null,
  });
  const text = await res.text();
  if (res.status !== 201) {
    throw new Error(
      `registry ${access.host} refused manifest ${repository}:${reference}: HTTP ${res.status} ${
        text.slice(0, 200)
      }`,
    );
  }
  return await sha256Digest(bytes);
}

/**
 * Reads a manifest by tag or digest.
 *
 * @param access The registry.
 * @param repository The repository.
 * @param reference A tag or `sha256:...`.
 * @returns The manifest, its digest (computed from the bytes served) and its size in bytes, or
 *   `null` on 404.
 * @throws {Error} For another status, or a body that is not a manifest.
 *
 * @example
 * ```ts ignore
 * import { getManifest } from "./oci.ts";
 * const found = await getManifest({ host: "127.0.0.1:5000" }, "team/app", "1.0.0");
 * ```
 */
export async function getManifest(
  access: RegistryAccess,
  repository: string,
  reference: string,
): Promise<{ manifest: ImageManifest; digest: string; size: number } | null> {
  const res = await fetchOf(access)(`${base(access)}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_TYPES.join(", ") },
    signal: access.signal ?? null,
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) {
    throw new Error(
      `registry ${access.host} answered HTTP ${res.status} for ${repository}:${reference}`,
    );
  }
  const manifest = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest;
  if (!manifest || !Array.isArray(manifest.layers)) {
    throw new Error(`${repository}:${reference} is not an image manifest (no layers)`);
  }
  return { manifest, digest: await sha256Digest(bytes), size: bytes.byteLength };
}

/**
 * Reads a blob and checks it has the digest asked for.
 *
 * @param access The registry.
 * @param repository The repository.
 * @param digest `sha256:...`.
 * @returns The bytes.
 * @throws {Error} When it is missing or its bytes have another digest.
 *
 * @example
 * ```ts ignore
 * import { getBlob } from "./oci.ts";
 * const bytes = await getBlob({ host: "127.0.0.1:5000" }, "team/app", "sha256:...");
 * ```
 */
export async function getBlob(
  access: RegistryAccess,
  repository: string,
  digest: string,
): Promise<Uint8Array> {
  const res = await fetchOf(access)(`${base(access)}/v2/${repository}/blobs/${digest}`, {
    signal: access.signal ?? null,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) {
    throw new Error(`registry ${access.host} answered HTTP ${res.status} for blob ${digest}`);
  }
  const actual = await sha256Digest(bytes);
  if (actual !== digest) throw new Error(`blob ${digest} of ${repository} has digest ${actual}`);
  return bytes;
}
