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
import {
  appLabel,
  bareVersion,
  checkWeights,
  DEPLOYMENT_INFO_NAME,
  type ManifestOptions,
  SERVICE_PORT,
  serviceReplicas,
  type Slot,
  SLOTS,
  slotSelector,
  type SlotWeights,
} from "./slots.ts";

export * from "./slots.ts";

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
 * ```ts
 * import { deploymentManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = {
 *   name: "staging",
 *   environment: { name: "staging", cluster: "c", namespace: "shop-staging" },
 *   infrastructure: {
 *     replicas: { web: 2 },
 *     resources: {
 *       limits: { cpu: "1", memory: "1Gi" },
 *       requests: { cpu: "500m", memory: "512Mi" },
 *     },
 *     monitoring: { log_level: "INFO" },
 *   },
 *   deployment: {
 *     strategy: "canary",
 *     image_registry: "registry.local/shop",
 *     rollout_deadline: { ms: 600_000, text: "600s" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * const d = deploymentManifest(env, { service: "web", slot: "blue", version: "v1.0.0" });
 * assert.equal(d.metadata.name, "web-blue");
 * assert.equal(d.metadata.labels?.version, "1.0.0");
 * ```
 */
export function deploymentManifest(
  env: Environment,
  target: { service: string; slot: Slot; version: string },
  options: ManifestOptions = {},
): KubeObject {
  const { service, slot } = target;
  const replicas = serviceReplicas(env, service);
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
 *
 * @example
 * ```ts
 * import { serviceManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = {
 *   name: "staging",
 *   environment: { name: "staging", cluster: "c", namespace: "shop-staging" },
 *   infrastructure: {
 *     replicas: { web: 2 },
 *     resources: {
 *       limits: { cpu: "1", memory: "1Gi" },
 *       requests: { cpu: "500m", memory: "512Mi" },
 *     },
 *     monitoring: { log_level: "INFO" },
 *   },
 *   deployment: {
 *     strategy: "canary",
 *     image_registry: "registry.local/shop",
 *     rollout_deadline: { ms: 600_000, text: "600s" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * const svc = serviceManifest(env, { service: "web", slot: "green" });
 * assert.deepEqual((svc.spec as { selector: object }).selector, {
 *   app: "shop",
 *   service: "web",
 *   slot: "green",
 * });
 * ```
 */
export function serviceManifest(
  env: Environment,
  target: { service: string; slot: Slot },
  options: ManifestOptions = {},
): KubeObject {
  serviceReplicas(env, target.service);
  const selector = slotSelector(env, target.service, target.slot, options);
  return serviceObject(
    env,
    target.service,
    { app: appLabel(env, options), service: target.service },
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
 *
 * @example
 * ```ts
 * import { slotServiceManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = {
 *   name: "staging",
 *   environment: { name: "staging", cluster: "c", namespace: "shop-staging" },
 *   infrastructure: {
 *     replicas: { web: 2 },
 *     resources: {
 *       limits: { cpu: "1", memory: "1Gi" },
 *       requests: { cpu: "500m", memory: "512Mi" },
 *     },
 *     monitoring: { log_level: "INFO" },
 *   },
 *   deployment: {
 *     strategy: "canary",
 *     image_registry: "registry.local/shop",
 *     rollout_deadline: { ms: 600_000, text: "600s" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * assert.equal(slotServiceManifest(env, { service: "web", slot: "blue" }).metadata.name, "web-blue");
 * ```
 */
export function slotServiceManifest(
  env: Environment,
  target: { service: string; slot: Slot },
  options: ManifestOptions = {},
): KubeObject {
  serviceReplicas(env, target.service);
  const selector = slotSelector(env, target.service, target.slot, options);
  return serviceObject(env, `${target.service}-${target.slot}`, selector, selector);
}

/**
 * The Gateway API HTTPRoute `<service>` splitting traffic over the two slot Services.
 *
 * @param env The environment.
 * @param target Service and the weights.
 * @param options App label and Gateway overrides.
 * @returns The manifest.
 * @throws {RangeError} For bad weights or an unknown service.
 *
 * @example
 * ```ts
 * import { httpRouteManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = {
 *   name: "staging",
 *   environment: { name: "staging", cluster: "c", namespace: "shop-staging" },
 *   infrastructure: {
 *     replicas: { web: 2 },
 *     resources: {
 *       limits: { cpu: "1", memory: "1Gi" },
 *       requests: { cpu: "500m", memory: "512Mi" },
 *     },
 *     monitoring: { log_level: "INFO" },
 *   },
 *   deployment: {
 *     strategy: "canary",
 *     image_registry: "registry.local/shop",
 *     rollout_deadline: { ms: 600_000, text: "600s" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * const route = httpRouteManifest(env, { service: "web", weights: { blue: 95, green: 5 } });
 * const rules = (route.spec as { rules: { backendRefs: { name: string; weight: number }[] }[] }).rules;
 * assert.deepEqual(rules[0]!.backendRefs.map((b) => [b.name, b.weight]), [
 *   ["web-blue", 95],
 *   ["web-green", 5],
 * ]);
 * ```
 */
export function httpRouteManifest(
  env: Environment,
  target: { service: string; weights: SlotWeights },
  options: ManifestOptions = {},
): KubeObject {
  serviceReplicas(env, target.service);
  checkWeights(target.weights);
  const gateway = options.gateway ?? { name: appLabel(env, options) };
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name: target.service,
      namespace: env.environment.namespace,
      labels: { app: appLabel(env, options), service: target.service },
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
 *
 * @example
 * ```ts
 * import { deploymentInfoManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { Environment } from "../config/mod.ts";
 * const env = {
 *   name: "staging",
 *   environment: { name: "staging", cluster: "c", namespace: "shop-staging" },
 *   infrastructure: {
 *     replicas: { web: 2 },
 *     resources: {
 *       limits: { cpu: "1", memory: "1Gi" },
 *       requests: { cpu: "500m", memory: "512Mi" },
 *     },
 *     monitoring: { log_level: "INFO" },
 *   },
 *   deployment: {
 *     strategy: "canary",
 *     image_registry: "registry.local/shop",
 *     rollout_deadline: { ms: 600_000, text: "600s" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * const cm = deploymentInfoManifest(env, { version: "v1.2.4", runId: "r1", slots: { web: "green" } });
 * assert.equal((cm.data as Record<string, string>)["slot.web"], "green");
 * ```
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
    serviceReplicas(env, service);
    data[`slot.${service}`] = slot;
  }
  return deploymentInfoConfigMap(env, data, options);
}

/**
 * The `deployment-info` ConfigMap of an environment holding `data`.
 *
 * @param env The environment (its namespace and app label).
 * @param data The ConfigMap's data.
 * @param options Manifest options.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { deploymentInfoConfigMap } from "./manifests.ts";
 * import type { Environment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const env = { name: "dev", environment: { namespace: "shop-dev" } } as unknown as Environment;
 * const cm = deploymentInfoConfigMap(env, { version: "1.2.4" }, { app: "shop" });
 * assert.equal(cm.metadata.namespace, "shop-dev");
 * ```
 */
export function deploymentInfoConfigMap(
  env: Environment,
  data: Record<string, string>,
  options: ManifestOptions = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: DEPLOYMENT_INFO_NAME,
      namespace: env.environment.namespace,
      labels: { app: appLabel(env, options) },
    },
    data,
  };
}
