/**
 * A `fetch` that reaches pods through the API server's proxy: `http://<pod>:<port>/path`
 * becomes `GET /api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/path` through the
 * kubernetes capability. A runner outside the cluster network (and a stage with no
 * `net` permission at all) can then ask pods for `/health` and `/metrics` — the same
 * code path in the sandbox and in a real cluster.
 * @module
 */
import type { KubernetesCapability } from "./capability.ts";

/**
 * Makes the proxying fetch for a namespace.
 *
 * @param k The kubernetes capability (the stage's proxy to the main thread's client).
 * @param namespace Where the pods are.
 * @returns A fetch for GETs to `http://<pod>:<port>/...`; the signal is honoured.
 *
 * @example
 * ```ts ignore
 * const fetchPod = podProxyFetch(ctx.use("kubernetes"), "shop-prod");
 * const res = await fetchPod("http://web-blue-abc12:8000/health");
 * ```
 */
export function podProxyFetch(k: KubernetesCapability, namespace: string): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET"))
      .toUpperCase();
    if (method !== "GET") {
      throw new TypeError(`pod proxy fetch: only GET is proxied, not ${method}`);
    }
    const signal = init?.signal ?? undefined;
    const call = k.proxyGet(
      { namespace, kind: "pods", name: url.hostname, port: Number(url.port || 80) },
      `${url.pathname}${url.search}`,
    );
    const answer = signal
      ? await Promise.race([
        call,
        new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
      ])
      : await call;
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
}
