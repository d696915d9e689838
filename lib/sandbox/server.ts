/**
 * `ApiHttp`: the HTTP face of the sandbox — routing Kubernetes API paths to the API,
 * authentication by bearer token, tables for `kubectl get`, watches, and the sandbox's own
 * endpoints (measurements, pod logs, proxies).
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { type Api, PATCH_TYPES } from "./api.ts";
import { ApiError } from "./errors.ts";
import { encodeResponse, readBody } from "./body_codec.ts";
import { deleteAnswer } from "./delete_answer.ts";
import { meta } from "./store.ts";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersion,
  coreVersions,
  groupInfo,
  groupList,
  openApiV3Document,
  openApiV3Index,
  resourceList,
  SERVER_VERSION,
} from "./discovery.ts";
import { toTable } from "./tables.ts";
import { scaleSubresource } from "./scale.ts";
import { watchResponse } from "./watch.ts";
import { proxyRequest } from "./proxy.ts";
import { podLogResponse } from "./pod_logs.ts";
import { storeFollowSource } from "./pod_log_follow.ts";
import { prettyPrinted, queryBool, queryPretty } from "./query.ts";
import { POD_STREAM_PATH, podStreamResponse } from "./pod_stream.ts";
import { attachCommandPod } from "./pod_command_run.ts";

type JsonMap = Record<string, unknown>;

/** Hooks for computed endpoints the store does not hold. */
export interface ServerHooks {
  /** metrics.k8s.io objects (NodeMetrics, PodMetrics). */
  metrics(type: ResourceType, namespace: string | undefined): KObject[];
  /** The sandbox measurements endpoint for a namespace. */
  measurements(namespace: string, params: URLSearchParams): Response;
  /** A pod's log text (all of it: the server applies `tailLines` and the rest), or undefined. */
  podLog(namespace: string, name: string): string | undefined;
  /** The loopback port answering for a pod or a Service (one of its Ready pods). */
  proxyPort(
    namespace: string,
    target: { kind: "pods" | "services"; name: string },
  ): number | undefined;
}

function json(body: unknown, status = 200, warnings: string[] = []): Response {
  return jsonText(JSON.stringify(body), status, warnings);
}

function jsonText(text: string, status = 200, warnings: string[] = []): Response {
  const headers = new Headers({
    "content-type": "application/json",
    "cache-control": "no-cache, private",
  });
  for (const w of warnings) headers.append("warning", `299 - ${JSON.stringify(w)}`);
  return new Response(text, { status, headers });
}

function errorResponse(error: unknown): Response {
  if (error instanceof ApiError) return json(error.toStatus(), error.code);
  const message = error instanceof Error ? error.message : String(error);
  return json(new ApiError(500, message, { reason: "InternalError" }).toStatus(), 500);
}

interface Route {
  type: ResourceType;
  namespace: string;
  name: string | undefined;
  subresource: string | undefined;
}

function routeOf(segments: string[]): Route | undefined {
  let group = "", version = "", rest: string[];
  if (segments[0] === "api") {
    version = segments[1] ?? "";
    rest = segments.slice(2);
  } else {
    group = segments[1] ?? "";
    version = segments[2] ?? "";
    rest = segments.slice(3);
  }
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const type = findResource(group, version, rest[2] ?? "");
    if (type?.namespaced) {
      return { type, namespace: rest[1] ?? "", name: rest[3], subresource: rest[4] };
    }
  }
  const type = findResource(group, version, rest[0] ?? "");
  if (!type || rest.length > 3) return undefined;
  return { type, namespace: "", name: rest[1], subresource: rest[2] };
}

/**
 * The HTTP front of the API: discovery, OpenAPI, REST verbs, watch streams, Tables,
 * the scale subresource and the hooks for computed endpoints.
 */
export class ApiHttp {
  #api: Api;
  #hooks: ServerHooks;
  #token: string;
  #address = "127.0.0.1";
  #watches = new Set<() => void>();

  /**
   * @param api The API semantics.
   * @param options The bearer token clients must present, and the computed-endpoint hooks.
   */
  constructor(api: Api, options: { token: string; hooks: ServerHooks }) {
    this.#api = api;
    this.#token = options.token;
    this.#hooks = options.hooks;
  }

  /** Set the address reported by `/api`. */
  setAddress(address: string): void {
    this.#address = address;
  }

  /** Close every open watch stream (before shutting the server down). */
  closeWatches(): void {
    for (const close of [...this.#watches]) close();
  }

  /** Answer one request (indented JSON when its `pretty` parses as true). */
  async handle(request: Request): Promise<Response> {
    // exec, attach and portforward answer with a WebSocket upgrade: the 101 goes back as is.
    const stream = new URL(request.url).pathname.match(POD_STREAM_PATH);
    if (stream && this.#authorized(request)) {
      try {
        return podStreamResponse(request, stream, {
          api: this.#api,
          proxyPort: (ns, target) => this.#hooks.proxyPort(ns, target),
          open: this.#watches,
          attach: attachCommandPod,
        });
      } catch (error) {
        return errorResponse(error);
      }
    }
    let response: Response;
    try {
      response = await this.#handle(request);
    } catch (error) {
      response = errorResponse(error);
    }
    return await encodeResponse(
      request,
      queryPretty(new URL(request.url).searchParams) ? await prettyPrinted(response) : response,
    );
  }

  #authorized(request: Request): boolean {
    const authorization = request.headers.get("authorization");
    return authorization === null || authorization === `Bearer ${this.#token}`;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    // Like the old insecure port, loopback requests without credentials are admitted:
    // kubectl (client-go) does not send a bearer token over plain HTTP. A wrong token is refused.
    if (!this.#authorized(request)) {
      return json(new ApiError(401, "Unauthorized", { reason: "Unauthorized" }).toStatus(), 401);
    }
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return new Response("ok");
    if (path === "/version") return json(SERVER_VERSION);
    if (path === "/api" || path === "/apis") {
      const version = aggregatedVersion(request.headers.get("accept") ?? "");
      if (version) {
        const response = json(aggregatedDiscovery(version, { core: path === "/api" }));
        response.headers.set("content-type", aggregatedContentType(version));
        response.headers.set("vary", "Accept");
        return response;
      }
      const response = json(path === "/api" ? coreVersions(this.#address) : groupList());
      response.headers.set("vary", "Accept");
      return response;
    }
    if (path === "/openapi/v3") return json(openApiV3Index());
    if (path.startsWith("/openapi/v3/")) {
      const doc = openApiV3Document(path.slice("/openapi/v3/".length));
      return doc ? json(doc) : json(ApiError.notFound("openapi", path).toStatus(), 404);
    }
    const proxy = path.match(
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods|services)\/([^/]+)\/proxy(\/.*)?$/,
    );
    if (proxy) {
      return await proxyRequest(request, {
        api: this.#api,
        match: proxy,
        search: url.search,
        proxyPort: (ns, target) => this.#hooks.proxyPort(ns, target),
      });
    }
    const segments = path.split("/").filter((s) => s !== "");
    if (segments[0] === "apis" && segments[1] === SANDBOX_API_GROUP && segments[2] === "v1") {
      if (segments[3] === "namespaces" && segments[5] === "measurements" && segments.length === 6) {
        return this.#hooks.measurements(segments[4] ?? "", url.searchParams);
      }
      return json(
        new ApiError(404, "the server could not find the requested resource", {
          reason: "NotFound",
        }).toStatus(),
        404,
      );
    }
    if (segments[0] === "api" && segments.length === 2) {
      const list = resourceList("", segments[1] ?? "");
      if (list) return json(list);
    }
    if (segments[0] === "apis" && segments.length === 2) {
      const info = groupInfo(segments[1] ?? "");
      if (info) return json(info);
    }
    if (segments[0] === "apis" && segments.length === 3) {
      const list = resourceList(segments[1] ?? "", segments[2] ?? "");
      if (list) return json(list);
    }
    const route = segments[0] === "api" || segments[0] === "apis" ? routeOf(segments) : undefined;
    if (!route) {
      return json(
        new ApiError(404, "the server could not find the requested resource", {
          reason: "NotFound",
        }).toStatus(),
        404,
      );
    }
    return await this.#resource(request, url, route);
  }

  #manager(request: Request, params: URLSearchParams): string {
    const explicit = params.get("fieldManager");
    if (explicit) return explicit;
    const ua = request.headers.get("user-agent") ?? "unknown";
    return ua.split("/")[0] ?? "unknown";
  }

  #body(request: Request, yaml = false): Promise<unknown> {
    return readBody(request, yaml);
  }

  async #resource(request: Request, url: URL, route: Route): Promise<Response> {
    const { type, namespace, name, subresource } = route;
    const params = url.searchParams;
    const method = request.method;
    const dryRun = params.getAll("dryRun").includes("All");
    const manager = this.#manager(request, params);
    const accept = request.headers.get("accept") ?? "";
    const validation = {
      fieldValidation: params.get("fieldValidation") ?? "Warn",
      warnings: [] as string[],
    };
    if (type.readOnly) {
      if (method !== "GET") {
        throw ApiError.methodNotAllowed(
          "the server does not allow this method on the requested resource",
        );
      }
      const items = this.#hooks.metrics(type, type.namespaced ? namespace || undefined : undefined);
      if (name) {
        const found = items.find((i) => meta(i).name === name);
        if (!found) throw ApiError.notFound(type.plural, name, type.group);
        return json(found);
      }
      return json({
        kind: `${type.kind}List`,
        apiVersion: `${type.group}/${type.version}`,
        metadata: {},
        items,
      });
    }
    if (subresource === "log" && type.kind === "Pod" && name) {
      const pod = this.#api.get(type, namespace, name);
      const read = () => this.#hooks.podLog(namespace, name) ?? "";
      return podLogResponse(pod, read(), params, {
        now: this.#api.clock.now(),
        follow: storeFollowSource(this.#api.store, pod, { type, read, open: this.#watches }),
      });
    }
    if (subresource === "scale" && name && type.subresources.includes("scale")) {
      return json(
        await scaleSubresource(this.#api, request, {
          type,
          namespace,
          name,
          manager,
          dryRun,
          body: () => this.#body(request),
        }),
      );
    }
    if (
      subresource !== undefined &&
      !(subresource === "status" && type.subresources.includes("status"))
    ) {
      return json(
        new ApiError(404, "the server could not find the requested resource", {
          reason: "NotFound",
        }).toStatus(),
        404,
      );
    }
    const sub = subresource ? { subresource } : {};
    if (!name) {
      if (method === "GET") {
        if (queryBool(params, "watch")) {
          return watchResponse(this.#api.store, {
            clock: this.#api.clock,
            type,
            namespace,
            params,
            open: this.#watches,
            asTable: accept.includes("as=Table"),
          });
        }
        // The stored objects, not copies: they are only read, and serialized at once.
        const items = this.#api.view(type, type.namespaced ? namespace || undefined : undefined, {
          labelSelector: params.get("labelSelector"),
          fieldSelector: params.get("fieldSelector"),
        });
        const rv = String(this.#api.store.resourceVersion);
        if (accept.includes("as=Table")) {
          return json(
            toTable(type, items, {
              resourceVersion: rv,
              includeObject: params.get("includeObject") ?? "Metadata",
              now: this.#api.clock.now(),
            }),
          );
        }
        const head = JSON.stringify({
          kind: `${type.kind}List`,
          apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
          metadata: { resourceVersion: rv },
        });
        const store = this.#api.store;
        return jsonText(
          `${head.slice(0, -1)},"items":[${items.map((o) => store.jsonOf(o)).join(",")}]}`,
        );
      }
      if (method === "POST") {
        const created = this.#api.create(type, namespace, await this.#body(request), {
          manager,
          dryRun,
          ...validation,
        });
        return json(created, 201, validation.warnings);
      }
      if (method === "DELETE") {
        const items = this.#api.list(type, namespace || undefined, {
          labelSelector: params.get("labelSelector"),
          fieldSelector: params.get("fieldSelector"),
        });
        for (const item of items) {
          this.#api.delete(type, namespace, String(meta(item).name), { dryRun });
        }
        return json({
          kind: `${type.kind}List`,
          apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
          metadata: {},
          items,
        });
      }
      throw ApiError.methodNotAllowed(
        "the server does not allow this method on the requested resource",
      );
    }
    switch (method) {
      case "GET": {
        const obj = this.#api.peek(type, namespace, name);
        if (accept.includes("as=Table")) {
          return json(
            toTable(type, [obj], {
              resourceVersion: String(meta(obj).resourceVersion),
              includeObject: params.get("includeObject") ?? "Metadata",
              now: this.#api.clock.now(),
            }),
          );
        }
        return jsonText(this.#api.store.jsonOf(obj));
      }
      case "PUT":
        return json(
          this.#api.update(type, namespace, name, await this.#body(request), {
            manager,
            dryRun,
            ...sub,
            ...validation,
          }),
          200,
          validation.warnings,
        );
      case "PATCH": {
        const contentType = request.headers.get("content-type") ?? "";
        const isApply = contentType.startsWith(PATCH_TYPES.apply);
        const existed = this.#api.store.peek(type, namespace, name) !== undefined;
        const result = this.#api.patch(type, namespace, name, {
          contentType,
          body: await this.#body(request, isApply),
          force: queryBool(params, "force"),
        }, {
          manager: isApply ? params.get("fieldManager") ?? "" : manager,
          dryRun,
          ...sub,
          ...validation,
        });
        return json(result, existed ? 200 : 201, validation.warnings);
      }
      case "DELETE": {
        const text = await request.text();
        let options: JsonMap = {};
        if (text.trim() !== "") {
          try {
            options = JSON.parse(text) as JsonMap;
          } catch {
            throw ApiError.badRequest("the DeleteOptions body is not valid JSON");
          }
        }
        const policy = params.get("propagationPolicy") ?? options.propagationPolicy;
        const removed = this.#api.delete(type, namespace, name, {
          ...(typeof policy === "string" ? { propagationPolicy: policy } : {}),
          ...(options.preconditions ? { preconditions: options.preconditions as JsonMap } : {}),
          dryRun: dryRun || (Array.isArray(options.dryRun) && options.dryRun.includes("All")),
        });
        return json(deleteAnswer(type, removed, policy, this.#api.clock));
      }
    }
    throw ApiError.methodNotAllowed(
      "the server does not allow this method on the requested resource",
    );
  }
}
