/**
 * The Kubernetes layer: the `kubernetes` capability (its interface, and the main-thread
 * provider over `@kubernetes/client-node`), rollout status as kubectl computes it, leases
 * as locks, manifests generated from a {@linkcode KubeTarget} (the narrow view of an
 * environment this layer reads), and the blue-green, canary and rolling operations
 * pipelines compose (`strategies/`), each `(k, { target, ... })`.
 *
 * This module is what stage code imports: it loads nothing heavy. The provider, client
 * and lease modules load `@kubernetes/client-node` and belong in the main thread, so they
 * are not exported here: the main thread opens the provider through the capability
 * registry (`lib/capabilities/kubernetes.ts`, which imports `provider.ts` on first use);
 * the low-level `KubeClient` and the lease functions over it are in `client.ts` and
 * `lease.ts`.
 *
 * ```ts
 * import { deploymentManifest, type KubeTarget } from "./mod.ts";
 * import assert from "node:assert/strict";
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
 * const d = deploymentManifest(target, { service: "web", slot: "blue", version: "1.2.4" });
 * assert.equal(d.metadata.name, "web-blue");
 * ```
 * @module
 */
export * from "./capability.ts";
export * from "./errors.ts";
export * from "./manifests.ts";
export * from "./manifests_monitoring.ts";
export * from "./monitoring.ts";
export * from "./proxy_fetch.ts";
export * from "./rollout.ts";
export * from "./slots.ts";
export * from "./target.ts";
export * from "./strategies/mod.ts";
