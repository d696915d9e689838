/**
 * Traffic moves and bookkeeping: the blue-green Service switch, HTTPRoute weights, the
 * `deployment-info` record, the old slot's scheduled clean-up, and rollback.
 * Re-exported by `strategies.ts`.
 * @module
 */
import type { Environment } from "../config/mod.ts";
import type { KindRef, KubeObject, KubernetesCapability } from "./capability.ts";
import {
  appLabel,
  checkWeights,
  type DeploymentInfo,
  httpRouteManifest,
  isSlot,
  type ManifestOptions,
  otherSlot,
  serviceManifest,
  type Slot,
  slotSelector,
  type SlotWeights,
} from "./manifests.ts";
import { writeRunRecord } from "./strategies_record.ts";

const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };
const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
const ROUTE: KindRef = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" };

/** The annotation that says when an idle slot may be scaled down (ISO time). */
export const DELETE_AFTER_ANNOTATION = "deploy.tracktion.dev/delete-after";

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

async function currentSlot(
  k: KubernetesCapability,
  env: Environment,
  service: string,
): Promise<{ exists: boolean; slot: Slot | null }> {
  const svc = await k.get(SERVICE, env.environment.namespace, service);
  const slot = record(record(svc?.spec).selector).slot;
  return { exists: svc !== null, slot: isSlot(slot) ? slot : null };
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
 * Points the Service `<service>` at a slot, as the seed's
 * `kubectl patch service ... '{"spec":{"selector":{"slot":"<slot>"}}}'` does (the
 * Service is created on the first deploy), then verifies that Running pods are behind it.
 *
 * @param k The capability.
 * @param env The environment.
 * @param target The service and the slot to send traffic to.
 * @param options Manifest options; `dryRun` skips the verification (nothing moved).
 * @returns The switch.
 * @throws {Error} When no Running pod is behind the new selector (the seed's verification).
 *
 * @example
 * ```ts ignore
 * import { switchService } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const s = await switchService(k, env, { service: "web", slot: "green" });
 * console.log(`${s.previousSlot} -> ${s.slot}: ${s.activePods} pods`);
 * ```
 */
export async function switchService(
  k: KubernetesCapability,
  env: Environment,
  target: { service: string; slot: Slot },
  options: ManifestOptions & { dryRun?: boolean | undefined } = {},
): Promise<ServiceSwitch> {
  const { service, slot } = target;
  const namespace = env.environment.namespace;
  const before = await currentSlot(k, env, service);
  if (before.exists) {
    await k.patch(SERVICE, namespace, service, { spec: { selector: { slot } } }, "strategic");
  } else {
    await k.apply(serviceManifest(env, { service, slot }, options));
  }
  if (options.dryRun) return { service, slot, previousSlot: before.slot, activePods: 0 };
  const pods = await k.list(POD, namespace, {
    labelSelector: selectorString(slotSelector(env, service, slot, options)),
    fieldSelector: "status.phase=Running",
  });
  if (pods.length === 0) {
    throw new Error(
      `Cannot verify the switch of Service ${namespace}/${service} to slot ${slot}: no Running pods behind it`,
    );
  }
  return { service, slot, previousSlot: before.slot, activePods: pods.length };
}

/**
 * Sets the HTTPRoute `<service>`'s backend weights over the two slot Services (server-side
 * apply: created when missing).
 *
 * @param k The capability.
 * @param env The environment.
 * @param service The service.
 * @param weights The weights, e.g. `{ blue: 95, green: 5 }`.
 * @param options Manifest options.
 * @returns The weights now set.
 * @throws {RangeError} For weights that are not integers >= 0, or both 0.
 *
 * @example
 * ```ts ignore
 * import { setWeights } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * await setWeights(k, env, "web", { blue: 95, green: 5 });
 * ```
 */
export async function setWeights(
  k: KubernetesCapability,
  env: Environment,
  service: string,
  weights: SlotWeights,
  options: ManifestOptions = {},
): Promise<SlotWeights> {
  checkWeights(weights);
  await k.apply(httpRouteManifest(env, { service, weights }, options));
  return { blue: weights.blue, green: weights.green };
}

/**
 * The HTTPRoute `<service>`'s current weights, or null when there is no route.
 *
 * @param k The capability.
 * @param env The environment.
 * @param service The service.
 * @returns The weights, or null.
 *
 * @example
 * ```ts ignore
 * import { currentWeights } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * console.log(await currentWeights(k, env, "web")); // { blue: 95, green: 5 } or null
 * ```
 */
export async function currentWeights(
  k: KubernetesCapability,
  env: Environment,
  service: string,
): Promise<SlotWeights | null> {
  const route = await k.get(ROUTE, env.environment.namespace, service);
  if (!route) return null;
  const weights: SlotWeights = { blue: 0, green: 0 };
  const rules = record(route.spec).rules;
  for (const rule of Array.isArray(rules) ? rules : []) {
    const refs = record(rule).backendRefs;
    for (const ref of Array.isArray(refs) ? refs : []) {
      const name = String(record(ref).name ?? "");
      const weight = record(ref).weight;
      const w = typeof weight === "number" ? weight : 1;
      if (name === `${service}-blue`) weights.blue += w;
      if (name === `${service}-green`) weights.green += w;
    }
  }
  return weights;
}

/**
 * Records the deployment in the `deployment-info` ConfigMap (server-side apply). Keys it
 * does not write (e.g. the run record of `strategies_record.ts`) are kept.
 *
 * @param k The capability.
 * @param env The environment.
 * @param info Version, run id, slots, time.
 * @param options Manifest options.
 * @returns The ConfigMap's data.
 *
 * @example
 * ```ts ignore
 * import { recordDeployment } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * await recordDeployment(k, env, { version: "1.2.4", runId: "r1", slots: { web: "green" } });
 * ```
 */
export async function recordDeployment(
  k: KubernetesCapability,
  env: Environment,
  info: DeploymentInfo,
  options: ManifestOptions = {},
): Promise<Record<string, string>> {
  // The run record's keys (and any other) are kept: one merge-and-apply for both.
  return await writeRunRecord(k, env, { info }, options);
}

/**
 * Marks the old slot's Deployment for clean-up after the rollback window (the seed keeps
 * it 24 h for a quick rollback): an annotation with the time after which
 * {@linkcode cleanupExpiredSlots} scales it to zero.
 *
 * @param k The capability.
 * @param env The environment.
 * @param target The service and the old slot.
 * @param options The clock.
 * @returns The Deployment and the time, or null when the slot has no Deployment.
 *
 * @example
 * ```ts ignore
 * import { scheduleCleanup } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const s = await scheduleCleanup(k, env, { service: "web", slot: "blue" });
 * console.log(s?.deleteAfter);
 * ```
 */
export async function scheduleCleanup(
  k: KubernetesCapability,
  env: Environment,
  target: { service: string; slot: Slot },
  options: { now?: Date | undefined } = {},
): Promise<{ deployment: string; deleteAfter: string } | null> {
  const namespace = env.environment.namespace;
  const name = `${target.service}-${target.slot}`;
  const now = options.now ?? new Date();
  const deleteAfter = new Date(now.getTime() + env.deployment.rollback_window.ms).toISOString();
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
 * @param env The environment.
 * @param options The clock and manifest options.
 * @returns The Deployments scaled down.
 *
 * @example
 * ```ts ignore
 * import { cleanupExpiredSlots } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * console.log(await cleanupExpiredSlots(k, env)); // e.g. ["web-blue"]
 * ```
 */
export async function cleanupExpiredSlots(
  k: KubernetesCapability,
  env: Environment,
  options: ManifestOptions & { now?: Date | undefined } = {},
): Promise<string[]> {
  const namespace = env.environment.namespace;
  const now = options.now ?? new Date();
  const scaled: string[] = [];
  const app = appLabel(env, options);
  const deployments: KubeObject[] = await k.list(DEPLOYMENT, namespace, {
    labelSelector: `app=${app}`,
  });
  for (const d of deployments) {
    const after = d.metadata.annotations?.[DELETE_AFTER_ANNOTATION];
    const service = d.metadata.labels?.service;
    const slot = d.metadata.labels?.slot;
    if (!after || !service || !isSlot(slot) || new Date(after) > now) continue;
    if ((await currentSlot(k, env, service)).slot === slot) continue;
    await k.patch(DEPLOYMENT, namespace, d.metadata.name, {
      metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: null } },
      spec: { replicas: 0 },
    }, "merge");
    scaled.push(d.metadata.name);
  }
  return scaled;
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
 * Puts all traffic back on the previous slot: the Service selector, and the HTTPRoute
 * weights (100 to it, 0 to the other) when there is a route. The other slot keeps running.
 * Does not require Running pods: it must work when things are broken.
 *
 * @param k The capability.
 * @param env The environment.
 * @param service The service.
 * @param previousSlot The slot to go back to.
 * @param options Manifest options.
 * @returns What was done.
 *
 * @example
 * ```ts ignore
 * import { rollbackService } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * await rollbackService(k, env, "web", "blue");
 * ```
 */
export async function rollbackService(
  k: KubernetesCapability,
  env: Environment,
  service: string,
  previousSlot: Slot,
  options: ManifestOptions = {},
): Promise<ServiceRollback> {
  const namespace = env.environment.namespace;
  const before = await currentSlot(k, env, service);
  let selectorChanged = false;
  if (before.exists && before.slot !== previousSlot) {
    await k.patch(
      SERVICE,
      namespace,
      service,
      { spec: { selector: { slot: previousSlot } } },
      "strategic",
    );
    selectorChanged = true;
  } else if (!before.exists) {
    await k.apply(serviceManifest(env, { service, slot: previousSlot }, options));
    selectorChanged = true;
  }
  let weights: SlotWeights | null = null;
  if (await k.get(ROUTE, namespace, service)) {
    const back = { [previousSlot]: 100, [otherSlot(previousSlot)]: 0 } as unknown as SlotWeights;
    weights = await setWeights(k, env, service, back, options);
  }
  return { service, slot: previousSlot, selectorChanged, weights };
}
