/**
 * Comparing two environments field by field.
 * @module
 */
import { isDuration } from "./duration.ts";
import type { Environment } from "./types.ts";
import { isSecretRef } from "./secret_ref.ts";

/** One leaf that differs between two environments. */
export interface EnvironmentDifference {
  /** Dotted path, for example `"infrastructure.replicas.api"`. */
  path: string;
  /** The value in the first environment (`undefined` when absent). */
  a: unknown;
  /** The value in the second environment (`undefined` when absent). */
  b: unknown;
}

function isBranch(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !isDuration(value) && !isSecretRef(value);
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (isDuration(a) && isDuration(b)) return a.ms === b.ms;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return Object.is(a, b);
}

/**
 * Lists the leaf paths whose values differ between two environments, in the first
 * environment's key order (keys only in the second come after). Durations, secret
 * references and lists are compared as single values; `name` and `file` are ignored.
 *
 * @param a The first environment.
 * @param b The second environment.
 * @returns The differences.
 *
 * @example
 * ```ts
 * import { diffEnvironments } from "./diff_environments.ts";
 * import type { Environment } from "./types.ts";
 * import assert from "node:assert/strict";
 * const a = { name: "a", file: "a.yml", redis: { port: 1, ssl: false } } as unknown as Environment;
 * const b = { name: "b", file: "b.yml", redis: { port: 1, ssl: true } } as unknown as Environment;
 * assert.deepEqual(diffEnvironments(a, b), [{ path: "redis.ssl", a: false, b: true }]);
 * ```
 */
export function diffEnvironments(a: Environment, b: Environment): EnvironmentDifference[] {
  const differences: EnvironmentDifference[] = [];
  function walk(left: unknown, right: unknown, path: string[]) {
    const leftBranch = isBranch(left) ? left : left === undefined ? {} : undefined;
    const rightBranch = isBranch(right) ? right : right === undefined ? {} : undefined;
    if (leftBranch && rightBranch && (isBranch(left) || isBranch(right))) {
      const keys = new Set([...Object.keys(leftBranch), ...Object.keys(rightBranch)]);
      for (const key of keys) {
        if (path.length === 0 && (key === "name" || key === "file")) continue;
        walk(leftBranch[key], rightBranch[key], [...path, key]);
      }
    } else if (!sameLeaf(left, right)) {
      differences.push({ path: path.join("."), a: left, b: right });
    }
  }
  walk(a, b, []);
  return differences;
}
