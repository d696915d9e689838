/**
 * References to secrets: environment files name where a secret lives, never its value.
 * @module
 */

/** A secret read from an environment variable of the process running the pipeline. */
export interface FromEnvRef {
  /** The environment variable name, e.g. `"GITHUB_TOKEN"`. */
  from_env: string;
}

/** A secret read from a key of a Kubernetes Secret in the environment's namespace. */
export interface SecretKeyRef {
  /** The Secret and the key in it, e.g. `{ name: "db-credentials", key: "password" }`. */
  secret_key_ref: { name: string; key: string };
}

/** Where a secret lives: `{ from_env: NAME }` or `{ secret_key_ref: { name, key } }`. */
export type SecretRef = FromEnvRef | SecretKeyRef;

/**
 * Tells whether a value is a {@linkcode SecretRef}.
 *
 * @param value Any value.
 * @returns `true` for `{ from_env: string }` or `{ secret_key_ref: { name: string, key: string } }`.
 *
 * @example
 * ```ts
 * import { isSecretRef } from "./secret_ref.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isSecretRef({ from_env: "GITHUB_TOKEN" }));
 * assert.ok(!isSecretRef("hunter2"));
 * ```
 */
export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  if (keys[0] === "from_env") return typeof (value as FromEnvRef).from_env === "string";
  if (keys[0] !== "secret_key_ref") return false;
  const ref = (value as SecretKeyRef).secret_key_ref;
  return typeof ref === "object" && ref !== null && typeof ref.name === "string" &&
    typeof ref.key === "string";
}

/**
 * Describes a reference for people (logs, errors, diffs): never the secret's value.
 *
 * @param ref The reference.
 * @returns E.g. `env GITHUB_TOKEN` or `secret db-credentials/password`.
 *
 * @example
 * ```ts
 * import { describeSecretRef } from "./secret_ref.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeSecretRef({ from_env: "GITHUB_TOKEN" }), "env GITHUB_TOKEN");
 * assert.equal(
 *   describeSecretRef({ secret_key_ref: { name: "db-credentials", key: "password" } }),
 *   "secret db-credentials/password",
 * );
 * ```
 */
export function describeSecretRef(ref: SecretRef): string {
  return "from_env" in ref
    ? `env ${ref.from_env}`
    : `secret ${ref.secret_key_ref.name}/${ref.secret_key_ref.key}`;
}
