/**
 * The old slot after a deploy: kept for the rollback window (an annotation with the time
 * after which it may go, {@linkcode scheduleCleanup}), then scaled to zero when it is
 * still idle ({@linkcode cleanupExpiredSlots}).
 * @module
 */
import type { KubeObject, KubernetesCapability } from "../capability.ts";
import { isSlot } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { ANNOTATION_PREFIX } from "../../product/mod.ts";
import { currentSlot, type SlotRef } from "./traffic.ts";
import { DEPLOYMENT } from "./_common.ts";
import { ambientClock } from "../../async/ambient.ts";

/**
 * The annotation that says when an idle slot may be scaled down (ISO time).
 *
 * @example
 * ```ts
 * import { DELETE_AFTER_ANNOTATION } from "./cleanup.ts";
 * console.assert(DELETE_AFTER_ANNOTATION.endsWith("/delete-after"));
 * ```
 */
export const DELETE_AFTER_ANNOTATION = `${ANNOTATION_PREFIX}/delete-after`;

/**
 * Options for {@linkcode scheduleCleanup}: the old slot, and the clock.
 *
 * @example
 * ```ts
 * import type { ScheduleCleanupOptions } from "./cleanup.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: ScheduleCleanupOptions = { target, service: "web", slot: "blue" };
 * ```
 */
export interface ScheduleCleanupOptions extends SlotRef {
  /** The time now (default: the stage's clock, `ctx.now()`). */
  now?: Date | undefined;
}

/**
 * Marks the old slot's Deployment for clean-up after the rollback window (kept, by
 * default 24 h, for a quick rollback): an annotation with the time after which
 * {@linkcode cleanupExpiredSlots} scales it to zero.
 *
 * @param k The capability.
 * @param options The target, the service and the old slot; the clock.
 * @returns The Deployment and the time, or null when the slot has no Deployment.
 *
 * @example
 * ```ts ignore
 * import { scheduleCleanup } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const s = await scheduleCleanup(k, { target, service: "web", slot: "blue" });
 * console.log(s?.deleteAfter);
 * ```
 */
export async function scheduleCleanup(
  k: KubernetesCapability,
  options: ScheduleCleanupOptions,
): Promise<{ deployment: string; deleteAfter: string } | null> {
  const { namespace, rollbackWindowMs } = options.target;
  const name = `${options.service}-${options.slot}`;
  const now = options.now ?? new Date(ambientClock().now());
  const deleteAfter = new Date(now.getTime() + rollbackWindowMs).toISOString();
  if (!await k.get(DEPLOYMENT, namespace, name)) return null;
  await k.patch(
    DEPLOYMENT,
    namespace,
    name,
    { metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: deleteAfter } } },
    "merge",
  );
  return { deployment: name, deleteAfter };
}

/**
 * Scales to zero every slot Deployment whose clean-up time has passed and whose slot is
 * not live (the Service does not select it), then removes the annotation.
 *
 * @param k The capability.
 * @param options The target, and the clock (default: now).
 * @returns The Deployments scaled down.
 *
 * @example
 * ```ts ignore
 * import { cleanupExpiredSlots } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * console.log(await cleanupExpiredSlots(k, { target })); // e.g. ["web-blue"]
 * ```
 */
export async function cleanupExpiredSlots(
  k: KubernetesCapability,
  options: { target: KubeTarget; now?: Date | undefined },
): Promise<string[]> {
  const { target } = options;
  const now = options.now ?? new Date(ambientClock().now());
  const scaled: string[] = [];
  const deployments: KubeObject[] = await k.list(DEPLOYMENT, target.namespace, {
    labelSelector: `app=${target.app}`,
  });
  for (const d of deployments) {
    const after = d.metadata.annotations?.[DELETE_AFTER_ANNOTATION];
    const service = d.metadata.labels?.service;
    const slot = d.metadata.labels?.slot;
    if (!after || !service || !isSlot(slot) || new Date(after) > now) continue;
    if ((await currentSlot(k, { target, service })).slot === slot) continue;
    await k.patch(DEPLOYMENT, target.namespace, d.metadata.name, {
      metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: null } },
      spec: { replicas: 0 },
    }, "merge");
    scaled.push(d.metadata.name);
  }
  return scaled;
}
