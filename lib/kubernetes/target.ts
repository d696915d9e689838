/**
 * What the Kubernetes layer needs to know about the environment it deploys to — and
 * nothing more: its namespace, the `app` label, its services and their replicas, the
 * strategy, where images come from, the containers' resources and log level, and the
 * deadlines of a rollout, a health check and the rollback window. A caller builds it
 * from its own configuration (this repository: `kubeTarget(env)` in
 * `lib/targets/kube_target.ts`).
 * @module
 */

/**
 * How a new version reaches traffic: switch the Service between two slots, shift
 * HTTPRoute weights between them, or update the live slot in place.
 *
 * @example
 * ```ts
 * import type { KubeStrategy } from "./target.ts";
 * const strategy: KubeStrategy = "canary";
 * ```
 */
export type KubeStrategy = "blue-green" | "canary" | "rolling";

/**
 * CPU and memory of a container, as Kubernetes quantities.
 *
 * @example
 * ```ts
 * import type { KubeResources } from "./target.ts";
 * const r: KubeResources = { cpu: "500m", memory: "512Mi" };
 * ```
 */
export interface KubeResources {
  /** e.g. `500m`. */
  readonly cpu: string;
  /** e.g. `512Mi`. */
  readonly memory: string;
}

/**
 * The environment a deploy targets, narrowed to what the manifests and strategies read.
 *
 * @example
 * ```ts
 * import type { KubeTarget } from "./target.ts";
 * const target: KubeTarget = {
 *   name: "staging",
 *   namespace: "shop-staging",
 *   app: "shop",
 *   services: { web: { replicas: 2 } },
 *   strategy: "blue-green",
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
 * ```
 */
export interface KubeTarget {
  /** The environment's name, e.g. `staging`: the `environment` label, and in messages. */
  readonly name: string;
  /** The namespace every object goes in, e.g. `shop-staging`. */
  readonly namespace: string;
  /** The `app` label of every object (and the default Gateway's name), e.g. `shop`. */
  readonly app: string;
  /** The services, in deploy order, each with its replicas: e.g. `{ web: { replicas: 2 } }`. */
  readonly services: Readonly<Record<string, { readonly replicas: number }>>;
  /** How a new version reaches traffic. */
  readonly strategy: KubeStrategy;
  /** Images are `<imageRegistry>/<service>:<version>`. */
  readonly imageRegistry: string;
  /** Every container's resource limits and requests. */
  readonly resources: { readonly limits: KubeResources; readonly requests: KubeResources };
  /** The `LOG_LEVEL` of every container, e.g. `INFO`. */
  readonly logLevel: string;
  /** A rollout that takes longer fails (`progressDeadlineSeconds`). */
  readonly rolloutDeadlineMs: number;
  /** How a slot's health is verified: attempts, pause between them, per-request timeout. */
  readonly healthCheck: {
    readonly retries: number;
    readonly intervalMs: number;
    readonly timeoutMs: number;
  };
  /** How long an idle slot is kept for a quick rollback before it may be scaled down. */
  readonly rollbackWindowMs: number;
  /** The Gateway the HTTPRoutes attach to (default: a Gateway named after `app`). */
  readonly gateway?: { readonly name: string; readonly namespace?: string | undefined } | undefined;
}

/**
 * The services of a target, in its order.
 *
 * @param target The target.
 * @returns The service names.
 *
 * @example
 * ```ts
 * import { servicesOf, type KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { services: { web: { replicas: 2 }, api: { replicas: 1 } } } as unknown as KubeTarget;
 * assert.deepEqual(servicesOf(target), ["web", "api"]);
 * ```
 */
export function servicesOf(target: KubeTarget): string[] {
  return Object.keys(target.services);
}

/**
 * The replicas of a service, checking the target has it.
 *
 * @param target The target.
 * @param service The service.
 * @returns Its replicas.
 * @throws {RangeError} Naming the target's services when it has no such one.
 *
 * @example
 * ```ts
 * import { serviceReplicas, type KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "dev", services: { web: { replicas: 2 } } } as unknown as KubeTarget;
 * assert.equal(serviceReplicas(target, "web"), 2);
 * assert.throws(() => serviceReplicas(target, "db"), RangeError);
 * ```
 */
export function serviceReplicas(target: KubeTarget, service: string): number {
  const replicas = Object.hasOwn(target.services, service)
    ? target.services[service]?.replicas
    : undefined;
  if (replicas === undefined) {
    throw new RangeError(
      `Cannot generate manifests for service "${service}": environment "${target.name}" has no such service: its services are ${
        servicesOf(target).join(", ")
      }`,
    );
  }
  return replicas;
}
