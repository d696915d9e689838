/**
 * Environments as code: load and validate `environments/<name>.yml` (zod; errors name
 * file, line, column and field), resolve secret references, and compare environments (the `config` command is in `lib/cli/config.ts`).
 *
 * ```ts ignore
 * import { loadEnvironment, resolveSecrets } from "./mod.ts";
 * const env = await loadEnvironment("staging");
 * const secrets = await resolveSecrets(env);
 * ```
 *
 * @module
 */
export * from "./config_error.ts";
export * from "./duration.ts";
export * from "./quantity.ts";
export * from "./secret_ref.ts";
export * from "./types.ts";
export type { Environment, EnvironmentConfig } from "./schema.ts";
export * from "./limits.ts";
export * from "./load_environment.ts";
export * from "./secrets.ts";
export * from "./diff_environments.ts";
export * from "./json_schema.ts";
