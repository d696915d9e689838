/**
 * Reusable checks: the runbook's pre-deployment checks and post-deployment
 * validations, each a {@linkcode Check} that returns pass or fail with the evidence
 * for the report. Required checks fail their stage; `required: false` ones warn.
 *
 * ```ts
 * import { namespaceExists, noLatestTag } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(namespaceExists("tracktion-prod").name, "Namespace exists");
 * assert.equal(noLatestTag(["ghcr.io/tracktion/api:1.2.4"]).required, true);
 * ```
 * @module
 */
export * from "./options.ts";
export * from "./backup.ts";
export * from "./configuration.ts";
export * from "./database.ts";
export * from "./dns.ts";
export * from "./http_endpoint.ts";
export * from "./images.ts";
export * from "./kubernetes.ts";
export * from "./kubernetes_workloads.ts";
export * from "./monitoring.ts";
export * from "./redis.ts";
export * from "./security.ts";
export * from "./service.ts";
export * from "./storage.ts";
export * from "./tls.ts";
