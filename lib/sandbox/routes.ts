/**
 * The Gateway API controller: HTTPRoutes get an `Accepted`/`ResolvedRefs` status per parent,
 * as a real gateway controller would report; and the gateway's edge ({@linkcode GatewayEdge}):
 * what the public endpoint does before a request reaches a pod — authentication of `/api/`
 * (a Bearer token that is one of the namespace's API keys), a rate limit with its
 * `RateLimit-*` headers, and the security headers — so that post-deploy validations of the
 * public endpoint run against something that behaves like an edge.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";

type JsonMap = Record<string, unknown>;
const ROUTES = findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const CONTROLLER = `${SANDBOX_API_GROUP}/gateway-controller`;

/**
 * A Gateway API controller for HTTPRoutes: for each parentRef it reports `Accepted` and
 * `ResolvedRefs` (False with `BackendNotFound` while a backend Service is missing).
 */
export class RouteController {
  #api: Api;

  /** @param api The API. */
  constructor(api: Api) {
    this.#api = api;
  }

  /** Reconcile every HTTPRoute's status once. */
  reconcile(): void {
    for (const route of this.#api.store.scan(ROUTES)) this.#sync(route);
  }

  #sync(route: KObject): void {
    const m = meta(route);
    const ns = String(m.namespace);
    const spec = (route.spec ?? {}) as JsonMap;
    const missing: string[] = [];
    for (const rule of (spec.rules ?? []) as JsonMap[]) {
      for (const ref of (rule.backendRefs ?? []) as JsonMap[]) {
        const refNs = String(ref.namespace ?? ns);
        if (!this.#api.store.peek(SERVICES, refNs, String(ref.name))) {
          missing.push(String(ref.name));
        }
      }
    }
    const parents = (spec.parentRefs ?? []) as JsonMap[];
    const previous = ((route.status ?? {}) as JsonMap).parents as JsonMap[] | undefined;
    const now = this.#api.now();
    const condition = (type: string, ok: boolean, reason: string, message: string) => {
      const old = (previous ?? []).flatMap((p) => (p.conditions ?? []) as JsonMap[])
        .find((c) => c.type === type);
      const status = ok ? "True" : "False";
      return {
        type,
        status,
        reason,
        message,
        observedGeneration: m.generation,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
      };
    };
    const status = {
      parents: parents.map((parentRef) => ({
        parentRef,
        controllerName: CONTROLLER,
        conditions: [
          condition("Accepted", true, "Accepted", "Route is accepted"),
          missing.length === 0
            ? condition("ResolvedRefs", true, "ResolvedRefs", "All references are resolved")
            : condition(
              "ResolvedRefs",
              false,
              "BackendNotFound",
              `Service(s) not found: ${missing.join(", ")}`,
            ),
        ],
      })),
    };
    if (JSON.stringify(route.status ?? {}) === JSON.stringify(status)) return;
    const next = structuredClone(route);
    next.status = status;
    this.#api.update(ROUTES, ns, String(m.name), next, {
      manager: "gateway-controller",
      subresource: "status",
    });
  }
}

/** Options of {@linkcode GatewayEdge}. */
export interface GatewayEdgeOptions {
  /** The API keys that authenticate `/api/` requests (e.g. the values of an `api-keys` Secret). */
  readonly apiKeys: () => readonly string[];
  /** Requests a client may make per window (default 1 000, an environment's `api_rate_limit`). */
  readonly limit?: number;
  /** The window, target ms (default 60 000). */
  readonly windowMs?: number;
  /** The cluster's time (target ms). */
  readonly now: () => number;
  /** Paths under `/api/` that need no token (default `/api/v1/health`). */
  readonly public?: readonly string[];
}

/** The headers every answer of the edge carries. */
export const EDGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "referrer-policy": "no-referrer",
});

/**
 * The public endpoint's edge in front of a backend: `/api/` needs `Authorization: Bearer
 * <an API key>` (401 `{"error":"unauthorized"}` without one, `{"error":"invalid token"}` with
 * another), each client (by `x-forwarded-for`, else one client) gets `limit` requests per
 * window (then 429 with `Retry-After`), and every answer carries `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` and {@linkcode EDGE_SECURITY_HEADERS}.
 *
 * @example
 * ```ts
 * import { GatewayEdge } from "./routes.ts";
 * import assert from "node:assert/strict";
 * const edge = new GatewayEdge({ apiKeys: () => ["k3y"], now: () => 0, limit: 2 });
 * const backend = () => Promise.resolve(new Response("{}", { status: 200 }));
 * const denied = await edge.handle(new Request("http://api/api/v1/user"), backend);
 * assert.equal(denied.status, 401);
 * const ok = await edge.handle(
 *   new Request("http://api/api/v1/user", { headers: { authorization: "Bearer k3y" } }),
 *   backend,
 * );
 * assert.equal(ok.headers.get("ratelimit-remaining"), "0");
 * ```
 */
export class GatewayEdge {
  #options: GatewayEdgeOptions;
  #windows = new Map<string, { start: number; count: number }>();

  /** @param options API keys, limit and window, the clock, public paths. */
  constructor(options: GatewayEdgeOptions) {
    this.#options = options;
  }

  /**
   * Answers a request at the edge, passing it to `backend` when it may go through.
   *
   * @param request The request as the client sent it.
   * @param backend Sends it on (to a pod of the route's backend) and returns its answer.
   * @returns The answer, with the edge's headers.
   */
  async handle(
    request: Request,
    backend: (request: Request) => Promise<Response>,
  ): Promise<Response> {
    const limit = this.#options.limit ?? 1_000;
    const windowMs = this.#options.windowMs ?? 60_000;
    const now = this.#options.now();
    const client = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || "client";
    let w = this.#windows.get(client);
    if (!w || now - w.start >= windowMs) this.#windows.set(client, w = { start: now, count: 0 });
    w.count++;
    const reset = Math.max(0, Math.ceil((w.start + windowMs - now) / 1000));
    const headers: Record<string, string> = {
      ...EDGE_SECURITY_HEADERS,
      "ratelimit-limit": String(limit),
      "ratelimit-remaining": String(Math.max(0, limit - w.count)),
      "ratelimit-reset": String(reset),
    };
    const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { ...headers, ...extra, "content-type": "application/json" },
      });
    if (w.count > limit) {
      return json(429, { error: "rate limit exceeded" }, { "retry-after": String(reset) });
    }
    const path = new URL(request.url).pathname;
    const open = this.#options.public ?? ["/api/v1/health"];
    if (path.startsWith("/api/") && !open.includes(path)) {
      const auth = request.headers.get("authorization") ?? "";
      const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
      if (!token) return json(401, { error: "unauthorized" }, { "www-authenticate": "Bearer" });
      if (!this.#options.apiKeys().includes(token)) {
        return json(401, { error: "invalid token" }, { "www-authenticate": "Bearer" });
      }
    }
    const answer = await backend(request);
    const out = new Headers(answer.headers);
    for (const [k, v] of Object.entries(headers)) out.set(k, v);
    return new Response(answer.body, { status: answer.status, headers: out });
  }
}
