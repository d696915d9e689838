/**
 * What companions a sandbox starts for a project, from its environment files: for each
 * environment's namespace a Redis seeded from the `redis.password` it names (a
 * `secret_key_ref` is read from the sandbox's Secret; a `from_env` from this process's
 * variable) and with TLS when `redis.ssl` is true; a registry per namespace holding every service's
 * image (`deployment.image_registry/<service>`) at the version being deployed. Companion
 * faults come from the scenario: `unsigned-image[/<service>+...]` leaves images unsigned,
 * `redis-wrong-password` starts Redis with another password than its Secret.
 * @module
 */
/** What a companion plan reads of an environment (its file's fields). */
export interface CompanionEnvironment {
  /** The environment file, for messages. */
  readonly file: string;
  /** `environment.namespace`. */
  readonly environment: { readonly namespace: string };
  /** `redis:` — its port, TLS and where its password is. */
  readonly redis: {
    readonly port: number;
    readonly ssl?: boolean | undefined;
    readonly password?:
      | { readonly secret_key_ref: { readonly name: string; readonly key: string } }
      | { readonly from_env: string }
      | undefined;
  };
  /** `deployment.image_registry`. */
  readonly deployment: { readonly image_registry: string };
  /** `infrastructure.replicas`: its services. */
  readonly infrastructure: { readonly replicas: Readonly<Record<string, number>> };
}

import type { CompanionsOptions, NamespacePlan, RedisPlan } from "./mod.ts";
import type { ImageToPush } from "./registry.ts";

/** The companion faults, by name, with what each does. */
export const COMPANION_SCENARIOS: Readonly<Record<string, string>> = {
  "unsigned-image": "the registry holds the images (of the services named, else all) unsigned",
  "redis-wrong-password":
    "Redis requires another password than its Secret holds (a rotation that did not reach Redis)",
};

/** A scenario split into the companions' faults and the rest (the sandbox's own). */
export interface SplitScenario {
  /** The sandbox's part (undefined: none). */
  readonly sandbox: string | undefined;
  /** Services whose images are left unsigned (`"*"`: all). */
  readonly unsigned: readonly string[];
  /** Redis gets a wrong password. */
  readonly wrongRedisPassword: boolean;
}

/**
 * Splits a scenario (`a,b,...`) into the companion faults and the sandbox's part.
 *
 * @param scenario The scenario as written.
 * @returns The parts.
 *
 * @example
 * ```ts
 * import { splitScenario } from "./plan.ts";
 * import assert from "node:assert/strict";
 * const s = splitScenario("high-error-rate,unsigned-image/api");
 * assert.deepEqual(s, { sandbox: "high-error-rate", unsigned: ["api"], wrongRedisPassword: false });
 * ```
 */
export function splitScenario(scenario: string | undefined): SplitScenario {
  const rest: string[] = [];
  const unsigned: string[] = [];
  let wrongRedisPassword = false;
  for (const raw of (scenario ?? "").split(",")) {
    const part = raw.trim();
    const [name, services] = part.split("/", 2) as [string, string | undefined];
    if (name === "unsigned-image") unsigned.push(...(services ? services.split("+") : ["*"]));
    else if (name === "redis-wrong-password") wrongRedisPassword = true;
    else if (part) rest.push(part);
  }
  return { sandbox: rest.length ? rest.join(",") : undefined, unsigned, wrongRedisPassword };
}

function redisPlan(env: CompanionEnvironment, wrongPassword: boolean): RedisPlan {
  const tls = env.redis.ssl ?? false;
  const port = env.redis.port;
  const ref = env.redis.password;
  if (ref === undefined) return { port, tls, wrongPassword };
  if ("secret_key_ref" in ref) return { port, tls, wrongPassword, secret: ref.secret_key_ref };
  const value = Deno.env.get(ref.from_env);
  if (value === undefined) {
    return {
      port,
      tls,
      skip: `${env.file} reads the Redis password from ${ref.from_env}, which is not set: ` +
        `set it to rehearse the Redis checks against the sandbox's Redis`,
    };
  }
  return { port, tls, wrongPassword, password: value };
}

/**
 * The companions to start for a project's environments.
 *
 * @param envs The environments (each with its namespace).
 * @param o The version being deployed (undefined: no registry, the skip says why) and the scenario.
 * @returns The namespaces of {@linkcode CompanionsOptions} (each with its images).
 *
 * @example
 * ```ts ignore
 * import { companionPlan } from "./plan.ts";
 * const plan = companionPlan([await loadEnvironment("production")], { version: "1.2.4", scenario: undefined });
 * ```
 */
export function companionPlan(
  envs: readonly CompanionEnvironment[],
  o: { readonly version: string | undefined; readonly scenario: string | undefined },
): Pick<CompanionsOptions, "namespaces"> {
  const split = splitScenario(o.scenario);
  const registrySkip = o.version === undefined
    ? "the sandbox was started without the version being deployed (sandboxTarget's " +
      "version): its registry holds no images"
    : undefined;
  const namespaces: NamespacePlan[] = envs.map((env) => ({
    namespace: env.environment.namespace,
    redis: redisPlan(env, split.wrongRedisPassword),
    images: o.version === undefined ? [] : imagesOf(env, o.version, split.unsigned),
    ...(registrySkip ? { registrySkip } : {}),
  }));
  return { namespaces };
}

function imagesOf(
  env: CompanionEnvironment,
  version: string,
  unsigned: readonly string[],
): ImageToPush[] {
  const prefix = env.deployment.image_registry;
  const repoPrefix = prefix.split("/").slice(1).join("/");
  return Object.keys(env.infrastructure.replicas).map((service) => ({
    repository: repoPrefix ? `${repoPrefix}/${service}` : service,
    tag: version,
    identity: `${prefix}/${service}`,
    ...(unsigned.includes("*") || unsigned.includes(service) ? { unsigned: true } : {}),
  }));
}
