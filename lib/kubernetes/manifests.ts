/**
 * The Kubernetes objects of an environment, generated in TypeScript from its file: per
 * service two slot Deployments (`<service>-blue`, `<service>-green`), the Service the
 * blue-green switch moves (`<service>`), one Service per slot and a Gateway API
 * `HTTPRoute` splitting traffic over them by weight, and the `deployment-info` ConfigMap.
 * Names come from the environment, never from constants.
 * @module
 */
import type { Environment } from "../config/mod.ts";
import type { KubeObject } from "./capability.ts";

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
 * import { otherSlot } from "./manifests.ts";
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
 * import { bareVersion } from "./manifests.ts";
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
 */
export function appLabel(env: Environment, options: ManifestOptions = {}): string {
  return options.app ?? appName(env);
}

const app = appLabel;

/** The services of an environment: the keys of `infrastructure.replicas`. */
export function servicesOf(env: Environment): string[] {
  return Object.keys(env.infrastructure.replicas);
}

function checkService(env: Environment, service: string): number {
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

/** The labels that select a slot's pods: app, service, slot. */
export function slotSelector(
  env: Environment,
  service: string,
  slot: Slot,
  options: ManifestOptions = {},
): Record<string, string> {
  return { app: app(env, options), service, slot };
}

/**
 * The Deployment `<service>-<slot>` running a version.
 *
 * @param env The environment.
 * @param target Service, slot and version.
 * @param options App label override.
 * @returns The manifest.
 * @throws {RangeError} For a service the environment does not have.
 *
 * @example
 * ```ts ignore
 * const manifest = deploymentManifest(env, { service: "web", slot: "blue", version: "v1.0.0" });
 * ```
 */
export function deploymentManifest(
  env: Environment,
  target: { service: string; slot: Slot; version: string },
  options: ManifestOptions = {},
): KubeObject {
  const { service, slot } = target;
  const replicas = checkService(env, service);
  const version = bareVersion(target.version);
  const selector = slotSelector(env, service, slot, options);
  const labels = { ...selector, version, environment: env.name };
  const { limits, requests } = env.infrastructure.resources;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${service}-${slot}`, namespace: env.environment.namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      progressDeadlineSeconds: Math.max(1, Math.ceil(env.deployment.rollout_deadline.ms / 1000)),
      revisionHistoryLimit: 5,
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: service,
            image: `${env.deployment.image_registry}/${service}:${version}`,
            ports: [{ name: "http", containerPort: SERVICE_PORT, protocol: "TCP" }],
            env: [
              { name: "ENVIRONMENT", value: env.name },
              { name: "SERVICE_VERSION", value: version },
              { name: "LOG_LEVEL", value: env.infrastructure.monitoring.log_level },
            ],
            resources: {
              limits: { cpu: limits.cpu, memory: limits.memory },
              requests: { cpu: requests.cpu, memory: requests.memory },
            },
            readinessProbe: {
              httpGet: { path: "/health", port: SERVICE_PORT },
              initialDelaySeconds: 5,
              periodSeconds: 5,
              timeoutSeconds: 3,
              failureThreshold: 3,
            },
            livenessProbe: {
              httpGet: { path: "/health", port: SERVICE_PORT },
              initialDelaySeconds: 15,
              periodSeconds: 10,
              timeoutSeconds: 5,
              failureThreshold: 3,
            },
          }],
        },
      },
    },
  };
}

function serviceObject(
  env: Environment,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: env.environment.namespace, labels },
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "http", port: SERVICE_PORT, targetPort: SERVICE_PORT, protocol: "TCP" }],
    },
  };
}

/**
 * The Service `<service>` whose selector names the live slot (the blue-green switch).
 *
 * @param env The environment.
 * @param target Service and the live slot.
 * @param options App label override.
 * @returns The manifest.
 */
export function serviceManifest(
  env: Environment,
  target: { service: string; slot: Slot },
  options: ManifestOptions = {},
): KubeObject {
  checkService(env, target.service);
  const selector = slotSelector(env, target.service, target.slot, options);
  return serviceObject(
    env,
    target.service,
    { app: app(env, options), service: target.service },
    selector,
  );
}

/**
 * The Service `<service>-<slot>` that always selects one slot (the HTTPRoute's backend).
 *
 * @param env The environment.
 * @param target Service and slot.
 * @param options App label override.
 * @returns The manifest.
 */
export function slotServiceManifest(
  env: Environment,
  target: { service: string; slot: Slot },
  options: ManifestOptions = {},
): KubeObject {
  checkService(env, target.service);
  const selector = slotSelector(env, target.service, target.slot, options);
  return serviceObject(env, `${target.service}-${target.slot}`, selector, selector);
}

/**
 * Checks traffic weights: integers >= 0, not both 0.
 *
 * @param weights The weights.
 * @throws {RangeError} When they are not.
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

/**
 * The Gateway API HTTPRoute `<service>` splitting traffic over the two slot Services.
 *
 * @param env The environment.
 * @param target Service and the weights.
 * @param options App label and Gateway overrides.
 * @returns The manifest.
 * @throws {RangeError} For bad weights or an unknown service.
 */
export function httpRouteManifest(
  env: Environment,
  target: { service: string; weights: SlotWeights },
  options: ManifestOptions = {},
): KubeObject {
  checkService(env, target.service);
  checkWeights(target.weights);
  const gateway = options.gateway ?? { name: app(env, options) };
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name: target.service,
      namespace: env.environment.namespace,
      labels: { app: app(env, options), service: target.service },
    },
    spec: {
      parentRefs: [{
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        name: gateway.name,
        ...(gateway.namespace ? { namespace: gateway.namespace } : {}),
      }],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: `/${target.service}` } }],
        backendRefs: SLOTS.map((slot) => ({
          group: "",
          kind: "Service",
          name: `${target.service}-${slot}`,
          port: SERVICE_PORT,
          weight: target.weights[slot],
        })),
      }],
    },
  };
}

/** What the `deployment-info` ConfigMap records. */
export interface DeploymentInfo {
  /** The version now live. */
  version: string;
  /** The run that deployed it. */
  runId: string;
  /** The live slot of each service. */
  slots: Record<string, Slot>;
  /** When (ISO time; default now). */
  time?: string | undefined;
  /** Who ran the deploy. */
  deployedBy?: string | undefined;
  /** The strategy used (default: the environment's). */
  strategy?: string | undefined;
  /** `success`, `failed`, `rolled-back`, ... (default `success`). */
  status?: string | undefined;
}

/**
 * The `deployment-info` ConfigMap: version, run id, time, strategy, and `slot.<service>`
 * for each service (as the seed's deploy.sh records a deployment).
 *
 * @param env The environment.
 * @param info What to record.
 * @param options App label override.
 * @returns The manifest.
 */
export function deploymentInfoManifest(
  env: Environment,
  info: DeploymentInfo,
  options: ManifestOptions = {},
): KubeObject {
  const data: Record<string, string> = {
    version: bareVersion(info.version),
    environment: env.name,
    run_id: info.runId,
    deployed_at: info.time ?? new Date().toISOString(),
    strategy: info.strategy ?? env.deployment.strategy,
    status: info.status ?? "success",
  };
  if (info.deployedBy !== undefined) data.deployed_by = info.deployedBy;
  for (const [service, slot] of Object.entries(info.slots)) {
    checkService(env, service);
    data[`slot.${service}`] = slot;
  }
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: DEPLOYMENT_INFO_NAME,
      namespace: env.environment.namespace,
      labels: { app: app(env, options) },
    },
    data,
  };
}
