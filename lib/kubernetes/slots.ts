/**
 * Slots, names and labels: what the manifests and strategies agree on (blue/green slots,
 * the service port, the `app` label taken from the environment, traffic weights).
 * @module
 */
import type { Environment } from "../config/mod.ts";

/** A blue-green slot. */
export type Slot = "blue" | "green";

/** Both slots, blue first. */
export const SLOTS: readonly Slot[] = ["blue", "green"];

/** The port the services listen on and answer `/health` on. */
export const SERVICE_PORT = 8000;

/** The ConfigMap that records what is deployed. */
export const DEPLOYMENT_INFO_NAME = "deployment-info";

/** Traffic weights of the two slots (HTTPRoute backend weights). */
export interface SlotWeights {
  /** Weight of the blue slot's Service. */
  blue: number;
  /** Weight of the green slot's Service. */
  green: number;
}

/** Options shared by the manifest builders. */
export interface ManifestOptions {
  /**
   * The `app` label of every object. Defaults to {@linkcode appName} of the environment
   * (the name part of `github.repository`).
   */
  app?: string | undefined;
  /** The Gateway the HTTPRoutes attach to (default: the app name). */
  gateway?: { name: string; namespace?: string | undefined } | undefined;
}

/**
 * The other slot.
 *
 * @param slot A slot.
 * @returns `green` for `blue` and the reverse.
 *
 * @example
 * ```ts
 * import { otherSlot } from "./slots.ts";
 * import assert from "node:assert/strict";
 * assert.equal(otherSlot("blue"), "green");
 * ```
 */
export function otherSlot(slot: Slot): Slot {
  return slot === "blue" ? "green" : "blue";
}

/**
 * Whether a value names a slot.
 *
 * @param value Anything.
 * @returns True for `"blue"` and `"green"`.
 *
 * @example
 * ```ts
 * import { isSlot } from "./slots.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isSlot("green"));
 * assert.ok(!isSlot("red"));
 * ```
 */
export function isSlot(value: unknown): value is Slot {
  return value === "blue" || value === "green";
}

/**
 * A version without its `v` prefix, as image tags and labels carry it.
 *
 * @param version `v1.2.4` or `1.2.4`.
 * @returns `1.2.4`.
 * @throws {TypeError} When the result is not a valid label value.
 *
 * @example
 * ```ts
 * import { bareVersion } from "./slots.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bareVersion("v1.2.4"), "1.2.4");
 * ```
 */
export function bareVersion(version: string): string {
  const bare = version.startsWith("v") ? version.slice(1) : version;
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(bare)) {
    throw new TypeError(
      `Cannot use version "${version}": not a valid image tag and label value`,
    );
  }
  return bare;
}

/**
 * The app name of an environment: the name part of its `github.repository`.
 *
 * @param env The environment.
 * @returns e.g. `tracktion` for `tracktion/tracktion`.
 *
 * @example
 * ```ts
 * import { appName } from "./slots.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = { github: { repository: "acme/shop" } } as unknown as Environment;
 * assert.equal(appName(env), "shop");
 * ```
 */
export function appName(env: Environment): string {
  const name = env.github.repository.split("/").pop() ?? "";
  return name.toLowerCase().replace(/[^a-z0-9-]/g, "-") || env.environment.namespace;
}

/**
 * The `app` label the manifests use: the option, else {@linkcode appName}.
 *
 * @param env The environment.
 * @param options Manifest options.
 * @returns The label value.
 *
 * @example
 * ```ts
 * import { appLabel } from "./slots.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = { github: { repository: "acme/shop" } } as unknown as Environment;
 * assert.equal(appLabel(env, { app: "store" }), "store");
 * ```
 */
export function appLabel(env: Environment, options: ManifestOptions = {}): string {
  return options.app ?? appName(env);
}

/**
 * The services of an environment: the keys of `infrastructure.replicas`.
 *
 * @example
 * ```ts
 * import { servicesOf } from "./slots.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = { infrastructure: { replicas: { web: 2 } } } as unknown as Environment;
 * assert.deepEqual(servicesOf(env), ["web"]);
 * ```
 */
export function servicesOf(env: Environment): string[] {
  return Object.keys(env.infrastructure.replicas);
}

/**
 * The replicas of a service, checking the environment has it.
 *
 * @param env The environment.
 * @param service The service.
 * @returns Its replicas.
 * @throws {RangeError} Naming the environment's services when it has no such one.
 *
 * @example
 * ```ts
 * import { serviceReplicas } from "./slots.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = { name: "dev", infrastructure: { replicas: { web: 2 } } } as unknown as Environment;
 * assert.equal(serviceReplicas(env, "web"), 2);
 * assert.throws(() => serviceReplicas(env, "db"), RangeError);
 * ```
 */
export function serviceReplicas(env: Environment, service: string): number {
  const replicas = env.infrastructure.replicas[service];
  if (replicas === undefined) {
    throw new RangeError(
      `Cannot generate manifests for service "${service}": environment "${env.name}" has no such service: its services are ${
        servicesOf(env).join(", ")
      }`,
    );
  }
  return replicas;
}

/**
 * The labels that select a slot's pods: app, service, slot.
 *
 * @example
 * ```ts
 * import { slotSelector } from "./slots.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = { github: { repository: "acme/shop" } } as unknown as Environment;
 * assert.deepEqual(slotSelector(env, "web", "blue"), { app: "shop", service: "web", slot: "blue" });
 * ```
 */
export function slotSelector(
  env: Environment,
  service: string,
  slot: Slot,
  options: ManifestOptions = {},
): Record<string, string> {
  return { app: appLabel(env, options), service, slot };
}

/**
 * Checks traffic weights: integers >= 0, not both 0.
 *
 * @param weights The weights.
 * @throws {RangeError} When they are not.
 *
 * @example
 * ```ts
 * import { checkWeights } from "./slots.ts";
 * import assert from "node:assert/strict";
 * checkWeights({ blue: 95, green: 5 });
 * assert.throws(() => checkWeights({ blue: 0, green: 0 }), RangeError);
 * ```
 */
export function checkWeights(weights: SlotWeights): void {
  for (const slot of SLOTS) {
    const w = weights[slot];
    if (!Number.isInteger(w) || w < 0 || w > 1_000_000) {
      throw new RangeError(
        `Cannot use traffic weight ${slot}=${w}: must be an integer from 0 to 1000000`,
      );
    }
  }
  if (weights.blue + weights.green === 0) {
    throw new RangeError("Cannot use traffic weights blue=0, green=0: no slot would get traffic");
  }
}
