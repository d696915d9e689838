/**
 * Configuration check: the environment the run loaded is the one deployed to, has
 * what a deploy needs, and keeps secrets as references. It takes the already-loaded
 * values (the runner validated the file with zod before anything ran), so nothing is
 * re-read or re-parsed inside the stage's Worker.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { Environment } from "../lib/config/types.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

/** The fields a deploy needs by default (dotted paths). */
export const DEFAULT_REQUIRED_FIELDS: readonly string[] = [
  "environment.name",
  "environment.namespace",
  "environment.cluster",
  "infrastructure.replicas",
  "database.host",
  "database.port",
  "database.database",
  "database.user",
  "database.password",
  "redis.host",
  "redis.port",
  "deployment.strategy",
  "deployment.image_registry",
  "monitoring.prometheus_url",
];

const SECRET_FIELDS = [
  "database.password",
  "redis.password",
  "github.token",
  "notifications.slack.webhook_url",
  "notifications.pagerduty.routing_key",
];

const URL_FIELDS = [
  "monitoring.prometheus_url",
  "monitoring.grafana_url",
  "monitoring.alertmanager_url",
];

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === "string") return value.trim() === "";
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** Options for {@linkcode configurationValid}. */
export interface ConfigurationCheckOptions extends CommonCheckOptions {
  /** Dotted paths that must be present and non-empty (default {@linkcode DEFAULT_REQUIRED_FIELDS}). */
  readonly requiredFields?: readonly string[];
  /** Services that must each have at least one replica. */
  readonly expectedServices?: readonly string[];
}

/**
 * The loaded environment is complete and consistent: it is the stage's environment,
 * required fields are present, the pool bounds hold, every expected service has
 * replicas, monitoring URLs parse, and secret fields are references (never values).
 *
 * @param env The environment the run loaded (`Environment` from `lib/config`).
 * @param options Required fields, expected services, name, required.
 * @returns The check; evidence: environment, file, problems (paths and reasons, no values).
 *
 * @example
 * ```ts
 * import { configurationValid } from "./configuration.ts";
 * import assert from "node:assert/strict";
 * const outcome = await configurationValid({} as never).run({ environment: "staging" } as never);
 * assert.equal(outcome.ok, false);
 * ```
 */
export function configurationValid(
  env: Environment | Readonly<Record<string, unknown>>,
  options: ConfigurationCheckOptions = {},
): Check {
  return {
    name: options.name ?? "Environment configuration valid",
    required: options.required ?? true,
    run: (ctx) => {
      const problems: string[] = [];
      const name = at(env, "name");
      if (typeof name !== "string" || !name) {
        problems.push("name: missing (not a loaded environment)");
      } else if (ctx.environment && name !== ctx.environment) {
        problems.push(`name: is ${name}, but the run deploys to ${ctx.environment}`);
      }
      const declared = at(env, "environment.name");
      if (typeof declared === "string" && typeof name === "string" && declared !== name) {
        problems.push(`environment.name: is ${declared}, but the file is ${name}`);
      }
      for (const path of options.requiredFields ?? DEFAULT_REQUIRED_FIELDS) {
        if (isEmpty(at(env, path))) problems.push(`${path}: missing`);
      }
      const min = at(env, "database.connection_pool.min_size");
      const max = at(env, "database.connection_pool.max_size");
      if (typeof min === "number" && typeof max === "number" && (max < 1 || min > max)) {
        problems.push("database.connection_pool: min_size must be <= max_size and max_size >= 1");
      }
      const replicas = at(env, "infrastructure.replicas");
      for (const service of options.expectedServices ?? []) {
        const count = at(replicas, service);
        if (typeof count !== "number" || count < 1) {
          problems.push(`infrastructure.replicas.${service}: must be at least 1`);
        }
      }
      for (const path of URL_FIELDS) {
        const url = at(env, path);
        if (url === undefined) continue;
        if (typeof url !== "string" || !URL.canParse(url)) problems.push(`${path}: not a URL`);
      }
      for (const path of SECRET_FIELDS) {
        const value = at(env, path);
        if (value !== undefined && (typeof value !== "object" || value === null)) {
          problems.push(`${path}: holds a value; it must be a secret reference`);
        }
      }
      const evidence = {
        environment: typeof name === "string" ? name : undefined,
        file: at(env, "file"),
        checkedFields: (options.requiredFields ?? DEFAULT_REQUIRED_FIELDS).length,
        problems,
      };
      if (problems.length > 0) {
        return fail(
          `Environment configuration has ${problems.length} problem${
            problems.length > 1 ? "s" : ""
          }: ${problems.join("; ")}`,
          evidence,
        );
      }
      return pass(`Environment ${String(name)} configuration is complete`, evidence);
    },
  };
}
