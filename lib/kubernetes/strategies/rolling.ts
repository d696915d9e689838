/**
 * Rolling: the new version replaces the old one on the live slot, through the
 * Deployment's own `RollingUpdate` strategy (maxSurge/maxUnavailable 25%): no second
 * slot, no traffic switch. The first deploy of a service (no live slot yet) goes to
 * blue like any other, and the Service is then pointed at it.
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import { deploymentManifest } from "../manifests.ts";
import { deployIdleSlot, type DeployIdleSlotOptions, type SlotDeployment } from "./blue_green.ts";
import { liveSlot } from "./traffic.ts";
import { DEPLOYMENT, dryRunRollout } from "./_common.ts";

/**
 * Options for {@linkcode rollingUpdate}.
 *
 * @example
 * ```ts
 * import type { RollingUpdateOptions } from "./rolling.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: RollingUpdateOptions = { target, service: "web", version: "1.2.5", pollMs: 500 };
 * ```
 */
export type RollingUpdateOptions = Omit<DeployIdleSlotOptions, "ensureRoute">;

/**
 * What {@linkcode rollingUpdate} did: the live slot updated in place (`slot` and
 * `previousSlot` are the same), and the version it ran before.
 *
 * @example
 * ```ts
 * import type { RollingUpdate } from "./rolling.ts";
 * const describe = (r: RollingUpdate) => `${r.previousVersion ?? "nothing"} -> ${r.version}`;
 * ```
 */
export interface RollingUpdate extends SlotDeployment {
  /** The version the slot ran before (a rollback re-applies it); absent on a first deploy. */
  previousVersion?: string;
}

/**
 * Updates the live slot of a service to a version with the Deployment's rolling update,
 * and waits for the rollout as `kubectl rollout status` judges it. Before the first
 * deploy (no Service yet) it deploys to blue, as {@linkcode deployIdleSlot} does.
 *
 * @param k The capability.
 * @param options The target, the service, the version; timeout, poll interval, dry run.
 * @returns What was rolled out, and the version it replaced.
 * @throws {Error} When the rollout fails or does not finish in time (naming the Deployment and kubectl's message).
 *
 * @example
 * ```ts ignore
 * import { rollingUpdate } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const r = await rollingUpdate(k, { target, service: "web", version: "1.2.5" });
 * console.log(`${r.service}-${r.slot}: ${r.previousVersion} -> ${r.version}`);
 * ```
 */
export async function rollingUpdate(
  k: KubernetesCapability,
  options: RollingUpdateOptions,
): Promise<RollingUpdate> {
  const { target, service } = options;
  const live = await liveSlot(k, options);
  if (live === null) return await deployIdleSlot(k, { ...options, ensureRoute: false });
  const namespace = target.namespace;
  const manifest = deploymentManifest(target, { service, slot: live, version: options.version });
  const name = manifest.metadata.name;
  const version = String(manifest.metadata.labels?.version);
  const before = await k.get(DEPLOYMENT, namespace, name);
  const previousVersion = before?.metadata.labels?.version;
  const result = { service, slot: live, previousSlot: live, version };
  const was = previousVersion ? { previousVersion } : {};
  await k.apply(manifest);
  if (options.dryRun) return { ...result, rollout: dryRunRollout(namespace, name), ...was };
  const rollout = await k.waitForRollout(namespace, name, {
    timeoutMs: options.timeoutMs ?? target.rolloutDeadlineMs + 30_000,
    pollMs: options.pollMs ?? 1_000,
  });
  if (!rollout.done) {
    throw new Error(
      `Cannot roll ${service} ${version} out on slot ${live}: Deployment ${namespace}/${name}: ${rollout.message}`,
    );
  }
  return { ...result, rollout, ...was };
}
