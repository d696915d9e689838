/**
 * Canary traffic: the HTTPRoute `<service>`'s backend weights over the two slot
 * Services — set them ({@linkcode setWeights}) and read them ({@linkcode currentWeights}).
 * The canary's idle slot is deployed by `deployIdleSlot` (`blue_green.ts`), which for a
 * canary target first pins all traffic on the live slot.
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import { httpRouteManifest } from "../manifests.ts";
import { checkWeights, type SlotWeights } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { obj, ROUTE } from "./_common.ts";

/**
 * What {@linkcode setWeights} needs.
 *
 * @example
 * ```ts
 * import type { SetWeightsOptions } from "./canary.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: SetWeightsOptions = { target, service: "web", weights: { blue: 95, green: 5 } };
 * ```
 */
export interface SetWeightsOptions {
  /** The deploy target. */
  target: KubeTarget;
  /** The service. */
  service: string;
  /** The weights, e.g. `{ blue: 95, green: 5 }`. */
  weights: SlotWeights;
}

/**
 * Sets the HTTPRoute `<service>`'s backend weights over the two slot Services (server-side
 * apply: created when missing).
 *
 * @param k The capability.
 * @param options The target, the service and the weights.
 * @returns The weights now set.
 * @throws {RangeError} For weights that are not integers >= 0, or both 0.
 *
 * @example
 * ```ts ignore
 * import { setWeights } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * await setWeights(k, { target, service: "web", weights: { blue: 95, green: 5 } });
 * ```
 */
export async function setWeights(
  k: KubernetesCapability,
  options: SetWeightsOptions,
): Promise<SlotWeights> {
  const { target, service, weights } = options;
  checkWeights(weights);
  await k.apply(httpRouteManifest(target, { service, weights }));
  return { blue: weights.blue, green: weights.green };
}

/**
 * The HTTPRoute `<service>`'s current weights, or null when there is no route.
 *
 * @param k The capability.
 * @param ref The target and the service.
 * @returns The weights, or null.
 *
 * @example
 * ```ts ignore
 * import { currentWeights } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * console.log(await currentWeights(k, { target, service: "web" })); // { blue: 95, green: 5 } or null
 * ```
 */
export async function currentWeights(
  k: KubernetesCapability,
  ref: { target: KubeTarget; service: string },
): Promise<SlotWeights | null> {
  const { target, service } = ref;
  const route = await k.get(ROUTE, target.namespace, service);
  if (!route) return null;
  const weights: SlotWeights = { blue: 0, green: 0 };
  const rules = obj(route.spec).rules;
  for (const rule of Array.isArray(rules) ? rules : []) {
    const refs = obj(rule).backendRefs;
    for (const ref of Array.isArray(refs) ? refs : []) {
      const name = String(obj(ref).name ?? "");
      const weight = obj(ref).weight;
      const w = typeof weight === "number" ? weight : 1;
      if (name === `${service}-blue`) weights.blue += w;
      if (name === `${service}-green`) weights.green += w;
    }
  }
  return weights;
}
