/**
 * The Kubernetes layer: the `kubernetes` capability (its interface, and the main-thread
 * provider over `@kubernetes/client-node`), rollout status as kubectl computes it, leases
 * as locks, manifests generated from an environment, and the blue-green/canary
 * operations pipelines compose.
 *
 * Stage code should import `capability.ts`, `manifests.ts` and `strategies.ts` only: the
 * provider, client and lease modules load `@kubernetes/client-node` and belong in the
 * main thread. The low-level `KubeClient` and the lease functions over it are in
 * `client.ts` and `lease.ts`.
 * @module
 */
export type * from "../config/types.ts";
export type { Duration } from "../config/duration.ts";
export type { FromEnvRef, SecretKeyRef, SecretRef } from "../config/secret_ref.ts";
export * from "./capability.ts";
export { KubernetesApiError } from "./client.ts";
export { LeaseHeldError } from "./lease.ts";
export * from "./manifests.ts";
export * from "./provider.ts";
export * from "./rollout.ts";
export * from "./strategies.ts";
