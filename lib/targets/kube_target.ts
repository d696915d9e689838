/**
 * The Kubernetes layer's view of an environment: {@linkcode kubeTarget} narrows a loaded
 * `Environment` to the `KubeTarget` the manifests and strategies read (namespace, `app`
 * label, services and replicas, strategy, images, resources, deadlines). It is the one
 * place that knows both shapes: `lib/kubernetes` never reads an environment file.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { KubeTarget } from "../kubernetes/target.ts";
import type { PodConfiguredTarget } from "../kubernetes/manifests.ts";
import { podConfig } from "./pod_config.ts";

/**
 * The app name of an environment: the name part of its `github.repository`, as a label
 * value (lower case, `-` for anything else); the namespace when that leaves nothing.
 *
 * @param env The environment.
 * @returns e.g. `shop` for `acme/shop`.
 *
 * @example
 * ```ts
 * import { appName } from "./kube_target.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
 * const env = { github: { repository: "acme/Shop_Front" } } as unknown as Environment;
 * assert.equal(appName(env), "shop-front");
 * ```
 */
export function appName(env: Environment): string {
  const name = env.github.repository.split("/").pop() ?? "";
  return name.toLowerCase().replace(/[^a-z0-9-]/g, "-") || env.environment.namespace;
}

/**
 * The deploy target of an environment.
 *
 * @param env The loaded environment.
 * @param options Overrides: the `app` label (default {@linkcode appName}) and the Gateway
 *   the HTTPRoutes attach to (default: one named after the app).
 * @returns The target.
 *
 * @example
 * ```ts
 * import { kubeTarget } from "./kube_target.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
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
 *     health_check: { retries: 10, interval: { ms: 10_000 }, timeout: { ms: 5_000 } },
 *     rollback_window: { ms: 86_400_000, text: "24h" },
 *   },
 *   github: { repository: "acme/shop" },
 * } as unknown as Environment;
 * const target = kubeTarget(env);
 * assert.equal(target.app, "shop");
 * assert.deepEqual(target.services, { web: { replicas: 2 } });
 * ```
 */
export function kubeTarget(
  env: Environment,
  options: { app?: string | undefined; gateway?: KubeTarget["gateway"] } = {},
): PodConfiguredTarget {
  const { deployment, infrastructure } = env;
  return {
    name: env.name,
    namespace: env.environment.namespace,
    app: options.app ?? appName(env),
    services: Object.fromEntries(
      Object.entries(infrastructure.replicas).map(([service, replicas]) => [service, { replicas }]),
    ),
    strategy: deployment.strategy,
    imageRegistry: deployment.image_registry,
    resources: {
      limits: { ...infrastructure.resources.limits },
      requests: { ...infrastructure.resources.requests },
    },
    logLevel: infrastructure.monitoring.log_level,
    rolloutDeadlineMs: deployment.rollout_deadline.ms,
    healthCheck: {
      retries: deployment.health_check.retries,
      intervalMs: deployment.health_check.interval.ms,
      timeoutMs: deployment.health_check.timeout.ms,
    },
    rollbackWindowMs: deployment.rollback_window.ms,
    pods: podConfig(env),
    ...(options.gateway ? { gateway: options.gateway } : {}),
  };
}
