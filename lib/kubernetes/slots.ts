/**
 * Slots, names and labels: what the manifests and strategies agree on (blue/green slots,
 * the service port, the labels that select a slot's pods, traffic weights).
 * @module
 */
import type { KubeTarget } from "./target.ts";

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
 * The labels that select a slot's pods: app, service, slot.
 *
 * @param target The target (its `app` label).
 * @param where The service and the slot.
 * @returns The labels.
 *
 * @example
 * ```ts
 * import { slotSelector } from "./slots.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { app: "shop" } as KubeTarget;
 * assert.deepEqual(slotSelector(target, { service: "web", slot: "blue" }), {
 *   app: "shop",
 *   service: "web",
 *   slot: "blue",
 * });
 * ```
 */
export function slotSelector(
  target: KubeTarget,
  where: { service: string; slot: Slot },
): Record<string, string> {
  return { app: target.app, service: where.service, slot: where.slot };
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
