/**
 * Per-stage permissions: what a stage declared (its resources' grants plus explicit
 * permissions) becomes exactly the permission set of its Worker; all else is denied.
 * @module
 */
import type { PermissionRequest } from "../dsl/types.ts";
import type { StageSpec } from "../dsl/stage.ts";

/** What a resource (`uses("database")`) grants, as resolved from the environment. */
export interface ResourceGrant {
  readonly net: readonly string[];
  readonly env: readonly string[];
  readonly read: readonly string[];
  /** Reached through the runner's main thread (a capability), not directly. */
  readonly proxied: boolean;
}

/** Resolves a resource name to its grant; throws RangeError for an unknown resource. */
export type ResourceResolver = (resource: string) => ResourceGrant;

/** The permissions a stage's Worker is given. */
export interface StageGrant {
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly net: readonly string[];
  readonly env: readonly string[];
  readonly run: readonly string[];
  readonly ffi: readonly string[];
  /** Resources reached through the main thread. */
  readonly proxied: readonly string[];
  /** `run` or `ffi` granted: a subprocess or native code escapes Deno's limits. */
  readonly fullTrust: boolean;
}

const KINDS = ["read", "write", "net", "env", "run", "ffi"] as const;

/**
 * Computes a stage's grant from its declaration.
 *
 * @param spec The stage.
 * @param resolve Resolves `uses(...)` resources.
 * @returns The exact permissions its Worker gets.
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
export function stageGrant(spec: StageSpec, resolve: ResourceResolver): StageGrant {
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
  const explicit: PermissionRequest = spec.permissions;
  for (const k of KINDS) for (const v of explicit[k] ?? []) sets[k].add(v);
  const grant = Object.fromEntries(KINDS.map((k) => [k, [...sets[k]].sort()])) as unknown as Omit<
    StageGrant,
    "proxied" | "fullTrust"
  >;
  return { ...grant, proxied, fullTrust: grant.run.length > 0 || grant.ffi.length > 0 };
}

/** A stable key for a grant: stages with equal keys may share a Worker. */
export function grantKey(grant: StageGrant): string {
  return JSON.stringify(KINDS.map((k) => grant[k]));
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
