/**
 * The `pods/proxy` and `services/proxy` subresources: forward a request to a Ready pod's
 * server, as `kubectl get --raw .../proxy/health` does. A Service that a Gateway fronts (the
 * namespace's load balancer) is reached through the gateway's edge (authentication, rate
 * limit, security headers); pods are always reached bare, as real pods are.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type ResourceType } from "./resources.ts";
import { ApiError } from "./errors.ts";
import { edgeFor } from "./gateway_registry.ts";

/** Headers a proxy does not pass on (hop-by-hop, and what the transport sets itself). */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
];

/**
 * Sends a request on to `base` (a pod's loopback server), with its method, headers (not the
 * hop-by-hop ones, and not `authorization` when `dropAuthorization`) and body, and returns
 * the answer with its status and headers.
 *
 * @param request The request as received.
 * @param base Where to send it, e.g. `http://127.0.0.1:40123`.
 * @param path The path and query to ask for there.
 * @param options `dropAuthorization`: the credentials were the proxy's own (the API
 *   server's bearer token), not for the backend.
 * @returns The backend's answer.
 *
 * @example
 * ```ts ignore
 * import { forwardRequest } from "./proxy.ts";
 * const answer = await forwardRequest(request, "http://127.0.0.1:40123", "/health");
 * ```
 */
export async function forwardRequest(
  request: Request,
  base: string,
  path: string,
  options: { dropAuthorization?: boolean } = {},
): Promise<Response> {
  const headers = new Headers(request.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  if (options.dropAuthorization) headers.delete("authorization");
  const upstream = await fetch(`${base}${path}`, {
    method: request.method,
    headers,
    ...(request.method === "GET" || request.method === "HEAD"
      ? {}
      : { body: await request.arrayBuffer() }),
  });
  const out = new Headers(upstream.headers);
  for (const name of HOP_BY_HOP) out.delete(name);
  if (!out.has("content-type")) out.set("content-type", "text/plain");
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

/**
 * `pods/<name>[:port]/proxy/...` and `services/[scheme:]<name>[:port]/proxy/...`, as the
 * real API server proxies them: the request is forwarded to the pod's loopback server. The
 * caller's `authorization` is the API server's and is not passed on (as kube-apiserver drops
 * it once it has authenticated the request).
 */
export async function proxyRequest(
  request: Request,
  options: {
    api: Api;
    match: RegExpMatchArray;
    search: string;
    proxyPort(
      namespace: string,
      target: { kind: "pods" | "services"; name: string },
    ): number | undefined;
  },
): Promise<Response> {
  const { match, search } = options;
  const [, namespace = "", kind = "pods", rawName = "", rest = "/"] = match;
  const parts = decodeURIComponent(rawName).split(":");
  const name = (parts.length === 3 ? parts[1] : parts[0]) ?? "";
  const type = findResource("", "v1", kind) as ResourceType;
  options.api.get(type, namespace, name);
  const target = { kind: kind as "pods" | "services", name };
  const send = (req: Request): Promise<Response> => {
    const port = options.proxyPort(namespace, target);
    if (port === undefined) {
      throw new ApiError(
        503,
        `no endpoints available for ${kind === "pods" ? "pod" : "service"} "${name}"`,
        { reason: "ServiceUnavailable" },
      );
    }
    return forwardRequest(req, `http://127.0.0.1:${port}`, `${rest}${search}`, {
      dropAuthorization: true,
    });
  };
  const edge = target.kind === "services" ? edgeFor(options.api, namespace, name) : undefined;
  if (!edge) return await send(request);
  // The edge sees the request as the Service receives it: its own path, no API credentials.
  const headers = new Headers(request.headers);
  headers.delete("authorization");
  const inner = new Request(`http://${name}.${namespace}.svc${rest}${search}`, {
    method: request.method,
    headers,
    ...(request.method === "GET" || request.method === "HEAD"
      ? {}
      : { body: await request.arrayBuffer() }),
  });
  return await edge.handle(inner, send);
}
