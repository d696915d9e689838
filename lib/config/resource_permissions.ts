/**
 * The Deno permissions a stage gets for each resource it declares with `uses(...)`.
 * @module
 */
import type { Environment } from "./types.ts";
import { secretRefs } from "./secrets.ts";

/** The permissions a stage's Worker needs for one resource. */
export interface ResourcePermissions {
  /** `host:port` pairs the Worker may connect to. */
  net: string[];
  /** Environment variable names the Worker may read (its `from_env` secrets). */
  env: string[];
  /** Paths the Worker may read. */
  read: string[];
  /** `true` when the runner's main thread holds the client and the stage reaches it by proxy. */
  proxied: boolean;
}

const DIRECT = ["database", "redis", "metrics"] as const;
const PROXIED = ["kubernetes", "notifications", "github"] as const;

/** The resources a stage can declare, sorted. */
export const RESOURCES: readonly string[] = [...DIRECT, ...PROXIED].sort();

function fromEnvNames(env: Environment, prefix: string): string[] {
  const names = secretRefs(env)
    .filter((entry) => entry.path.startsWith(`${prefix}.`))
    .flatMap(({ ref }) => "from_env" in ref ? [ref.from_env] : []);
  return [...new Set(names)].sort();
}

function hostPort(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}:${port}`;
}

/**
 * Derives the permissions for a resource a stage declares: `database` and `redis` get
 * their `host:port` and the environment variables of their `from_env` secrets; `metrics`
 * gets the Prometheus `host:port`; `kubernetes`, `notifications` and `github` get no
 * direct permission (`proxied: true`: the runner's main thread holds those clients).
 *
 * @param env The environment.
 * @param resource The resource name.
 * @returns The permissions.
 * @throws {RangeError} For an unknown resource (the message lists the known ones).
 *
 * @example
 * ```ts ignore
 * import { loadEnvironment, resourcePermissions } from "./mod.ts";
 * const env = await loadEnvironment("development");
 * resourcePermissions(env, "database");
 * // { net: ["dev-db.tracktion.internal:5432"], env: ["TRACKTION_DB_PASSWORD"], read: [], proxied: false }
 * ```
 */
export function resourcePermissions(env: Environment, resource: string): ResourcePermissions {
  switch (resource) {
    case "database":
    case "redis": {
      const { host, port } = env[resource];
      return {
        net: [`${host}:${port}`],
        env: fromEnvNames(env, resource),
        read: [],
        proxied: false,
      };
    }
    case "metrics":
      return {
        net: [hostPort(env.monitoring.prometheus_url)],
        env: [],
        read: [],
        proxied: false,
      };
    case "kubernetes":
    case "notifications":
    case "github":
      return { net: [], env: [], read: [], proxied: true };
    default:
      throw new RangeError(
        `Unknown resource ${JSON.stringify(resource)}: known resources are ${RESOURCES.join(", ")}`,
      );
  }
}
