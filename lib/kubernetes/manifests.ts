/**
 * The Kubernetes objects of a deploy target, generated in TypeScript: per service two
 * slot Deployments (`<service>-blue`, `<service>-green`), the Service the blue-green
 * switch moves (`<service>`), one Service per slot and a Gateway API `HTTPRoute`
 * splitting traffic over them by weight, and the `deployment-info` ConfigMap. Names come
 * from the {@linkcode KubeTarget}, never from constants. What the containers read (endpoints,
 * pool sizes, limits as env; credentials only as `secretKeyRef`s) comes from the target's
 * {@linkcode PodConfig}: a value is never written into a manifest.
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
 * One variable of a container: a plain value, or a key of a Secret in the namespace
 * (a `secretKeyRef`: the value never appears in the manifest).
 *
 * @example
 * ```ts
 * import type { PodEnvVar } from "./manifests.ts";
 * const vars: PodEnvVar[] = [
 *   { name: "DATABASE_HOST", value: "db.internal" },
 *   { name: "DATABASE_PASSWORD", secret: { name: "db-credentials", key: "password" } },
 * ];
 * ```
 */
export type PodEnvVar =
  | { readonly name: string; readonly value: string }
  | {
    readonly name: string;
    readonly secret: { readonly name: string; readonly key: string; readonly optional?: boolean };
  };

/**
 * What every container of a target reads from its environment, and each service's own
 * variables besides (set by the caller from its configuration: `lib/targets`).
 *
 * @example
 * ```ts
 * import type { PodConfig } from "./manifests.ts";
 * const pods: PodConfig = {
 *   env: [{ name: "REDIS_URL", value: "redis://cache:6379/0" }],
 *   services: { web: [{ name: "API_KEY", secret: { name: "api-keys", key: "web-key" } }] },
 * };
 * ```
 */
export interface PodConfig {
  /** Every service's variables. */
  readonly env: readonly PodEnvVar[];
  /** A service's own variables (after the common ones). */
  readonly services?: Readonly<Record<string, readonly PodEnvVar[]>> | undefined;
}

/**
 * A target whose containers get a {@linkcode PodConfig} (`pods`); without one they get only
 * `ENVIRONMENT`, `SERVICE_VERSION` and `LOG_LEVEL`.
 *
 * @example
 * ```ts
 * import type { PodConfiguredTarget } from "./manifests.ts";
 * const t = { pods: { env: [] } } as unknown as PodConfiguredTarget;
 * ```
 */
export interface PodConfiguredTarget extends KubeTarget {
  /** What the containers read. */
  readonly pods?: PodConfig | undefined;
}

/** Names that hold credentials: never a plain value in a manifest. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;

/**
 * The `env` of a service's container: `ENVIRONMENT`, `SERVICE_VERSION`, `LOG_LEVEL`, then
 * the target's {@linkcode PodConfig} (common, then the service's own; a later one of the
 * same name wins), Secret keys as `valueFrom.secretKeyRef`.
 *
 * @param target The target.
 * @param service The service.
 * @param version The bare version.
 * @returns The container's `env`.
 * @throws {RangeError} When a variable named like a credential (`*_PASSWORD`, `*_TOKEN`,
 *   `*_SECRET`, `*_API_KEY`) has a plain value: it belongs in a Secret.
 *
 * @example
 * ```ts
 * import { containerEnv, type PodConfiguredTarget } from "./manifests.ts";
 * import assert from "node:assert/strict";
 * const target = {
 *   name: "dev", logLevel: "INFO",
 *   pods: { env: [{ name: "DB_PASSWORD", secret: { name: "db", key: "password" } }] },
 * } as unknown as PodConfiguredTarget;
 * const env = containerEnv(target, "web", "1.0.0");
 * assert.deepEqual(env.at(-1), {
 *   name: "DB_PASSWORD",
 *   valueFrom: { secretKeyRef: { name: "db", key: "password" } },
 * });
 * ```
 */
export function containerEnv(
  target: PodConfiguredTarget,
  service: string,
  version: string,
): Record<string, unknown>[] {
  const vars: PodEnvVar[] = [
    { name: "ENVIRONMENT", value: target.name },
    { name: "SERVICE_VERSION", value: version },
    { name: "LOG_LEVEL", value: target.logLevel },
    ...(target.pods?.env ?? []),
    ...(target.pods?.services?.[service] ?? []),
  ];
  const byName = new Map<string, Record<string, unknown>>();
  for (const v of vars) {
    byName.delete(v.name);
    if ("secret" in v) {
      const { name, key, optional } = v.secret;
      byName.set(v.name, {
        name: v.name,
        valueFrom: { secretKeyRef: { name, key, ...(optional ? { optional: true } : {}) } },
      });
    } else {
      if (SECRET_NAME.test(v.name)) {
        throw new RangeError(
          `Cannot generate the manifest of ${service}: variable ${v.name} holds a credential ` +
            `and was given a plain value; reference a key of a Secret instead ({ secret: { name, key } })`,
        );
      }
      byName.set(v.name, { name: v.name, value: v.value });
    }
  }
  return [...byName.values()];
}

/**
 * The Deployment `<service>-<slot>` running a version: its container's variables
 * ({@linkcode containerEnv}), resources, readiness and liveness probes on `/health`, and
 * `terminationMessagePolicy: FallbackToLogsOnError` (a crashed container's last log lines
 * are its status's message, so a failed rollout can name the cause).
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
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 * };
 * const d = deploymentManifest(target, { service: "web", slot: "blue", version: "v1.0.0" });
 * assert.equal(d.metadata.name, "web-blue");
 * assert.equal(d.metadata.labels?.version, "1.0.0");
 * ```
 */
export function deploymentManifest(
  target: PodConfiguredTarget,
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
            env: containerEnv(target, service, version),
            terminationMessagePolicy: "FallbackToLogsOnError",
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
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
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
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
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
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
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
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
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
