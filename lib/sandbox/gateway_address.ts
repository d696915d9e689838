/**
 * Where the sandbox's gateway of a namespace listens: a loopback address derived from the
 * namespace and the sandbox's scope (its state folder, absolute: `127.a.b.c`, never
 * `127.0.0.1` where the API server is) and {@linkcode GATEWAY_PORT}. Both are known before
 * the sandbox runs, so a stage can be granted exactly that `host:port` when its pipeline is
 * built; the sandbox publishes where it does listen on the Gateway object
 * (`spec.listeners[].port`, `status.addresses`), as a real gateway controller publishes its
 * load balancer's, and validation dials what is published. Light: imports only the hash.
 * @module
 */
import { hash32 } from "../random/mod.ts";

/** The port of a sandbox gateway's HTTPS listener (at its own address); 0 when it is taken. */
export const GATEWAY_PORT = 8443;

/**
 * The loopback address the gateway listeners of `namespace` are bound to.
 *
 * @param namespace The Gateway's namespace.
 * @param scope What tells one sandbox from another rehearsing the same namespace: its state
 *   folder's absolute path (a pipeline's `companion-scope`); default none.
 * @returns An address `127.a.b.c` (a ≥ 1, c from 1 to 254), the same for the same inputs.
 *
 * @example
 * ```ts
 * import { gatewayAddress } from "./gateway_address.ts";
 * import assert from "node:assert/strict";
 * assert.match(gatewayAddress("shop-prod"), /^127\.\d+\.\d+\.\d+$/);
 * assert.notEqual(gatewayAddress("shop-prod"), "127.0.0.1");
 * assert.equal(gatewayAddress("shop-prod"), gatewayAddress("shop-prod"));
 * ```
 */
export function gatewayAddress(namespace: string, scope = ""): string {
  const h = hash32(`gateway@${namespace}${scope ? `#${scope}` : ""}`);
  const a = 1 + (h >>> 24) % 254;
  return `127.${a}.${(h >>> 16) & 0xff}.${1 + (h & 0xff) % 254}`;
}
