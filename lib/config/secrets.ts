/**
 * Finding and resolving the secret references of an environment.
 * @module
 */
import type { Environment } from "./types.ts";
import { describeSecretRef, isSecretRef, type SecretRef } from "./secret_ref.ts";

/** A secret reference and where it sits in the environment. */
export interface SecretRefEntry {
  /** Dotted path, e.g. `"database.password"`. */
  path: string;
  /** The reference. */
  ref: SecretRef;
}

/**
 * Lists the secret references of an environment, in file order.
 *
 * @param env The environment (or any parsed configuration object).
 * @returns One entry per reference.
 *
 * @example
 * ```ts
 * import { secretRefs } from "./secrets.ts";
 * import assert from "node:assert/strict";
 * const refs = secretRefs({ github: { token: { from_env: "GITHUB_TOKEN" } } });
 * assert.deepEqual(refs, [{ path: "github.token", ref: { from_env: "GITHUB_TOKEN" } }]);
 * ```
 */
export function secretRefs(env: Environment | Record<string, unknown>): SecretRefEntry[] {
  const found: SecretRefEntry[] = [];
  function walk(value: unknown, path: string[]) {
    if (isSecretRef(value)) {
      found.push({ path: path.join("."), ref: value });
    } else if (typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
    }
  }
  walk(env, []);
  return found;
}

/** Where {@linkcode resolveSecrets} reads secrets from. */
export interface ResolveSecretsOptions {
  /** Reads an environment variable; defaults to `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Reads a key of a Kubernetes Secret in the environment's namespace. */
  kubernetesSecret?: (name: string, key: string) => Promise<string | undefined>;
}

/**
 * A secret reference that could not be resolved. Names the references, never a value.
 */
export class MissingSecretError extends Error {
  /** The references that could not be resolved. */
  readonly missing: readonly SecretRefEntry[];

  /**
   * Builds the error; the message lists each reference and why it failed.
   *
   * @param environment The environment's name.
   * @param missing The unresolved references, each with the reason.
   */
  constructor(environment: string, missing: readonly (SecretRefEntry & { reason: string })[]) {
    const lines = missing.map((m) => `  ${m.path}: ${describeSecretRef(m.ref)} ${m.reason}`);
    super(
      `Cannot resolve ${missing.length} secret${missing.length === 1 ? "" : "s"} ` +
        `of environment ${JSON.stringify(environment)}:\n${lines.join("\n")}`,
    );
    this.name = "MissingSecretError";
    this.missing = missing.map(({ path, ref }) => ({ path, ref }));
  }
}

/**
 * Resolves every secret reference of an environment. All references are tried; those
 * that are missing or empty are reported together.
 *
 * @param env The environment.
 * @param options Where to read secrets from.
 * @returns A map from path (e.g. `"database.password"`) to value.
 * @throws {MissingSecretError} When any reference cannot be resolved (values never shown).
 *
 * @example
 * ```ts
 * import { resolveSecrets } from "./secrets.ts";
 * import type { Environment } from "./types.ts";
 * import assert from "node:assert/strict";
 * const env = { name: "x", github: { token: { from_env: "T" } } } as unknown as Environment;
 * const values = await resolveSecrets(env, { env: (name) => name === "T" ? "v" : undefined });
 * assert.equal(values.get("github.token"), "v");
 * ```
 */
export async function resolveSecrets(
  env: Environment,
  options: ResolveSecretsOptions = {},
): Promise<Map<string, string>> {
  const readEnv = options.env ?? ((name: string) => Deno.env.get(name));
  const values = new Map<string, string>();
  const missing: (SecretRefEntry & { reason: string })[] = [];
  for (const entry of secretRefs(env)) {
    const { ref } = entry;
    let value: string | undefined;
    if ("from_env" in ref) {
      value = readEnv(ref.from_env);
      if (!value) missing.push({ ...entry, reason: "is not set (or empty)" });
    } else if (options.kubernetesSecret === undefined) {
      missing.push({ ...entry, reason: "needs a Kubernetes client (none given)" });
    } else {
      try {
        value = await options.kubernetesSecret(ref.secret_key_ref.name, ref.secret_key_ref.key);
        if (!value) missing.push({ ...entry, reason: "was not found (or is empty)" });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        missing.push({ ...entry, reason: `could not be read: ${reason}` });
      }
    }
    if (value) values.set(entry.path, value);
  }
  if (missing.length > 0) throw new MissingSecretError(env.name, missing);
  return values;
}
