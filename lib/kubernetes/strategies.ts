/**
 * The Kubernetes operations a deploy pipeline composes: find the live slot, deploy the
 * idle one, verify its health, switch the Service, shift HTTPRoute weights, record the
 * deployment, schedule clean-up of the old slot, roll back. Each takes a
 * {@linkcode KubernetesCapability}, so it runs the same in the main thread or inside a
 * stage Worker through the capability proxy. Results are plain JSON.
 * @module
 */
import type { Environment } from "../config/mod.ts";
import type { KindRef, KubeObject, KubernetesCapability, RolloutStatus } from "./capability.ts";
import {
  deploymentManifest,
  httpRouteManifest,
  isSlot,
  type ManifestOptions,
  otherSlot,
  SERVICE_PORT,
  type Slot,
  slotSelector,
  slotServiceManifest,
  type SlotWeights,
} from "./manifests.ts";
import { DELETE_AFTER_ANNOTATION } from "./strategies_traffic.ts";

const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
const ROUTE: KindRef = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" };
const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };

/** The annotation the sandbox puts on a pod: its loopback `host:port`. */
export const SANDBOX_ADDRESS_ANNOTATION = "sandbox.tracktion.dev/address";

function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

/**
 * The slot the Service `<service>` sends traffic to, or null before the first deploy.
 *
 * @param k The capability.
 * @param env The environment.
 * @param service The service.
 * @returns The live slot, or null.
 *
 * @example
 * ```ts ignore
 * import { liveSlot } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const live = await liveSlot(k, env, "web"); // "blue", "green" or null
 * ```
 */
export async function liveSlot(
  k: KubernetesCapability,
  env: Environment,
  service: string,
): Promise<Slot | null> {
  const svc = await k.get(SERVICE, env.environment.namespace, service);
  const slot = record(record(svc?.spec).selector).slot;
  return isSlot(slot) ? slot : null;
}

/** What {@linkcode deployIdleSlot} did. */
export interface SlotDeployment {
  /** The service. */
  service: string;
  /** The slot deployed to (the idle one). */
  slot: Slot;
  /** The slot live before, or null on the first deploy. */
  previousSlot: Slot | null;
  /** The bare version deployed. */
  version: string;
  /** The final rollout status. */
  rollout: RolloutStatus;
}

/** Options for {@linkcode deployIdleSlot}. */
export interface DeployIdleSlotOptions extends ManifestOptions {
  /** How long to wait for the rollout (default: the rollout deadline plus 30 s). */
  timeoutMs?: number | undefined;
  /** Pause between rollout readings (default 1 s). */
  pollMs?: number | undefined;
  /**
   * Before the idle slot's Service appears, make sure the HTTPRoute exists (all traffic on
   * the live slot), so the new slot gets no traffic until weights move it. Default: when
   * the environment's strategy is `canary`. An existing route is left as it is; on the
   * first deploy (no live slot) there is nothing to protect and no route is made.
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
 * `kubectl rollout status` judges it, within the environment's rollout deadline. For a
 * canary environment it first makes sure the HTTPRoute exists with the live slot at 100%.
 *
 * @param k The capability.
 * @param env The environment.
 * @param service The service.
 * @param version The version.
 * @param options Timeout, poll interval, manifest options.
 * @returns What was deployed.
 * @throws {Error} When the rollout fails or does not finish in time (naming the Deployment and kubectl's message).
 *
 * @example
 * ```ts ignore
 * import { deployIdleSlot } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const d = await deployIdleSlot(k, env, "web", "1.2.4");
 * console.log(`${d.service}-${d.slot}: ${d.rollout.message}`);
 * ```
 */
export async function deployIdleSlot(
  k: KubernetesCapability,
  env: Environment,
  service: string,
  version: string,
  options: DeployIdleSlotOptions = {},
): Promise<SlotDeployment> {
  const previousSlot = await liveSlot(k, env, service);
  const slot: Slot = previousSlot ? otherSlot(previousSlot) : "blue";
  const manifest = deploymentManifest(env, { service, slot, version }, options);
  const ensureRoute = options.ensureRoute ?? env.deployment.strategy === "canary";
  if (ensureRoute && previousSlot !== null) {
    if (!await k.get(ROUTE, env.environment.namespace, service)) {
      const weights = { [previousSlot]: 100, [slot]: 0 } as unknown as SlotWeights;
      await k.apply(httpRouteManifest(env, { service, weights }, options));
    }
  }
  const applied = await k.apply(manifest);
  if (applied.metadata.annotations?.[DELETE_AFTER_ANNOTATION] !== undefined) {
    // the slot was marked for clean-up when it went idle; it is in use again
    await k.patch(DEPLOYMENT, env.environment.namespace, manifest.metadata.name, {
      metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: null } },
    }, "merge");
  }
  await k.apply(slotServiceManifest(env, { service, slot }, options));
  const namespace = env.environment.namespace;
  const name = manifest.metadata.name;
  if (options.dryRun) {
    return {
      service,
      slot,
      previousSlot,
      version: String(manifest.metadata.labels?.version),
      rollout: {
        done: false,
        failed: false,
        message: `dry run: Deployment ${namespace}/${name} validated, not rolled out`,
        replicas: 0,
        updatedReplicas: 0,
        availableReplicas: 0,
      },
    };
  }
  const rollout = await k.waitForRollout(namespace, name, {
    timeoutMs: options.timeoutMs ?? env.deployment.rollout_deadline.ms + 30_000,
    pollMs: options.pollMs ?? 1_000,
  });
  if (!rollout.done) {
    throw new Error(
      `Cannot deploy ${service} ${manifest.metadata.labels?.version} to slot ${slot}: Deployment ${namespace}/${name}: ${rollout.message}`,
    );
  }
  return {
    service,
    slot,
    previousSlot,
    version: String(manifest.metadata.labels?.version),
    rollout,
  };
}

/** One pod's health reading. */
export interface PodHealth {
  /** The pod. */
  pod: string;
  /** The address asked. */
  address: string;
  /** Whether it answered healthy. */
  healthy: boolean;
  /** HTTP status, or 0 when no answer. */
  status: number;
  /** The version it reports, when it does. */
  version?: string;
  /** Why it is not healthy. */
  error?: string;
}

/** The result of {@linkcode verifySlotHealth}. */
export interface SlotHealth {
  /** Whether every Ready pod answered healthy (and there was at least one). */
  healthy: boolean;
  /** Attempts made. */
  attempts: number;
  /** The last reading of each pod. */
  pods: PodHealth[];
  /** One line for people. */
  message: string;
  /** True on a dry run: nothing was asked (`healthy` is then false). */
  skipped?: boolean;
}

/** Options for {@linkcode verifySlotHealth}. */
export interface VerifySlotHealthOptions extends ManifestOptions {
  /** Attempts (default: `deployment.health_check.retries`, the seed's 10). */
  retries?: number | undefined;
  /** Pause between attempts (default: `deployment.health_check.interval`). */
  intervalMs?: number | undefined;
  /** Per-request timeout (default: `deployment.health_check.timeout`). */
  timeoutMs?: number | undefined;
  /** The version the pods must report, when they report one. */
  version?: string | undefined;
  /** A pod's `host:port` (default: the sandbox's address annotation, else `podIP:8000`). */
  addressOf?: ((pod: KubeObject) => string | undefined) | undefined;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** Stops retrying. */
  signal?: AbortSignal | undefined;
  /** A dry run: nothing was deployed, so nothing is asked (the result is `skipped`). */
  dryRun?: boolean | undefined;
}

function defaultAddress(pod: KubeObject): string | undefined {
  const annotated = pod.metadata.annotations?.[SANDBOX_ADDRESS_ANNOTATION];
  if (annotated) return annotated;
  const ip = record(pod.status).podIP;
  return typeof ip === "string" && ip ? `${ip}:${SERVICE_PORT}` : undefined;
}

function podReady(pod: KubeObject): boolean {
  const conditions = record(pod.status).conditions;
  return Array.isArray(conditions) &&
    conditions.some((c) => record(c).type === "Ready" && record(c).status === "True");
}

async function probe(
  address: string,
  options: {
    fetch: typeof fetch;
    timeoutMs: number;
    version: string | undefined;
    signal: AbortSignal | undefined;
  },
): Promise<Omit<PodHealth, "pod">> {
  try {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const response = await options.fetch(`http://${address}/health`, {
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = record(JSON.parse(text));
    } catch {
      // a plain-text health answer
    }
    const version = typeof body.version === "string" ? body.version : undefined;
    const saysHealthy = typeof body.status === "string"
      ? body.status.toLowerCase() === "healthy"
      : /healthy/i.test(text);
    const wrongVersion = options.version !== undefined && version !== undefined &&
      version.replace(/^v/, "") !== options.version.replace(/^v/, "");
    const healthy = response.ok && saysHealthy && !wrongVersion;
    const error = !response.ok
      ? `HTTP ${response.status}`
      : !saysHealthy
      ? "the answer does not say healthy"
      : wrongVersion
      ? `reports version ${version}, expected ${options.version}`
      : undefined;
    return {
      address,
      healthy,
      status: response.status,
      ...(version !== undefined ? { version } : {}),
      ...(error !== undefined ? { error } : {}),
    };
  } catch (error) {
    return {
      address,
      healthy: false,
      status: 0,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Asks `/health` of every Ready pod of a slot, retrying (the seed: 10 attempts, 10 s
 * apart) until all answer healthy. Never throws for an unhealthy slot: the result says so.
 *
 * @param k The capability.
 * @param env The environment.
 * @param target The service and slot.
 * @param options Retries, interval, timeout, expected version, address and fetch overrides.
 * @returns The health, with each pod's last reading.
 *
 * @example
 * ```ts ignore
 * import { verifySlotHealth } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const h = await verifySlotHealth(k, env, { service: "web", slot: "green" }, { version: "1.2.4" });
 * if (!h.healthy) throw new Error(h.message);
 * ```
 */
export async function verifySlotHealth(
  k: KubernetesCapability,
  env: Environment,
  target: { service: string; slot: Slot },
  options: VerifySlotHealthOptions = {},
): Promise<SlotHealth> {
  if (options.dryRun) {
    return {
      healthy: false,
      skipped: true,
      attempts: 0,
      pods: [],
      message: `dry run: health of ${target.service}-${target.slot} not checked`,
    };
  }
  const check = env.deployment.health_check;
  const retries = Math.max(1, options.retries ?? check.retries);
  const intervalMs = options.intervalMs ?? check.interval.ms;
  const timeoutMs = options.timeoutMs ?? check.timeout.ms;
  const addressOf = options.addressOf ?? defaultAddress;
  const doFetch = options.fetch ?? fetch;
  const labelSelector = selectorString(slotSelector(env, target.service, target.slot, options));
  let pods: PodHealth[] = [];
  let message = "";
  for (let attempt = 1; attempt <= retries; attempt++) {
    const listed = await k.list(POD, env.environment.namespace, { labelSelector });
    const ready = listed.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
    pods = await Promise.all(ready.map(async (pod) => {
      const address = addressOf(pod);
      if (!address) {
        return {
          pod: pod.metadata.name,
          address: "",
          healthy: false,
          status: 0,
          error: "no address",
        };
      }
      return {
        pod: pod.metadata.name,
        ...await probe(address, {
          fetch: doFetch,
          timeoutMs,
          version: options.version,
          signal: options.signal,
        }),
      };
    }));
    const bad = pods.filter((p) => !p.healthy);
    const where = `${target.service}-${target.slot}`;
    if (pods.length > 0 && bad.length === 0) {
      return {
        healthy: true,
        attempts: attempt,
        pods,
        message:
          `${where}: ${pods.length} of ${pods.length} ready pods healthy (attempt ${attempt}/${retries})`,
      };
    }
    message = pods.length === 0
      ? `${where}: no ready pods (${listed.length} pods) after ${attempt} attempts`
      : `${where}: ${bad.length} of ${pods.length} ready pods unhealthy after ${attempt} attempts: ${
        bad.slice(0, 3).map((p) => `${p.pod}: ${p.error}`).join("; ")
      }`;
    if (attempt < retries) {
      if (options.signal?.aborted) break;
      await sleep(intervalMs, options.signal);
      if (options.signal?.aborted) {
        return { healthy: false, attempts: attempt, pods, message: `${message} (aborted)` };
      }
    }
  }
  return { healthy: false, attempts: retries, pods, message };
}

export * from "./strategies_traffic.ts";
export * from "./strategies_record.ts";
export * from "./strategies_run.ts";
export * from "./strategies_rollback.ts";
export * from "./strategies_restore.ts";

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
