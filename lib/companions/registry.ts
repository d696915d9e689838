/**
 * A real container registry (`docker-registry`, Debian's package of distribution v2) as a
 * companion: bound to 127.0.0.1 on a free port, storage in its folder, no authentication.
 * It is given the images to hold: each is pushed through the registry's HTTP API (a
 * one-layer OCI image whose content names it) and signed in cosign's format with a key
 * made for this start (ECDSA P-256; its public key is what a check verifies with), unless
 * it is listed as left unsigned.
 *
 * Its storage (`registry_storage.ts`) may be shared by several registries (a sandbox's, one
 * per namespace: one registry seen at several addresses, as `ghcr.io` is by every cluster) and
 * survives a restart once kept: a start then leaves a signed tag already there as it is (the
 * image a build pushed) and pushes only the stand-ins missing.
 * @module
 */
import { signatureTag, signImage } from "./cosign.ts";
import {
  keepRegistryStorage,
  mergeKeys,
  openRegistryStorage,
  type RegistryStorage,
} from "./registry_storage.ts";
import {
  getManifest,
  type ImageManifest,
  pushBlob,
  putManifest,
  type RegistryAccess,
} from "./oci.ts";
import {
  addressFree,
  type CompanionProcess,
  findProgram,
  freePort,
  launch,
  type MissingProgram,
  stopLeftover,
} from "./process.ts";

/** One image for the registry to hold. */
export interface ImageToPush {
  /** The repository, e.g. `team/app`. */
  readonly repository: string;
  /** The tag, e.g. `1.2.4`. */
  readonly tag: string;
  /** The name it is published as, signed as its identity (e.g. `ghcr.io/team/app`). */
  readonly identity: string;
  /** Push it without a signature (a release that skipped signing). */
  readonly unsigned?: boolean;
}

/** An image the registry holds. */
export interface PushedImage {
  /** The repository. */
  readonly repository: string;
  /** The tag. */
  readonly tag: string;
  /** Its manifest digest. */
  readonly digest: string;
  /** Whether it was signed. */
  readonly signed: boolean;
}

/** A running companion registry. */
export interface RegistryCompanion {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** The public key its signatures verify with (PEM). */
  readonly publicKey: string;
  /** What it holds. */
  readonly images: readonly PushedImage[];
  /** Its process. */
  readonly process: CompanionProcess;
  /**
   * Keeps what it holds for its next start, trusting `publicKey` (a PEM bundle: what its
   * images verify with now) for the images kept.
   */
  keep(publicKey: string): Promise<void>;
  /** Stops it. */
  stop(): Promise<void>;
}

/** What {@linkcode startRegistryCompanion} takes. */
export interface RegistryCompanionOptions {
  /** Its folder (its configuration; its storage under `data/` unless `storage` is given). */
  readonly dir: string;
  /** The storage to serve (shared with other registries), opened by the caller. */
  readonly storage?: RegistryStorage;
  /** `host:port` to listen on (default 127.0.0.1 on a free port). */
  readonly address?: string;
  /** The images to push. */
  readonly images: readonly ImageToPush[];
  /** How long it may take to answer (default 30 s). */
  readonly readyTimeoutMs?: number;
}

const PROGRAM = "docker-registry";

async function pushImage(access: RegistryAccess, image: ImageToPush): Promise<string> {
  const enc = new TextEncoder();
  const config = enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: { "org.opencontainers.image.version": image.tag } },
    rootfs: { type: "layers", diff_ids: [] },
  }));
  // An unsigned stand-in differs from the signed one: no signature kept from before applies.
  const layer = enc.encode(`${image.identity}:${image.tag}\n${image.unsigned ? "unsigned\n" : ""}`);
  const configBlob = await pushBlob(access, image.repository, config);
  const layerBlob = await pushBlob(access, image.repository, layer);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layerBlob }],
  };
  return await putManifest(access, image.repository, image.tag, manifest);
}

/**
 * Starts a companion registry holding `images`, or says `docker-registry` is missing.
 *
 * @param o Its folder and the images.
 * @returns The running registry (its host, public key and images), or what to install.
 * @throws {Error} When it is installed but does not start, or refuses a push.
 *
 * @example
 * ```ts ignore
 * import { startRegistryCompanion } from "./registry.ts";
 * const r = await startRegistryCompanion({ dir, images: [{ repository: "team/app", tag: "1.0.0", identity: "ghcr.io/team/app" }] });
 * if (!("missing" in r)) await r.stop();
 * ```
 */
export async function startRegistryCompanion(
  o: RegistryCompanionOptions,
): Promise<RegistryCompanion | { missing: MissingProgram }> {
  const missing = await findProgram(PROGRAM, "docker-registry", ["--version"]);
  if (missing) return { missing };
  // Without a kept state each start holds exactly the images it is given, signed anew.
  await Deno.mkdir(o.dir, { recursive: true });
  const storage = o.storage ?? await openRegistryStorage(o.dir);
  const kept = storage.kept;
  await stopLeftover(o.dir);
  const host = o.address ?? `127.0.0.1:${freePort()}`;
  const [hostname, port] = [host.slice(0, host.lastIndexOf(":")), Number(host.split(":").at(-1))];
  if (!addressFree(hostname, port)) {
    throw new Error(`${host} is in use (another sandbox's registry for this namespace?)`);
  }
  const conf = `${o.dir}/config.yml`;
  const secret = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16))
    .join("");
  await Deno.writeTextFile(
    conf,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  delete:",
      "    enabled: true",
      "  filesystem:",
      `    rootdirectory: ${storage.dir}/data`,
      "http:",
      `  addr: ${host}`,
      `  secret: ${secret}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const process = await launch({
    name: PROGRAM,
    dir: o.dir,
    command: PROGRAM,
    args: ["serve", conf],
    readyTimeoutMs: o.readyTimeoutMs ?? 30_000,
    ready: async () => {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      return res.status === 200;
    },
  });
  try {
    const access: RegistryAccess = { host };
    const key = storage.key;
    // The images at once (a registry takes concurrent pushes; same blobs are content-addressed),
    // listed in the order asked for.
    const images: PushedImage[] = await Promise.all(o.images.map(async (image) => {
      const there = kept && !image.unsigned
        ? await getManifest(access, image.repository, image.tag)
        : null;
      // A signed image already there (a build's) stays; an unsigned one (a scenario's) does not.
      const sig = there && await getManifest(access, image.repository, signatureTag(there.digest));
      if (there && sig) return { ...pick(image), digest: there.digest, signed: true };
      const digest = await pushImage(access, image);
      if (!image.unsigned) await signImage(access, image.repository, digest, image.identity, key);
      return { ...pick(image), digest, signed: !image.unsigned };
    }));
    const publicKey = mergeKeys(key.publicKeyPem, storage.trusted);
    return {
      host,
      publicKey,
      images,
      process,
      keep: (trusted) => keepRegistryStorage(storage, mergeKeys(publicKey, trusted)),
      stop: () => process.stop(),
    };
  } catch (err) {
    await process.stop();
    throw err;
  }
}

function pick(image: ImageToPush): { repository: string; tag: string } {
  return { repository: image.repository, tag: image.tag };
}
