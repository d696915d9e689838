/**
 * What the services' containers read from their environment, from an environment file
 * ({@linkcode podConfig}). Kept apart from the sandbox's seed so that the deploy target, which
 * every stage Worker loads, does not load the environment files' parser and schema with it.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { PodConfig, PodEnvVar } from "../kubernetes/manifests.ts";

type SecretKey = { name: string; key: string };

/** Where the pods read a password: the file's `secret_key_ref`, else its credentials Secret. */
function passwordRef(
  env: Environment,
  of: "database" | "redis",
): SecretKey | undefined {
  const ref = env[of].password;
  if (ref && "secret_key_ref" in ref) return { ...ref.secret_key_ref };
  const found = Object.entries(env.kubernetes?.secrets ?? {}).find(([, s]) => s.credentials === of);
  return found ? { name: found[0], key: "password" } : undefined;
}

/** An API key's variable: `analysis-api-key` → `ANALYSIS_API_KEY`. */
function keyVariable(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

/**
 * What the services' containers read from their environment, from an environment file:
 * the database (`DATABASE_HOST`, `_PORT`, `_NAME`, `_USER`, `_SSLMODE`, `_URL` without
 * password, `_POOL_MIN_SIZE`, `_POOL_MAX_SIZE`, and `DATABASE_PASSWORD` as a key of its
 * Secret), Redis (`REDIS_HOST`, `_PORT`, `_DB`, `_SSL`, `_CLUSTER_MODE`, `_URL`, and
 * `REDIS_PASSWORD` when it has one), the external services (`API_RATE_LIMIT`,
 * `WEBHOOK_TIMEOUT_SECONDS`, `CDN_ENABLED`) and every key of the `kubernetes.secrets` that
 * list `keys` (e.g. `api-keys: { keys: [search-api-key] }` → `SEARCH_API_KEY`). A password
 * is read from the file's `secret_key_ref`, else from the namespace's `credentials` Secret
 * (a `from_env` password is the runner's, not the pods').
 *
 * @param env The environment.
 * @returns The pods' configuration, for `kubeTarget(env)`'s `pods`.
 *
 * @example
 * ```ts
 * import { podConfig } from "./pod_config.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const pods = podConfig(await loadEnvironment("production"));
 * assert.ok(pods.env.some((v) => v.name === "DATABASE_PASSWORD" && "secret" in v));
 * ```
 */
export function podConfig(env: Environment): PodConfig {
  const { database: db, redis } = env;
  const plain = (name: string, value: string | number | boolean): PodEnvVar => ({
    name,
    value: String(value),
  });
  const vars: PodEnvVar[] = [
    plain("DATABASE_HOST", db.host),
    plain("DATABASE_PORT", db.port),
    plain("DATABASE_NAME", db.database),
    plain("DATABASE_USER", db.user),
    plain("DATABASE_SSLMODE", db.ssl_mode),
    plain(
      "DATABASE_URL",
      `postgresql://${encodeURIComponent(db.user)}@${db.host}:${db.port}/${
        encodeURIComponent(db.database)
      }?sslmode=${db.ssl_mode}`,
    ),
    plain("DATABASE_POOL_MIN_SIZE", db.connection_pool.min_size),
    plain("DATABASE_POOL_MAX_SIZE", db.connection_pool.max_size),
    plain("REDIS_HOST", redis.host),
    plain("REDIS_PORT", redis.port),
    plain("REDIS_DB", redis.database),
    plain("REDIS_SSL", redis.ssl),
    plain("REDIS_CLUSTER_MODE", redis.cluster_mode),
    plain(
      "REDIS_URL",
      `${redis.ssl ? "rediss" : "redis"}://${redis.host}:${redis.port}/${redis.database}`,
    ),
    plain("API_RATE_LIMIT", env.external_services.api_rate_limit),
    plain("WEBHOOK_TIMEOUT_SECONDS", Math.ceil(env.external_services.webhook_timeout.ms / 1000)),
    plain("CDN_ENABLED", env.external_services.cdn_enabled),
  ];
  const dbPassword = passwordRef(env, "database");
  if (dbPassword) vars.push({ name: "DATABASE_PASSWORD", secret: dbPassword });
  const redisPassword = passwordRef(env, "redis");
  if (redisPassword) vars.push({ name: "REDIS_PASSWORD", secret: redisPassword });
  for (const [name, spec] of Object.entries(env.kubernetes?.secrets ?? {})) {
    for (const key of spec.keys ?? []) vars.push({ name: keyVariable(key), secret: { name, key } });
  }
  return { env: vars };
}
