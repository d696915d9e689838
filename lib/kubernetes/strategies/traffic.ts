/**
 * Where traffic is, and putting it back: the slot a Service selects
 * ({@linkcode liveSlot}), and {@linkcode rollbackService}, which returns the selector and
 * the HTTPRoute weights to a slot without needing anything to be healthy.
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import { serviceManifest } from "../manifests.ts";
import { isSlot, otherSlot, type Slot, type SlotWeights } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { setWeights } from "./canary.ts";
import { obj, ROUTE, SERVICE } from "./_common.ts";

/**
 * A service of a target: what most strategy operations act on.
 *
 * @example
 * ```ts
 * import type { ServiceRef } from "./traffic.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const web: ServiceRef = { target, service: "web" };
 * ```
 */
export interface ServiceRef {
  /** The deploy target. */
  target: KubeTarget;
  /** The service, e.g. `web`. */
  service: string;
}

/**
 * One slot of a service of a target.
 *
 * @example
 * ```ts
 * import type { SlotRef } from "./traffic.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const green: SlotRef = { target, service: "web", slot: "green" };
 * ```
 */
export interface SlotRef extends ServiceRef {
  /** The slot. */
  slot: Slot;
}

/** Whether the Service `<service>` exists, and the slot it selects. */
export async function currentSlot(
  k: KubernetesCapability,
  ref: ServiceRef,
): Promise<{ exists: boolean; slot: Slot | null }> {
  const svc = await k.get(SERVICE, ref.target.namespace, ref.service);
  const slot = obj(obj(svc?.spec).selector).slot;
  return { exists: svc !== null, slot: isSlot(slot) ? slot : null };
}

/**
 * The slot the Service `<service>` sends traffic to, or null before the first deploy.
 *
 * @param k The capability.
 * @param ref The target and the service.
 * @returns The live slot, or null.
 *
 * @example
 * ```ts ignore
 * import { liveSlot } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const live = await liveSlot(k, { target, service: "web" }); // "blue", "green" or null
 * ```
 */
export async function liveSlot(k: KubernetesCapability, ref: ServiceRef): Promise<Slot | null> {
  return (await currentSlot(k, ref)).slot;
}

/** What {@linkcode rollbackService} did. */
export interface ServiceRollback {
  /** The service. */
  service: string;
  /** The slot traffic is back on. */
  slot: Slot;
  /** Whether the Service selector changed. */
  selectorChanged: boolean;
  /** The HTTPRoute weights now, or null when the service has no route. */
  weights: SlotWeights | null;
}

/**
 * Puts all traffic back on a slot (the previous one): the Service selector, and the
 * HTTPRoute weights (100 to it, 0 to the other) when there is a route. The other slot
 * keeps running. Does not require Running pods: it must work when things are broken.
 *
 * @param k The capability.
 * @param ref The target, the service and the slot to go back to.
 * @returns What was done.
 *
 * @example
 * ```ts ignore
 * import { rollbackService } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * await rollbackService(k, { target, service: "web", slot: "blue" });
 * ```
 */
export async function rollbackService(
  k: KubernetesCapability,
  ref: SlotRef,
): Promise<ServiceRollback> {
  const { target, service, slot } = ref;
  const before = await currentSlot(k, ref);
  let selectorChanged = false;
  if (before.exists && before.slot !== slot) {
    await k.patch(
      SERVICE,
      target.namespace,
      service,
      { spec: { selector: { slot } } },
      "strategic",
    );
    selectorChanged = true;
  } else if (!before.exists) {
    await k.apply(serviceManifest(target, { service, slot }));
    selectorChanged = true;
  }
  let weights: SlotWeights | null = null;
  if (await k.get(ROUTE, target.namespace, service)) {
    const back = { [slot]: 100, [otherSlot(slot)]: 0 } as unknown as SlotWeights;
    weights = await setWeights(k, { target, service, weights: back });
  }
  return { service, slot, selectorChanged, weights };
}
