/**
 * Probe helpers shared by checks: HTTP requests with deadlines that never throw,
 * deadline signals and readable error messages. Deno built-ins only, so they run in
 * a stage's Worker with just the permissions it declared.
 * @module
 */
export * from "./http.ts";
export * from "./timeout.ts";
export * from "./oci_registry.ts";
