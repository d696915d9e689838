/**
 * Blue-green: deploy a version to the idle slot of a service and wait for its rollout
 * ({@linkcode deployIdleSlot}), then point the Service at it ({@linkcode switchService}).
 * Health in between is `verifySlotHealth` (`health.ts`).
 * @module
 */
import type { KubernetesCapability, RolloutStatus } from "../capability.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  serviceManifest,
  slotServiceManifest,
} from "../manifests.ts";
import { otherSlot, type Slot, slotSelector, type SlotWeights } from "../slots.ts";
import { DELETE_AFTER_ANNOTATION } from "./cleanup.ts";
import { currentSlot, liveSlot, type ServiceRef, type SlotRef } from "./traffic.ts";
import { DEPLOYMENT, dryRunRollout, POD, ROUTE, selectorString, SERVICE } from "./_common.ts";

/** What {@linkcode deployIdleSlot} (and `rollingUpdate`) did. */
export interface SlotDeployment {
  /** The service. */
  service: string;
  /** The slot deployed to (the idle one; the live one for a rolling update). */
  slot: Slot;
  /** The slot live before, or null on the first deploy. */
  previousSlot: Slot | null;
  /** The bare version deployed. */
  version: string;
  /** The final rollout status. */
  rollout: RolloutStatus;
}

/**
 * Options for {@linkcode deployIdleSlot}.
 *
 * @example
 * ```ts
 * import type { DeployIdleSlotOptions } from "./blue_green.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: DeployIdleSlotOptions = { target, service: "web", version: "1.2.4", pollMs: 500 };
 * ```
 */
export interface DeployIdleSlotOptions extends ServiceRef {
  /** The version, e.g. `1.2.4` or `v1.2.4`. */
  version: string;
  /** How long to wait for the rollout (default: the rollout deadline plus 30 s). */
  timeoutMs?: number | undefined;
  /** Pause between rollout readings (default 1 s). */
  pollMs?: number | undefined;
  /**
   * Before the idle slot's Service appears, make sure the HTTPRoute exists (all traffic on
   * the live slot), so the new slot gets no traffic until weights move it. Default: when
   * the target's strategy is `canary`. An existing route is left as it is; on the first
   * deploy (no live slot) there is nothing to protect and no route is made.
   */
  ensureRoute?: boolean | undefined;
  /**
   * The capability is in dry-run mode: the applies are validated by the server
   * (`dryRun=All`) but nothing exists to wait for, so the rollout is not awaited.
   */
  dryRun?: boolean | undefined;
}

/**
 * Deploys a version to the idle slot of a service: server-side applies the Deployment
 * `<service>-<slot>` and the slot Service, then waits for the rollout as
 * `kubectl rollout status` judges it, within the target's rollout deadline. For a canary
 * target it first makes sure the HTTPRoute exists with the live slot at 100%.
 *
 * @param k The capability.
 * @param options The target, the service, the version; timeout, poll interval, dry run.
 * @returns What was deployed.
 * @throws {Error} When the rollout fails or does not finish in time (naming the Deployment and kubectl's message).
 *
 * @example
 * ```ts ignore
 * import { deployIdleSlot } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const d = await deployIdleSlot(k, { target, service: "web", version: "1.2.4" });
 * console.log(`${d.service}-${d.slot}: ${d.rollout.message}`);
 * ```
 */
export async function deployIdleSlot(
  k: KubernetesCapability,
  options: DeployIdleSlotOptions,
): Promise<SlotDeployment> {
  const { target, service } = options;
  const namespace = target.namespace;
  const previousSlot = await liveSlot(k, options);
  const slot: Slot = previousSlot ? otherSlot(previousSlot) : "blue";
  const manifest = deploymentManifest(target, { service, slot, version: options.version });
  const name = manifest.metadata.name;
  const version = String(manifest.metadata.labels?.version);
  const ensureRoute = options.ensureRoute ?? target.strategy === "canary";
  if (ensureRoute && previousSlot !== null && !await k.get(ROUTE, namespace, service)) {
    const weights = { [previousSlot]: 100, [slot]: 0 } as unknown as SlotWeights;
    await k.apply(httpRouteManifest(target, { service, weights }));
  }
  const applied = await k.apply(manifest);
  if (applied.metadata.annotations?.[DELETE_AFTER_ANNOTATION] !== undefined) {
    // the slot was marked for clean-up when it went idle; it is in use again
    await k.patch(DEPLOYMENT, namespace, name, {
      metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: null } },
    }, "merge");
  }
  await k.apply(slotServiceManifest(target, { service, slot }));
  if (options.dryRun) {
    return { service, slot, previousSlot, version, rollout: dryRunRollout(namespace, name) };
  }
  const rollout = await k.waitForRollout(namespace, name, {
    timeoutMs: options.timeoutMs ?? target.rolloutDeadlineMs + 30_000,
    pollMs: options.pollMs ?? 1_000,
  });
  if (!rollout.done) {
    throw new Error(
      `Cannot deploy ${service} ${version} to slot ${slot}: Deployment ${namespace}/${name}: ${rollout.message}`,
    );
  }
  return { service, slot, previousSlot, version, rollout };
}

/** What {@linkcode switchService} did. */
export interface ServiceSwitch {
  /** The service. */
  service: string;
  /** The slot the Service now selects. */
  slot: Slot;
  /** The slot it selected before, or null. */
  previousSlot: Slot | null;
  /** Running pods behind the new selector. */
  activePods: number;
}

/**
 * Options for {@linkcode switchService}: the slot to send traffic to.
 *
 * @example
 * ```ts
 * import type { SwitchServiceOptions } from "./blue_green.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: SwitchServiceOptions = { target, service: "web", slot: "green" };
 * ```
 */
export interface SwitchServiceOptions extends SlotRef {
  /** A dry run: the change is validated, and the verification skipped (nothing moved). */
  dryRun?: boolean | undefined;
}

/**
 * Points the Service `<service>` at a slot, as
 * `kubectl patch service ... '{"spec":{"selector":{"slot":"<slot>"}}}'` does (the
 * Service is created on the first deploy), then verifies that Running pods are behind it.
 *
 * @param k The capability.
 * @param options The target, the service and the slot to send traffic to; dry run.
 * @returns The switch.
 * @throws {Error} When no Running pod is behind the new selector.
 *
 * @example
 * ```ts ignore
 * import { switchService } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const s = await switchService(k, { target, service: "web", slot: "green" });
 * console.log(`${s.previousSlot} -> ${s.slot}: ${s.activePods} pods`);
 * ```
 */
export async function switchService(
  k: KubernetesCapability,
  options: SwitchServiceOptions,
): Promise<ServiceSwitch> {
  const { target, service, slot } = options;
  const namespace = target.namespace;
  const before = await currentSlot(k, options);
  if (before.exists) {
    await k.patch(SERVICE, namespace, service, { spec: { selector: { slot } } }, "strategic");
  } else {
    await k.apply(serviceManifest(target, { service, slot }));
  }
  if (options.dryRun) return { service, slot, previousSlot: before.slot, activePods: 0 };
  const pods = await k.list(POD, namespace, {
    labelSelector: selectorString(slotSelector(target, { service, slot })),
    fieldSelector: "status.phase=Running",
  });
  if (pods.length === 0) {
    throw new Error(
      `Cannot verify the switch of Service ${namespace}/${service} to slot ${slot}: no Running pods behind it`,
    );
  }
  return { service, slot, previousSlot: before.slot, activePods: pods.length };
}
