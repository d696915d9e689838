/**
 * Where the sandbox's gateway of a namespace listens: a loopback address derived from the
 * namespace (`127.a.b.c`, never `127.0.0.1` where the API server is), on a port the system
 * picks. The address is known before the sandbox runs, so a stage can be granted exactly that
 * host (any port) when its pipeline is built; the port is published on the Gateway object
 * (`spec.listeners[].port`, `status.addresses`), as a real gateway controller publishes its
 * load balancer's. Light: imports only the hash.
 * @module
 */
import { hash32 } from "../random/mod.ts";

/**
 * The loopback address the gateway listeners of `namespace` are bound to.
 *
 * @param namespace The Gateway's namespace.
 * @returns An address `127.a.b.c` (a ≥ 1, c from 1 to 254), the same for the same namespace.
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
export function gatewayAddress(namespace: string): string {
  const h = hash32(`gateway@${namespace}`);
  const a = 1 + (h >>> 24) % 254;
  return `127.${a}.${(h >>> 16) & 0xff}.${1 + (h & 0xff) % 254}`;
}
