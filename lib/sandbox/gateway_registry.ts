/**
 * Which edge fronts which Service: the sandbox's gateway registers, per API, the
 * {@linkcode GatewayEdge} in front of each load balancer Service, and the API server's
 * `services/<name>/proxy` asks here before it forwards a request (a Service no Gateway
 * fronts, and every pod, is reached bare).
 * @module
 */
import type { Api } from "./api.ts";
import type { GatewayEdge } from "./routes.ts";

/** Finds the edge in front of a Service of a namespace. */
export type EdgeLookup = (namespace: string, service: string) => GatewayEdge | undefined;

const lookups = new WeakMap<Api, EdgeLookup>();

/**
 * Registers (or, with `undefined`, removes) how to find the edges of an API's Gateways.
 *
 * @param api The sandbox's API.
 * @param lookup The lookup, or undefined to remove it.
 *
 * @example
 * ```ts ignore
 * import { registerEdges } from "./gateway_registry.ts";
 * registerEdges(api, (ns, service) => service === "lb" ? edge : undefined);
 * ```
 */
export function registerEdges(api: Api, lookup: EdgeLookup | undefined): void {
  if (lookup) lookups.set(api, lookup);
  else lookups.delete(api);
}

/**
 * The edge in front of a Service, if a Gateway of the API fronts it.
 *
 * @param api The sandbox's API.
 * @param namespace The Service's namespace.
 * @param service The Service's name.
 * @returns The edge, or undefined (the Service is reached bare).
 *
 * @example
 * ```ts ignore
 * import { edgeFor } from "./gateway_registry.ts";
 * const edge = edgeFor(api, "shop-prod", "shop-lb");
 * ```
 */
export function edgeFor(api: Api, namespace: string, service: string): GatewayEdge | undefined {
  return lookups.get(api)?.(namespace, service);
}
