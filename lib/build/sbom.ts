/**
 * An image's SBOM, CycloneDX 1.6 JSON (`@cyclonedx/cyclonedx-library`), made from the image
 * as the registry serves it — its manifest, config and layers, whiteouts applied — so it lists
 * what is deployed, not what a build context held: the image as the metadata component (its
 * digest, an OCI purl) and every file as a component with its SHA-256. Deterministic: the same
 * image gives the same SBOM bytes (no timestamp; the serial number comes from the digest).
 * Attached beside the image as cosign does (`cosign attach sbom`: the tag
 * `sha256-<hex>.sbom`), with the OCI 1.1 `subject` too, for registries that index referrers.
 * @module
 */
import * as CDX from "@cyclonedx/cyclonedx-library";
import {
  type Descriptor,
  getBlob,
  getManifest,
  type ImageManifest,
  pushBlob,
  putManifest,
  type RegistryAccess,
  sha256Digest,
} from "../companions/oci.ts";
import { readTar } from "./_tar.ts";

/** The media type of a CycloneDX JSON SBOM (cosign's for `--type cyclonedx`). */
export const CYCLONEDX_TYPE = "application/vnd.cyclonedx+json";

/** A file of the image's file system. */
export interface ImageFile {
  /** Its path, from the root (`app/server.ts`). */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** `sha256:<hex>` of its bytes. */
  readonly digest: string;
}

/** What an image holds, read from the registry. */
export interface ImageContents {
  /** The manifest's digest. */
  readonly digest: string;
  /** The manifest. */
  readonly manifest: ImageManifest;
  /** The manifest's size in bytes. */
  readonly size: number;
  /** The config's `Labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** `os/architecture`. */
  readonly platform: string;
  /** The regular files of the final file system, by path. */
  readonly files: readonly ImageFile[];
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads an image from a registry: its config and the files its layers leave (whiteouts and
 * opaque folders applied, later layers over earlier ones).
 *
 * @param access The registry.
 * @param repository The repository.
 * @param reference The tag or digest.
 * @returns What it holds.
 * @throws {Error} When the image, a blob or a layer cannot be read.
 *
 * @example
 * ```ts ignore
 * import { readImage } from "./sbom.ts";
 * const image = await readImage({ host: "127.0.0.1:5000" }, "team/app", "1.0.0");
 * ```
 */
export async function readImage(
  access: RegistryAccess,
  repository: string,
  reference: string,
): Promise<ImageContents> {
  const found = await getManifest(access, repository, reference);
  if (!found) throw new Error(`${access.host}/${repository}:${reference} is not in the registry`);
  const { manifest, digest } = found;
  const config = JSON.parse(
    new TextDecoder().decode(await getBlob(access, repository, manifest.config.digest)),
  ) as { os?: string; architecture?: string; config?: { Labels?: Record<string, string> } };
  const files = new Map<string, ImageFile>();
  for (const layer of manifest.layers) {
    let bytes = await getBlob(access, repository, layer.digest);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes);
    for (const entry of readTar(bytes)) {
      const slash = entry.path.lastIndexOf("/");
      const dir = slash < 0 ? "" : entry.path.slice(0, slash);
      const base = entry.path.slice(slash + 1);
      if (base === ".wh..wh..opq") {
        for (const path of files.keys()) if (path.startsWith(`${dir}/`)) files.delete(path);
        continue;
      }
      if (base.startsWith(".wh.")) {
        const gone = `${dir ? `${dir}/` : ""}${base.slice(4)}`;
        for (const path of files.keys()) {
          if (path === gone || path.startsWith(`${gone}/`)) files.delete(path);
        }
        continue;
      }
      if (entry.type === "file") {
        files.set(entry.path, {
          path: entry.path,
          size: entry.data.byteLength,
          digest: await sha256Digest(entry.data),
        });
      } else files.delete(entry.path);
    }
  }
  return {
    digest,
    manifest,
    size: found.size,
    labels: config.config?.Labels ?? {},
    platform: `${config.os ?? "unknown"}/${config.architecture ?? "unknown"}`,
    files: [...files.values()].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  };
}

/** A UUID (version 8, RFC 9562) from a digest's hex: the same image, the same serial. */
function serialOf(digest: string): string {
  const hex = digest.replace(/^sha256:/, "").padEnd(32, "0");
  const v = `8${hex.slice(13, 16)}`;
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${v}-${variant}${hex.slice(17, 20)}-${
    hex.slice(20, 32)
  }`;
}

/** What {@linkcode imageSbom} describes. */
export interface SbomSubject {
  /** The image's published name, e.g. `ghcr.io/team/app` (e.g. a Tracktion service's). */
  readonly identity: string;
  /** The tag, e.g. `1.2.4`. */
  readonly tag: string;
  /** The tool that made the SBOM (name and version), listed under `metadata.tools`. */
  readonly tool?: { readonly name: string; readonly version: string };
}

/**
 * The CycloneDX 1.6 JSON SBOM of an image.
 *
 * @param image What the image holds ({@linkcode readImage}).
 * @param subject Its name and tag.
 * @returns The SBOM's JSON text and how many file components it lists.
 *
 * @example
 * ```ts
 * import { imageSbom } from "./sbom.ts";
 * import assert from "node:assert/strict";
 * const image = {
 *   digest: "sha256:" + "ab".repeat(32), size: 2, labels: {}, platform: "linux/amd64",
 *   manifest: { schemaVersion: 2, config: { mediaType: "x", digest: "sha256:0", size: 0 }, layers: [] },
 *   files: [{ path: "app/index.html", size: 6, digest: "sha256:" + "cd".repeat(32) }],
 * };
 * const { json, components } = imageSbom(image, { identity: "ghcr.io/team/app", tag: "1.0.0" });
 * assert.equal(components, 1);
 * assert.equal(JSON.parse(json).metadata.component.name, "ghcr.io/team/app");
 * ```
 */
export function imageSbom(
  image: ImageContents,
  subject: SbomSubject,
): { json: string; components: number } {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = serialOf(image.digest);
  const name = subject.identity.split("/").at(-1) ?? subject.identity;
  const [arch] = image.platform.split("/").slice(1);
  const purl = `pkg:oci/${name}@${encodeURIComponent(image.digest)}?` +
    `repository_url=${subject.identity}&tag=${encodeURIComponent(subject.tag)}` +
    (arch && arch !== "unknown" ? `&arch=${arch}` : "");
  const main = new CDX.Models.Component(CDX.Enums.ComponentType.Container, subject.identity, {
    version: subject.tag,
    bomRef: "image",
    // The library takes a PackageURL object and writes its toString().
    purl: { toString: () => purl } as never,
  });
  main.hashes.set(CDX.Enums.HashAlgorithm["SHA-256"], image.digest.replace(/^sha256:/, ""));
  for (const [key, value] of Object.entries(image.labels).sort()) {
    main.properties.add(new CDX.Models.Property(`oci:label:${key}`, value));
  }
  main.properties.add(new CDX.Models.Property("oci:platform", image.platform));
  bom.metadata.component = main;
  if (subject.tool) {
    bom.metadata.tools.components.add(
      new CDX.Models.Component(CDX.Enums.ComponentType.Application, subject.tool.name, {
        version: subject.tool.version,
      }),
    );
  }
  for (const file of image.files) {
    const c = new CDX.Models.Component(CDX.Enums.ComponentType.File, file.path, {
      bomRef: `file:${file.path}`,
    });
    c.hashes.set(CDX.Enums.HashAlgorithm["SHA-256"], file.digest.replace(/^sha256:/, ""));
    c.properties.add(new CDX.Models.Property("size", String(file.size)));
    bom.components.add(c);
  }
  const serializer = new CDX.Serialize.JsonSerializer(
    new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6),
  );
  return { json: serializer.serialize(bom, { sortLists: true }), components: image.files.length };
}

/**
 * The tag cosign attaches an image's SBOM under.
 *
 * @param digest The image's manifest digest.
 * @returns `sha256-<hex>.sbom`.
 *
 * @example
 * ```ts
 * import { sbomTag } from "./sbom.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sbomTag("sha256:ab12"), "sha256-ab12.sbom");
 * ```
 */
export function sbomTag(digest: string): string {
  return `${digest.replace(":", "-")}.sbom`;
}

/** What {@linkcode attachSbom} pushed. */
export interface AttachedSbom {
  /** Its tag, `sha256-<hex>.sbom`. */
  readonly tag: string;
  /** The SBOM manifest's digest. */
  readonly digest: string;
  /** The SBOM blob's digest. */
  readonly blob: string;
}

/**
 * Attaches an SBOM to an image: the SBOM as the one layer of a manifest tagged
 * `sha256-<hex>.sbom` (cosign's convention), whose `subject` is the image (OCI 1.1).
 *
 * @param access The registry.
 * @param repository The image's repository.
 * @param image The image's manifest descriptor (digest, size, media type).
 * @param json The SBOM.
 * @returns Its tag and digests.
 * @throws {Error} When the registry refuses it.
 *
 * @example
 * ```ts ignore
 * import { attachSbom } from "./sbom.ts";
 * await attachSbom(access, "team/app", { mediaType, digest, size }, json);
 * ```
 */
export async function attachSbom(
  access: RegistryAccess,
  repository: string,
  image: Descriptor,
  json: string,
): Promise<AttachedSbom> {
  const layer = await pushBlob(access, repository, new TextEncoder().encode(json));
  const config = await pushBlob(access, repository, new TextEncoder().encode("{}"));
  const tag = sbomTag(image.digest);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: CYCLONEDX_TYPE,
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...config },
    layers: [{ mediaType: CYCLONEDX_TYPE, ...layer }],
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
  };
  const digest = await putManifest(access, repository, tag, manifest);
  return { tag, digest, blob: layer.digest };
}
