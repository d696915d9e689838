/**
 * The capability registry: every resource a stage can declare with `uses(...)`, one
 * file each, all of the same shape ({@linkcode Capability}): its `name`, the Worker
 * permissions it grants from the environment (`grant(env)`), and — for the ones the
 * runner's main thread holds — how that thread opens it (`open(env, ctx)`, and a
 * synchronous `check` run before anything is written). Held capabilities
 * (`kubernetes`, `database`, `notifications`, `github`, and `run`, which the runner itself
 * provides) grant nothing: the stage
 * reaches them through `ctx.use(name)`. Direct resources (`redis`, `metrics`) grant
 * the host the stage connects to itself, and have no `open`.
 *
 * ```ts
 * import { capability, RESOURCES } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(RESOURCES.includes("database"));
 * assert.equal(capability("database").grant({} as never).proxied, true);
 * ```
 *
 * Adding a capability: write `lib/capabilities/<name>.ts` exporting a `Capability`, and
 * list it in {@linkcode CAPABILITIES}.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { Capability, Grant } from "./types.ts";
import { database } from "./database.ts";
import { github } from "./github.ts";
import { kubernetes } from "./kubernetes.ts";
import { metrics } from "./metrics.ts";
import { notifications } from "./notifications.ts";
import { redis } from "./redis.ts";
import { run } from "./run.ts";

export * from "./types.ts";
export { openCapabilities } from "./open.ts";
export type { CapabilityMethods, OpenCapabilitiesOptions, OpenedCapabilities } from "./open.ts";

/**
 * Every capability, by name.
 *
 * @example
 * ```ts
 * import { CAPABILITIES } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   CAPABILITIES.filter((c) => c.open).map((c) => c.name),
 *   ["database", "github", "kubernetes", "notifications"],
 * );
 * ```
 */
export const CAPABILITIES: readonly Capability[] = [
  database,
  github,
  kubernetes,
  metrics,
  notifications,
  redis,
  run,
] as Capability[];

/**
 * The resources a stage can declare, sorted: the registry's names.
 *
 * @example
 * ```ts
 * import { RESOURCES } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(RESOURCES, [
 *   "database",
 *   "github",
 *   "kubernetes",
 *   "metrics",
 *   "notifications",
 *   "redis",
 *   "run",
 * ]);
 * ```
 */
export const RESOURCES: readonly string[] = CAPABILITIES.map((c) => c.name).sort();

/**
 * The registry's entry for a resource.
 *
 * @param name The resource a stage declared.
 * @returns Its capability.
 * @throws {RangeError} For an unknown resource; the message lists the known ones.
 *
 * @example
 * ```ts
 * import { capability } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(capability("kubernetes").name, "kubernetes");
 * assert.throws(() => capability("postgres"), /known resources are database, github/);
 * ```
 */
export function capability(name: string): Capability {
  const found = CAPABILITIES.find((c) => c.name === name);
  if (!found) {
    throw new RangeError(
      `Unknown resource ${JSON.stringify(name)}: known resources are ${RESOURCES.join(", ")}`,
    );
  }
  return found;
}

/**
 * What declaring a resource grants a stage's Worker in an environment.
 *
 * @param env The environment.
 * @param name The resource.
 * @returns Its grant.
 * @throws {RangeError} For an unknown resource.
 *
 * @example
 * ```ts
 * import { resourceGrant } from "./mod.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
 * const env = { monitoring: { prometheus_url: "http://prom.example:9090" } } as Environment;
 * assert.deepEqual(resourceGrant(env, "metrics").net, ["prom.example:9090"]);
 * assert.deepEqual(resourceGrant(env, "database"), { net: [], env: [], read: [], proxied: true });
 * ```
 */
export function resourceGrant(env: Environment, name: string): Grant {
  return capability(name).grant(env);
}
