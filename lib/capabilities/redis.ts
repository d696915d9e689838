/**
 * The `redis` resource: a direct one. A stage that `uses("redis")` speaks RESP to the
 * environment's Redis itself, so it is granted that `host:port` and the environment
 * variables of Redis's `from_env` secrets (its password) — nothing is held for it on
 * the main thread.
 * @module
 */
import type { Environment } from "../config/types.ts";
import { secretRefs } from "../config/secrets.ts";
import type { Capability, Grant } from "./types.ts";

/**
 * The environment variables of the `from_env` secrets under a section, sorted.
 *
 * @param env The environment.
 * @param section The section, e.g. `"redis"`.
 * @returns The variable names.
 *
 * @example
 * ```ts
 * import { fromEnvNames } from "./redis.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
 * const env = { redis: { password: { from_env: "REDIS_PASSWORD" } } } as unknown as Environment;
 * assert.deepEqual(fromEnvNames(env, "redis"), ["REDIS_PASSWORD"]);
 * ```
 */
export function fromEnvNames(env: Environment, section: string): string[] {
  const names = secretRefs(env)
    .filter((entry) => entry.path.startsWith(`${section}.`))
    .flatMap(({ ref }) => "from_env" in ref ? [ref.from_env] : []);
  return [...new Set(names)].sort();
}

/**
 * The `redis` registry entry: grants `redis.host:redis.port` and its `from_env` secrets.
 *
 * @example
 * ```ts ignore
 * import { redis } from "./redis.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * redis.grant(await loadEnvironment("development"));
 * // { net: ["dev-redis.example.internal:6379"], env: ["REDIS_PASSWORD"], read: [], proxied: false }
 * ```
 */
export const redis: Capability = {
  name: "redis",
  summary: "Redis, reached directly by the stage (its host:port and password variable)",
  grant(env): Grant {
    return {
      net: [`${env.redis.host}:${env.redis.port}`],
      env: fromEnvNames(env, "redis"),
      read: [],
      proxied: false,
    };
  },
};
