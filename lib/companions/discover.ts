/**
 * Where a namespace's companions are. Each listens on a loopback address of its own,
 * derived from the namespace ({@linkcode companionAddress}: `127.a.b.c`, the port the
 * environment says), so a pipeline knows it when it is built and a stage is granted exactly
 * that `host:port`. What is only known once they run — the Redis CA, the registry's public
 * key, or why one is not running — a sandbox publishes in a ConfigMap of each namespace
 * ({@linkcode COMPANIONS_CONFIGMAP}; one JSON value per companion), which a stage that can
 * read its namespace (`uses("kubernetes")`) reads at run time. Light: no process, file or
 * network code of its own (it runs in stages' Workers).
 * @module
 */

import { hash32 } from "../random/mod.ts";

/** The port a companion registry listens on (at its own address). */
export const REGISTRY_PORT = 5000;
/** The port the companion Prometheus listens on. */
export const PROMETHEUS_PORT = 9090;
/** The port the companion Alertmanager listens on. */
export const ALERTMANAGER_PORT = 9093;

/**
 * The loopback address a namespace's companion of a kind listens on: `127.a.b.c` from a
 * hash of both and the scope (never `127.0.0.1`, where the sandbox's API is). Two sandboxes
 * that rehearse one namespace at once need different scopes (e.g. their state folders).
 *
 * @param namespace The namespace (`*` for a companion all namespaces share).
 * @param kind The companion, e.g. `redis`.
 * @param scope What tells sandboxes apart (default: none).
 * @returns The address.
 *
 * @example
 * ```ts
 * import { companionAddress } from "./discover.ts";
 * import assert from "node:assert/strict";
 * assert.match(companionAddress("team-prod", "redis"), /^127\.\d+\.\d+\.\d+$/);
 * assert.equal(companionAddress("team-prod", "redis"), companionAddress("team-prod", "redis"));
 * ```
 */
export function companionAddress(namespace: string, kind: string, scope = ""): string {
  const h = hash32(`${kind}@${namespace}${scope ? `#${scope}` : ""}`);
  const a = 1 + (h >>> 24) % 254;
  return `127.${a}.${(h >>> 16) & 0xff}.${1 + (h & 0xff) % 254}`;
}

/** The ConfigMap a sandbox publishes its companions in, in each namespace it serves. */
export const COMPANIONS_CONFIGMAP = "sandbox-companions";

/** A companion that is not there: why (e.g. the Debian package to install). */
export interface CompanionSkipped {
  /** One line: what is missing and how to get it. */
  readonly skipped: string;
}

/** A companion that should be there but did not start. */
export interface CompanionFailed {
  /** One line: what failed. */
  readonly failed: string;
}

/** A published Redis. */
export interface PublishedRedis {
  /** Host. */
  readonly host: string;
  /** Port. */
  readonly port: number;
  /** The port speaks TLS only. */
  readonly tls: boolean;
  /** With `tls`: the CA certificate (PEM) to trust. */
  readonly ca?: string;
}

/** A published registry. */
export interface PublishedRegistry {
  /** `host:port`. */
  readonly host: string;
  /** The public key (PEM) its images' signatures verify with. */
  readonly publicKey: string;
  /** What it holds. */
  readonly images: readonly {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string;
    readonly signed: boolean;
  }[];
}

/** One companion entry as read. */
export type Published<T> = T | CompanionSkipped | CompanionFailed;

/** A published monitoring server. */
export interface PublishedServer {
  /** Its base URL. */
  readonly url: string;
}

/** What a namespace's ConfigMap says (undefined: the ConfigMap does not name it). */
export interface PublishedCompanions {
  /** The Redis. */
  readonly redis?: Published<PublishedRedis>;
  /** The registry. */
  readonly registry?: Published<PublishedRegistry>;
  /** Prometheus (shared by the namespaces). */
  readonly prometheus?: Published<PublishedServer>;
  /** Alertmanager (shared by the namespaces). */
  readonly alertmanager?: Published<PublishedServer>;
}

/** The part of the `kubernetes` capability discovery needs. */
export interface ConfigMapReader {
  /** Gets an object (a ConfigMap here) by kind, namespace and name; `null` when missing. */
  get(
    kind: { apiVersion: string; kind: string },
    namespace: string | null,
    name: string,
  ): Promise<{ data?: Record<string, string> } | null>;
}

/**
 * Reads a namespace's companions.
 *
 * @param kube The `kubernetes` capability (or anything that can get a ConfigMap).
 * @param namespace The namespace.
 * @returns What is published, or `null` when no companions run for it.
 * @throws {Error} When the ConfigMap cannot be read (the capability's error).
 *
 * @example
 * ```ts
 * import { readCompanions } from "./discover.ts";
 * import assert from "node:assert/strict";
 * const kube = {
 *   get: () => Promise.resolve({ data: { redis: '{"host":"127.0.0.1","port":6380,"tls":false}' } }),
 * };
 * const found = await readCompanions(kube, "team-prod");
 * assert.deepEqual(found?.redis, { host: "127.0.0.1", port: 6380, tls: false });
 * ```
 */
export async function readCompanions(
  kube: ConfigMapReader,
  namespace: string,
): Promise<PublishedCompanions | null> {
  const cm = await kube.get(
    { apiVersion: "v1", kind: "ConfigMap" },
    namespace,
    COMPANIONS_CONFIGMAP,
  );
  if (!cm) return null;
  const out: Record<string, unknown> = {};
  for (const key of ["redis", "registry", "prometheus", "alertmanager"] as const) {
    const text = cm.data?.[key];
    if (text === undefined) continue;
    try {
      out[key] = JSON.parse(text);
    } catch {
      out[key] = { failed: `the ConfigMap ${COMPANIONS_CONFIGMAP} has no JSON under ${key}` };
    }
  }
  return out as PublishedCompanions;
}

/**
 * Whether an entry is a skip (`{ skipped }`) or a failure (`{ failed }`).
 *
 * @param entry A published entry.
 * @returns The skip or failure, or undefined for a running companion.
 *
 * @example
 * ```ts
 * import { notRunning } from "./discover.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(notRunning({ skipped: "x is not installed" }), { skipped: "x is not installed" });
 * assert.equal(notRunning({ host: "h", port: 1, tls: false }), undefined);
 * ```
 */
export function notRunning<T extends object>(
  entry: Published<T>,
): CompanionSkipped | CompanionFailed | undefined {
  if ("skipped" in entry) return entry as CompanionSkipped;
  if ("failed" in entry) return entry as CompanionFailed;
  return undefined;
}
