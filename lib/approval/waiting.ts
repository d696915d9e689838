/**
 * Approving a waiting run through the cluster, the medium both machines reach: the waiting
 * run publishes its request as a ConfigMap in its namespace ({@link ./waiting_request.ts});
 * an approver on another machine finds it by run id, signs its digest and adds the signed
 * approval atomically ({@link ./waiting_approve.ts}); the run reads the approvals back,
 * verifies each with the environment's own policy, and goes on when enough are valid
 * ({@link ./waiting_wait.ts}). This module re-exports all three.
 * @module
 */
export * from "./waiting_request.ts";
export * from "./waiting_approve.ts";
export * from "./waiting_wait.ts";
