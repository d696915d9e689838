/**
 * The Kubernetes objects of a deploy target, generated in TypeScript: per service two
 * slot Deployments (`<service>-blue`, `<service>-green`), the Service the blue-green
 * switch moves (`<service>`), one Service per slot and a Gateway API `HTTPRoute`
 * splitting traffic over them by weight, and the `deployment-info` ConfigMap. Names come
 * from the {@linkcode KubeTarget}, never from constants.
 * @module
 */
import type { KubeObject } from "./capability.ts";
import {
  bareVersion,
  checkWeights,
  DEPLOYMENT_INFO_NAME,
  SERVICE_PORT,
  type Slot,
  SLOTS,
  slotSelector,
  type SlotWeights,
} from "./slots.ts";
import { type KubeTarget, serviceReplicas } from "./target.ts";
import { ambientClock } from "../async/ambient.ts";

/**
 * The Deployment `<service>-<slot>` running a version.
 *
 * @param target The deploy target.
 * @param what Service, slot and version.
 * @returns The manifest.
 * @throws {RangeError} For a service the target does not have.
 *
 * @example
 * ```ts
 * import { deploymentManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "canary",
 *   imageRegistry: "registry.local/shop",
 *   resources: {
 *     limits: { cpu: "1", memory: "1Gi" },
 *     requests: { cpu: "500m", memory: "512Mi" },
 *   },
 *   logLevel: "INFO",
 *   rolloutDeadlineMs: 600_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 *   rollbackWindowMs: 86_400_000,
 * };
 * const d = deploymentManifest(target, { service: "web", slot: "blue", version: "v1.0.0" });
 * assert.equal(d.metadata.name, "web-blue");
 * assert.equal(d.metadata.labels?.version, "1.0.0");
 * ```
 */
export function deploymentManifest(
  target: KubeTarget,
  what: { service: string; slot: Slot; version: string },
): KubeObject {
  const { service, slot } = what;
  const replicas = serviceReplicas(target, service);
  const version = bareVersion(what.version);
  const selector = slotSelector(target, { service, slot });
  const labels = { ...selector, version, environment: target.name };
  const { limits, requests } = target.resources;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${service}-${slot}`, namespace: target.namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      progressDeadlineSeconds: Math.max(1, Math.ceil(target.rolloutDeadlineMs / 1000)),
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
            image: `${target.imageRegistry}/${service}:${version}`,
            ports: [{ name: "http", containerPort: SERVICE_PORT, protocol: "TCP" }],
            env: [
              { name: "ENVIRONMENT", value: target.name },
              { name: "SERVICE_VERSION", value: version },
              { name: "LOG_LEVEL", value: target.logLevel },
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
  target: KubeTarget,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: target.namespace, labels },
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
 * @param target The deploy target.
 * @param what Service and the live slot.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { serviceManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "canary",
 *   imageRegistry: "registry.local/shop",
 *   resources: {
 *     limits: { cpu: "1", memory: "1Gi" },
 *     requests: { cpu: "500m", memory: "512Mi" },
 *   },
 *   logLevel: "INFO",
 *   rolloutDeadlineMs: 600_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 *   rollbackWindowMs: 86_400_000,
 * };
 * const svc = serviceManifest(target, { service: "web", slot: "green" });
 * assert.deepEqual((svc.spec as { selector: object }).selector, {
 *   app: "shop",
 *   service: "web",
 *   slot: "green",
 * });
 * ```
 */
export function serviceManifest(
  target: KubeTarget,
  what: { service: string; slot: Slot },
): KubeObject {
  serviceReplicas(target, what.service);
  const selector = slotSelector(target, what);
  return serviceObject(target, what.service, { app: target.app, service: what.service }, selector);
}

/**
 * The Service `<service>-<slot>` that always selects one slot (the HTTPRoute's backend).
 *
 * @param target The deploy target.
 * @param what Service and slot.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { slotServiceManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "canary",
 *   imageRegistry: "registry.local/shop",
 *   resources: {
 *     limits: { cpu: "1", memory: "1Gi" },
 *     requests: { cpu: "500m", memory: "512Mi" },
 *   },
 *   logLevel: "INFO",
 *   rolloutDeadlineMs: 600_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 *   rollbackWindowMs: 86_400_000,
 * };
 * assert.equal(slotServiceManifest(target, { service: "web", slot: "blue" }).metadata.name, "web-blue");
 * ```
 */
export function slotServiceManifest(
  target: KubeTarget,
  what: { service: string; slot: Slot },
): KubeObject {
  serviceReplicas(target, what.service);
  const selector = slotSelector(target, what);
  return serviceObject(target, `${what.service}-${what.slot}`, selector, selector);
}

/**
 * The Gateway API HTTPRoute `<service>` splitting traffic over the two slot Services.
 *
 * @param target The deploy target.
 * @param what Service and the weights.
 * @returns The manifest.
 * @throws {RangeError} For bad weights or an unknown service.
 *
 * @example
 * ```ts
 * import { httpRouteManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "canary",
 *   imageRegistry: "registry.local/shop",
 *   resources: {
 *     limits: { cpu: "1", memory: "1Gi" },
 *     requests: { cpu: "500m", memory: "512Mi" },
 *   },
 *   logLevel: "INFO",
 *   rolloutDeadlineMs: 600_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 *   rollbackWindowMs: 86_400_000,
 * };
 * const route = httpRouteManifest(target, { service: "web", weights: { blue: 95, green: 5 } });
 * const rules = (route.spec as { rules: { backendRefs: { name: string; weight: number }[] }[] }).rules;
 * assert.deepEqual(rules[0]!.backendRefs.map((b) => [b.name, b.weight]), [
 *   ["web-blue", 95],
 *   ["web-green", 5],
 * ]);
 * ```
 */
export function httpRouteManifest(
  target: KubeTarget,
  what: { service: string; weights: SlotWeights },
): KubeObject {
  serviceReplicas(target, what.service);
  checkWeights(what.weights);
  const gateway = target.gateway ?? { name: target.app };
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name: what.service,
      namespace: target.namespace,
      labels: { app: target.app, service: what.service },
    },
    spec: {
      parentRefs: [{
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        name: gateway.name,
        ...(gateway.namespace ? { namespace: gateway.namespace } : {}),
      }],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: `/${what.service}` } }],
        backendRefs: SLOTS.map((slot) => ({
          group: "",
          kind: "Service",
          name: `${what.service}-${slot}`,
          port: SERVICE_PORT,
          weight: what.weights[slot],
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
  /** When (ISO time; default now on the stage's clock). */
  time?: string | undefined;
  /** Who ran the deploy. */
  deployedBy?: string | undefined;
  /** The strategy used (default: the target's). */
  strategy?: string | undefined;
  /** `success`, `failed`, `rolled-back`, ... (default `success`). */
  status?: string | undefined;
}

/**
 * The `deployment-info` ConfigMap: version, run id, time, strategy, and `slot.<service>`
 * for each service (as the seed's deploy.sh records a deployment).
 *
 * @param target The deploy target.
 * @param info What to record.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { deploymentInfoManifest } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "canary",
 *   imageRegistry: "registry.local/shop",
 *   resources: {
 *     limits: { cpu: "1", memory: "1Gi" },
 *     requests: { cpu: "500m", memory: "512Mi" },
 *   },
 *   logLevel: "INFO",
 *   rolloutDeadlineMs: 600_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 *   rollbackWindowMs: 86_400_000,
 * };
 * const cm = deploymentInfoManifest(target, { version: "v1.2.4", runId: "r1", slots: { web: "green" } });
 * assert.equal((cm.data as Record<string, string>)["slot.web"], "green");
 * ```
 */
export function deploymentInfoManifest(target: KubeTarget, info: DeploymentInfo): KubeObject {
  const data: Record<string, string> = {
    version: bareVersion(info.version),
    environment: target.name,
    run_id: info.runId,
    deployed_at: info.time ?? new Date(ambientClock().now()).toISOString(),
    strategy: info.strategy ?? target.strategy,
    status: info.status ?? "success",
  };
  if (info.deployedBy !== undefined) data.deployed_by = info.deployedBy;
  for (const [service, slot] of Object.entries(info.slots)) {
    serviceReplicas(target, service);
    data[`slot.${service}`] = slot;
  }
  return deploymentInfoConfigMap(target, data);
}

/**
 * The `deployment-info` ConfigMap of an environment holding `data`.
 *
 * @param target The deploy target (its namespace and app label).
 * @param data The ConfigMap's data.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { deploymentInfoConfigMap } from "./manifests.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "dev", namespace: "shop-dev", app: "shop" } as KubeTarget;
 * const cm = deploymentInfoConfigMap(target, { version: "1.2.4" });
 * assert.equal(cm.metadata.namespace, "shop-dev");
 * ```
 */
export function deploymentInfoConfigMap(
  target: KubeTarget,
  data: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: DEPLOYMENT_INFO_NAME,
      namespace: target.namespace,
      labels: { app: target.app },
    },
    data,
  };
}
