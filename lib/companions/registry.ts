/**
 * A real container registry (`docker-registry`, Debian's package of distribution v2) as a
 * companion: bound to 127.0.0.1 on a free port, storage in its folder, no authentication.
 * It is given the images to hold: each is pushed through the registry's HTTP API (a
 * one-layer OCI image whose content names it) and signed in cosign's format with a key
 * made for this start (ECDSA P-256; its public key is what a check verifies with), unless
 * it is listed as left unsigned. Its storage is emptied at each start.
 * @module
 */
import { generateSigningKey, signImage } from "./cosign.ts";
import { type ImageManifest, pushBlob, putManifest, type RegistryAccess } from "./oci.ts";
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
  /** Stops it. */
  stop(): Promise<void>;
}

/** What {@linkcode startRegistryCompanion} takes. */
export interface RegistryCompanionOptions {
  /** Its folder (its storage under `data/`). */
  readonly dir: string;
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
  const layer = enc.encode(`${image.identity}:${image.tag}\n`);
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
  // Each start holds exactly the images it is given, signed with this start's key.
  await Deno.remove(`${o.dir}/data`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${o.dir}/data`, { recursive: true });
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
      `    rootdirectory: ${o.dir}/data`,
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
    const key = await generateSigningKey();
    const images: PushedImage[] = [];
    for (const image of o.images) {
      const digest = await pushImage(access, image);
      if (!image.unsigned) await signImage(access, image.repository, digest, image.identity, key);
      images.push({
        repository: image.repository,
        tag: image.tag,
        digest,
        signed: !image.unsigned,
      });
    }
    return { host, publicKey: key.publicKeyPem, images, process, stop: () => process.stop() };
  } catch (err) {
    await process.stop();
    throw err;
  }
}
