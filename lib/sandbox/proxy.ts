/**
 * The `pods/proxy` and `services/proxy` subresources: forward a request to a Ready pod's
 * server, as `kubectl get --raw .../proxy/health` does.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type ResourceType } from "./resources.ts";
import { ApiError } from "./errors.ts";

/**
 * `pods/<name>[:port]/proxy/...` and `services/[scheme:]<name>[:port]/proxy/...`, as the
 * real API server proxies them: the request is forwarded to the pod's loopback server.
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
  const port = options.proxyPort(namespace, { kind: kind as "pods" | "services", name });
  if (port === undefined) {
    throw new ApiError(
      503,
      `no endpoints available for ${kind === "pods" ? "pod" : "service"} "${name}"`,
      {
        reason: "ServiceUnavailable",
      },
    );
  }
  const upstream = await fetch(`http://127.0.0.1:${port}${rest}${search}`, {
    method: request.method,
    headers: { accept: request.headers.get("accept") ?? "*/*" },
    ...(request.method === "GET" || request.method === "HEAD"
      ? {}
      : { body: await request.arrayBuffer() }),
  });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { "content-type": upstream.headers.get("content-type") ?? "text/plain" },
  });
}
