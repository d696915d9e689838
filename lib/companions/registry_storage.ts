/**
 * A companion registry's storage: the folder `docker-registry` serves (`data/`), the key its
 * stand-ins are signed with, and the keys its images verify with. Several registries may
 * serve one storage (a sandbox's, one per namespace): what a build pushed to one is then
 * served by all, as one registry reached from every cluster would be.
 *
 * Kept ({@linkcode keepRegistryStorage}: the sandbox's companions keep it when they stop,
 * with the keys their namespaces' images verify with — a build made in the sandbox adds its
 * own), it survives a restart: `kept.json` and `signing-key.pk8` (mode 0600) in its folder.
 * Opened without a kept state (a first start, or one after a crash) it is emptied.
 * @module
 */
import type { SigningKey } from "./cosign.ts";

export type { SigningKey };

/** An opened storage. */
export interface RegistryStorage {
  /** Its folder (the registry's files under `data/`). */
  readonly dir: string;
  /** The key stand-ins are signed with (the same across restarts once kept). */
  readonly key: SigningKey;
  /** The keys kept from before (a PEM bundle; empty when nothing was kept). */
  readonly trusted: string;
  /** Whether it was kept from before (else it was emptied). */
  readonly kept: boolean;
}

const PEM = /-----BEGIN PUBLIC KEY-----[^-]*-----END PUBLIC KEY-----/g;
const KEPT = "kept.json";
const KEY_FILE = "signing-key.pk8";

/**
 * The PEM public keys of both bundles, each once, in order.
 *
 * @param a A PEM bundle.
 * @param b Another.
 * @returns The bundle of both.
 *
 * @example
 * ```ts
 * import { mergeKeys } from "./registry_storage.ts";
 * import assert from "node:assert/strict";
 * const k = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----";
 * assert.equal(mergeKeys(k, `${k}\n`), `${k}\n`);
 * ```
 */
export function mergeKeys(a: string, b: string): string {
  const keys = [...`${a}\n${b}`.replace(/\r/g, "").matchAll(PEM)].map((m) => m[0]);
  return keys.length ? `${[...new Set(keys)].join("\n")}\n` : "";
}

async function keepableKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  return { privateKey: pair.privateKey, publicKeyPem: await publicPem(pair.publicKey) };
}

async function publicPem(key: CryptoKey): Promise<string> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key));
  const b64 = btoa(String.fromCharCode(...spki)).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

/** What an earlier stop kept, or undefined. */
async function readKept(dir: string): Promise<{ key: SigningKey; trusted: string } | undefined> {
  try {
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/${KEPT}`)) as { publicKey?: unknown };
    const pk8 = await Deno.readFile(`${dir}/${KEY_FILE}`);
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      pk8,
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign"],
    );
    const trusted = typeof doc.publicKey === "string" ? mergeKeys(doc.publicKey, "") : "";
    const own = trusted.match(PEM)?.[0];
    if (!own) return undefined;
    return { key: { privateKey, publicKeyPem: `${own}\n` }, trusted };
  } catch {
    return undefined;
  }
}

/**
 * Opens a storage: as kept, or emptied with a new key.
 *
 * @param dir Its folder.
 * @returns The storage.
 *
 * @example
 * ```ts ignore
 * const storage = await openRegistryStorage(`${stateDir}/companions/registry-storage`);
 * ```
 */
export async function openRegistryStorage(dir: string): Promise<RegistryStorage> {
  const kept = await readKept(dir);
  if (!kept) await Deno.remove(`${dir}/data`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  if (kept) return { dir, key: kept.key, trusted: kept.trusted, kept: true };
  return { dir, key: await keepableKey(), trusted: "", kept: false };
}

/**
 * Keeps a storage for its next opening, trusting `publicKeys` too (with what it kept before).
 *
 * @param storage The storage.
 * @param publicKeys A PEM bundle: the keys its images verify with now.
 * @returns When written.
 *
 * @example
 * ```ts ignore
 * await keepRegistryStorage(storage, entry.publicKey);
 * ```
 */
export async function keepRegistryStorage(
  storage: RegistryStorage,
  publicKeys: string,
): Promise<void> {
  const before = (await readKept(storage.dir))?.trusted ?? storage.trusted;
  // The own key first: the one the next opening signs stand-ins with.
  const publicKey = mergeKeys(storage.key.publicKeyPem, mergeKeys(before, publicKeys));
  const pk8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", storage.key.privateKey));
  await Deno.writeFile(`${storage.dir}/${KEY_FILE}`, pk8, { mode: 0o600 });
  await Deno.writeTextFile(`${storage.dir}/${KEPT}`, `${JSON.stringify({ publicKey })}\n`, {
    mode: 0o600,
  });
}

/**
 * Where a sandbox's companion registries keep their one storage: under its state folder, so
 * `--reset` (which discards the folder's state) can discard it too.
 *
 * @param stateDir The sandbox's state folder.
 * @returns The storage's folder.
 *
 * @example
 * ```ts
 * import { registryStorageDir } from "./registry_storage.ts";
 * console.assert(registryStorageDir("state") === "state/companions/registry");
 * ```
 */
export function registryStorageDir(stateDir: string): string {
  return `${stateDir}/companions/registry`;
}
