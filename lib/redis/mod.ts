/**
 * A tiny RESP2 Redis client for health checks, built on `Deno.connect` only.
 * @module
 */
export * from "./resp.ts";
