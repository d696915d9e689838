/**
 * The Kubernetes operations a deploy pipeline composes, by strategy: blue-green (deploy
 * the idle slot, switch the Service), canary (HTTPRoute weights), rolling (the live slot
 * updated in place); and what every strategy shares: a slot's health, where traffic is
 * and putting it back, the old slot's clean-up, the run record written before traffic
 * moves, and the one rollback logic (plan, then restore). Each takes a
 * `KubernetesCapability` and an options object naming its {@linkcode KubeTarget}, so it
 * runs the same in the main thread or inside a stage Worker through the capability
 * proxy. Results are plain JSON.
 *
 * ```ts ignore
 * import { deployIdleSlot, switchService, verifySlotHealth } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const d = await deployIdleSlot(k, { target, service: "web", version: "1.2.4" });
 * const h = await verifySlotHealth(k, { target, service: "web", slot: d.slot, version: d.version });
 * if (h.healthy) await switchService(k, { target, service: "web", slot: d.slot });
 * ```
 * @module
 */
import type { KubeTarget } from "../target.ts";
export type { KubeTarget };
export * from "./blue_green.ts";
export * from "./canary.ts";
export * from "./rolling.ts";
export * from "./health.ts";
export * from "./traffic.ts";
export * from "./cleanup.ts";
export * from "./record.ts";
export * from "./run.ts";
export * from "./rollback.ts";
export * from "./restore.ts";
