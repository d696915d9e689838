/**
 * Per-stage permissions: what a stage declared (its resources' grants plus explicit
 * permissions) becomes exactly the permission set of its Worker; all else is denied.
 * @module
 */
import { absolutePath, broadGrantReason } from "./broad_grants.ts";
import type { StageDescription } from "../dsl/describe.ts";
import type { Grant } from "../capabilities/types.ts";

/** What a resource (`uses("redis")`) grants, from the capability registry's `grant(env)`. */
export type ResourceGrant = Grant;

/**
 * Resolves a resource name to its grant (`resourceGrant(env, name)` of
 * `lib/capabilities`); throws RangeError for an unknown resource.
 */
export type ResourceResolver = (resource: string) => ResourceGrant;

/** The permissions a stage's Worker is given. */
export interface StageGrant {
  /** Paths the Worker may read. */
  readonly read: readonly string[];
  /** Paths it may write. */
  readonly write: readonly string[];
  /** Hosts it may connect to. */
  readonly net: readonly string[];
  /** Environment variables it may read. */
  readonly env: readonly string[];
  /** Programs it may run (full trust). */
  readonly run: readonly string[];
  /** Native libraries it may load (full trust). */
  readonly ffi: readonly string[];
  /** Resources reached through the main thread. */
  readonly proxied: readonly string[];
  /** `run` or `ffi` granted, or a broad grant marked `fullTrust`: the stage can escape its limits. */
  readonly fullTrust: boolean;
  /** Why the pipeline marked a broad grant full trust (`permissions({ fullTrust: "..." })`). */
  readonly fullTrustReason?: string;
  /** What the stage may do through the `kubernetes` capability, when it uses it. */
  readonly kubernetes?: KubernetesGrant;
}

/** The Kubernetes part of a grant: enforced by the main thread on every call. */
export interface KubernetesGrant {
  /** Namespaces it may read and change (the environment's own first). */
  readonly namespaces: readonly string[];
  /** Cluster-scoped kinds it may read (`get`/`list` with no namespace), and `version`. */
  readonly clusterReads: readonly string[];
  /** Secrets whose values it may read, as `namespace/name`. */
  readonly secrets: readonly string[];
}

/** Cluster-scoped reads every `uses("kubernetes")` stage has: what pre-flight checks need. */
export const CLUSTER_READS: readonly string[] = [
  "Namespace",
  "Node",
  "NodeMetrics",
  "ClusterRole",
  "ClusterRoleBinding",
];

/** What {@linkcode stageGrant} needs besides the stage. */
export interface GrantOptions {
  /** The environment's namespace (a `uses("kubernetes")` stage is scoped to it). */
  readonly namespace?: string;
  /**
   * Paths a stage may not be granted `read` or `write` on — nor on a folder that holds
   * them — unless it is marked `fullTrust` (e.g. `/`, the home folder, the runs folder,
   * the sandbox's state, the kubeconfig).
   */
  readonly protectedPaths?: readonly string[];
}

const KINDS = ["read", "write", "net", "env", "run", "ffi"] as const;

/**
 * Computes a stage's grant from its declaration.
 *
 * @param spec The stage.
 * @param resolve Resolves `uses(...)` resources.
 * @param options The environment's namespace, and the paths no stage may be granted.
 * @returns The exact permissions its Worker gets.
 * @throws {RangeError} For a grant of `/`, the home folder or another protected path
 * that is not marked `fullTrust`.
 *
 * @example
 * ```ts
 * import { stageGrant } from "./permissions.ts";
 * import { stage } from "../dsl/stage.ts";
 * import assert from "node:assert/strict";
 * const s = stage("scan").permissions({ run: ["grype"] });
 * const grant = stageGrant(s.spec, () => { throw new RangeError("none"); });
 * assert.deepEqual(grant.run, ["grype"]);
 * assert.equal(grant.fullTrust, true);
 * ```
 */
export function stageGrant(
  spec: StageDescription,
  resolve: ResourceResolver,
  options: GrantOptions = {},
): StageGrant {
  const reason = spec.permissions.fullTrust;
  if (reason !== undefined && (typeof reason !== "string" || reason.trim() === "")) {
    throw new RangeError('fullTrust needs a reason: permissions({ fullTrust: "why" })');
  }
  const home = Deno.env.get("HOME");
  const broad = broadGrantReason(spec.permissions, {
    roots: ["/", ...(home ? [home] : [])],
    protectedPaths: options.protectedPaths ?? [],
  });
  if (broad && reason === undefined) {
    throw new RangeError(
      `${broad} is too broad: it reaches the runner's own files (credentials, run records, ` +
        `the cluster's state). Grant a narrower path, or mark it with ` +
        `permissions({ ..., fullTrust: "why" }) and it is flagged full trust in the plan and report`,
    );
  }
  const sets = Object.fromEntries(KINDS.map((k) => [k, new Set<string>()])) as Record<
    (typeof KINDS)[number],
    Set<string>
  >;
  const proxied: string[] = [];
  for (const resource of spec.uses) {
    const g = resolve(resource);
    for (const v of g.net) sets.net.add(v);
    for (const v of g.env) sets.env.add(v);
    for (const v of g.read) sets.read.add(v);
    if (g.proxied) proxied.push(resource);
  }
  const explicit = spec.permissions;
  for (const k of KINDS) {
    // Paths are made absolute now, once: what the stage gets cannot move with the
    // working directory afterwards.
    const paths = k === "read" || k === "write";
    for (const v of explicit[k] ?? []) sets[k].add(paths ? absolutePath(v) : v);
  }
  const grant = Object.fromEntries(KINDS.map((k) => [k, [...sets[k]].sort()])) as unknown as Omit<
    StageGrant,
    "proxied" | "fullTrust"
  >;
  const kubernetes = spec.uses.includes("kubernetes")
    ? kubernetesGrant(spec, options.namespace)
    : undefined;
  return {
    ...grant,
    proxied,
    fullTrust: grant.run.length > 0 || grant.ffi.length > 0 || reason !== undefined,
    ...(reason !== undefined ? { fullTrustReason: reason } : {}),
    ...(kubernetes ? { kubernetes } : {}),
  };
}

function kubernetesGrant(spec: StageDescription, namespace: string | undefined): KubernetesGrant {
  const own = namespace ? [namespace] : [];
  const namespaces = [...new Set([...own, ...(spec.kubernetes?.namespaces ?? [])])];
  const secrets = (spec.kubernetes?.secrets ?? []).map((name) => {
    if (name.includes("/")) return name;
    if (!namespace) {
      throw new RangeError(
        `secret "${name}" needs a namespace: write "namespace/${name}" (the environment names none)`,
      );
    }
    return `${namespace}/${name}`;
  });
  return { namespaces, clusterReads: [...CLUSTER_READS], secrets: [...new Set(secrets)].sort() };
}

/**
 * A key for a grant: two grants with equal keys are identical in every respect
 * (permissions, proxied resources, Kubernetes scope). Pre-started Workers are matched
 * to stages by it.
 *
 * @param grant The grant.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { grantKey, stageGrant } from "./permissions.ts";
 * import { stage } from "../dsl/stage.ts";
 * import assert from "node:assert/strict";
 * const resolve = () => ({ net: [], env: [], read: [], proxied: true });
 * const plain = stageGrant(stage("a").uses("kubernetes").spec, resolve, { namespace: "shop" });
 * const secret = stageGrant(
 *   stage("b").uses({ kubernetes: { secrets: ["db"] } }).spec,
 *   resolve,
 *   { namespace: "shop" },
 * );
 * assert.notEqual(grantKey(plain), grantKey(secret));
 * ```
 */
export function grantKey(grant: StageGrant): string {
  return JSON.stringify([
    KINDS.map((k) => grant[k]),
    [...grant.proxied].sort(),
    grant.kubernetes ?? null,
    grant.fullTrust,
  ]);
}

/** The `deno.permissions` option of a Worker for a grant. */
export function workerPermissions(grant: StageGrant): Deno.PermissionOptionsObject {
  const list = (v: readonly string[]) => (v.length > 0 ? [...v] : false);
  return {
    read: list(grant.read),
    write: list(grant.write),
    net: list(grant.net),
    env: list(grant.env),
    run: list(grant.run),
    ffi: list(grant.ffi),
    sys: false,
    import: false,
  };
}

const DENIED = /Requires (\w+) access to "?([^",]+?)"?(?:,|$)/;

/**
 * Turns Deno's permission error into one that names the stage and the permission.
 *
 * @param stageId The stage.
 * @param message Deno's message, e.g. `Requires read access to "/x", run again with ...`.
 * @returns The rewritten message, or undefined when it was not a permission error.
 *
 * @example
 * ```ts
 * import { explainDenied } from "./permissions.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   explainDenied("notify", 'Requires read access to "/root/.kube/config", run again with the --allow-read flag'),
 *   'stage "notify" needs read access to /root/.kube/config, which it did not declare',
 * );
 * ```
 */
export function explainDenied(stageId: string, message: string): string | undefined {
  const m = DENIED.exec(message);
  if (!m) return undefined;
  return `stage "${stageId}" needs ${m[1]} access to ${m[2]}, which it did not declare`;
}
