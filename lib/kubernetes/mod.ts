/**
 * The Kubernetes layer: the `kubernetes` capability (its interface, and the main-thread
 * provider over `@kubernetes/client-node`), rollout status as kubectl computes it, leases
 * as locks, manifests generated from an environment, and the blue-green/canary
 * operations pipelines compose.
 *
 * Stage code should import `capability.ts`, `manifests.ts` and `strategies.ts` only: the
 * provider, client and lease modules load `@kubernetes/client-node` and belong in the
 * main thread.
 * @module
 */
export * from "./capability.ts";
export * from "./client.ts";
export * from "./lease.ts";
export * from "./manifests.ts";
export * from "./provider.ts";
export * from "./rollout.ts";
export * from "./strategies.ts";
