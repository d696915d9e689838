/**
 * The Kubernetes client the main thread holds: `@kubernetes/client-node` configured from
 * a kubeconfig, with generic objects kept as plain JSON. Every request to the API server
 * holds the run's clock while it is in flight; on a virtual clock requests also go one at
 * a time, in the order they were made, so they end in a reproducible order.
 * @module
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  HttpMethod,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  VersionApi,
} from "@kubernetes/client-node";
import type { KindRef, KubeObject } from "./capability.ts";
import { KubernetesApiError } from "./errors.ts";
import { TOOL_NAME } from "../product/mod.ts";
import { type Clock, realClock } from "../clock/clock.ts";
import { apiMaker, type MakeApi } from "./transport.ts";
import { RequestHolds } from "./holds.ts";
import { ATTEMPTS_HEADER, type RetryEvent, type RetryPolicy } from "./retry.ts";

/** The field manager of every server-side apply and patch this tool makes. */
export const FIELD_MANAGER: string = TOOL_NAME;

/** The patch types the capability accepts, by their `Content-Type`. */
export const PATCH_CONTENT_TYPES: Readonly<Record<"merge" | "strategic" | "json", string>> = {
  merge: PatchStrategy.MergePatch,
  strategic: PatchStrategy.StrategicMergePatch,
  json: PatchStrategy.JsonPatch,
};

/** The server's discovery does not list the kind. */
class UnknownKindError extends Error {
  constructor(apiVersion: string, kind: string, cause: unknown) {
    super(`the server does not serve kind ${kind} in ${apiVersion}`, { cause });
  }
}

/** What a request sends beyond its path. */
interface SendOptions {
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
}

/**
 * `KubernetesObjectApi` that answers plain JSON (the generated model classes would turn
 * timestamps into `Date`s and drop fields they do not know) and sends bodies exactly as
 * given (a JSON Patch is an array, which the generic `patch()` cannot carry).
 */
class PlainObjectApi extends KubernetesObjectApi {
  static create(kc: KubeConfig, make: MakeApi): PlainObjectApi {
    const api = make(PlainObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  /** Whether a kind is namespaced, from discovery; undefined when the server has no such kind. */
  async namespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      const r = await this.resource(apiVersion, kind);
      return r ? r.namespaced : undefined;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  async send(
    method: HttpMethod,
    spec: KubeObject | { apiVersion: string; kind: string; metadata: Record<string, unknown> },
    action: "read" | "list" | "patch" | "create" | "delete" | "replace",
    options: SendOptions = {},
  ): Promise<unknown> {
    let path: string;
    try {
      path = await this.specUriPath(spec as unknown as KubernetesObject, action);
    } catch (error) {
      // discovery has no such group/version, or the version has no such kind; anything
      // else (discovery failing, after its retries) is the server's failure
      const unknown = error instanceof ApiException
        ? error.code === 404
        : error instanceof Error && error.message.startsWith("Unrecognized API version and kind");
      if (!unknown) throw error;
      throw new UnknownKindError(spec.apiVersion, spec.kind, error);
    }
    const context: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    context.setHeaderParam("Accept", "application/json");
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) context.setQueryParam(key, value);
    }
    if (options.body !== undefined) {
      context.setHeaderParam("Content-Type", options.contentType ?? "application/json");
      context.setBody(options.body);
    }
    return await this.requestPromise(context);
  }

  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    let data: unknown = text;
    try {
      data = text === "" ? {} : JSON.parse(text);
    } catch {
      // keep the text
    }
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return data as T;
    throw new ApiException(
      response.httpStatusCode,
      "Unsuccessful HTTP Request",
      data,
      response.headers,
    );
  }
}

/** An answer relayed by the API server's proxy: status, headers and body as they came. */
export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends GETs through the API server's `pods/.../proxy` and `services/.../proxy` paths. */
class ProxyApi extends KubernetesObjectApi {
  async get(path: string): Promise<ProxyResponse> {
    const context: RequestContext = this.configuration.baseServer.makeRequestContext(
      path,
      HttpMethod.GET,
    );
    return await this.requestPromise(context) as unknown as ProxyResponse;
  }

  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const body = await response.body.text();
    return { status: response.httpStatusCode, headers: { ...response.headers }, body } as T;
  }
}

function describe(kind: KindRef, namespace: string | null, name: string): string {
  return `${kind.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/**
 * Turns what the client threw into a {@linkcode KubernetesApiError} naming the action,
 * the object, the HTTP status and the API's reason and message.
 *
 * @param error What was thrown.
 * @param action The verb, e.g. `"apply"`.
 * @param what The object, e.g. `"Deployment shop-prod/web-green"`.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { apiError } from "./client.ts";
 * import assert from "node:assert/strict";
 * const error = apiError(new Error("connection refused"), "apply", "Deployment shop/web-blue");
 * assert.equal(error.message, "Cannot apply Deployment shop/web-blue: connection refused");
 * assert.equal(error.status, 0);
 * ```
 */
export function apiError(error: unknown, action: string, what: string): KubernetesApiError {
  if (error instanceof KubernetesApiError) return error;
  if (error instanceof UnknownKindError) {
    return new KubernetesApiError(`Cannot ${action} ${what}: ${error.message}`, {
      status: 404,
      reason: "NotFound",
      cause: error,
    });
  }
  if (error instanceof ApiException) {
    let body: unknown = error.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        // not JSON
      }
    }
    const status = body && typeof body === "object" ? body as Record<string, unknown> : {};
    const reason = typeof status.reason === "string" && status.reason ? status.reason : "";
    const detail = typeof status.message === "string"
      ? status.message
      : typeof body === "string"
      ? body.slice(0, 300)
      : "";
    const parts = [String(error.code), reason].filter(Boolean).join(" ");
    const attempts = Number((error.headers as Record<string, string>)?.[ATTEMPTS_HEADER] ?? 1);
    const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : "";
    return new KubernetesApiError(
      `Cannot ${action} ${what}: ${parts}${detail ? `: ${detail}` : ""}${tries}`,
      { status: error.code, reason, cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KubernetesApiError(`Cannot ${action} ${what}: ${message}`, {
    status: 0,
    reason: "",
    cause: error,
  });
}

/** Options for {@linkcode KubeClient.connect}. */
export interface KubeClientOptions {
  /** The kubeconfig context to use (default: its current context). */
  context?: string | undefined;
  /** The run's clock, held while each request is in flight (default real time). */
  clock?: Clock | undefined;
  /**
   * Sends each request instead of HTTP: client-node builds it (path, query, headers, the
   * kubeconfig's credentials) and reads the answer as from a socket. For a sandbox in this
   * process, where the socket is only cost (`simulate`).
   */
  transport?: ((request: Request) => Promise<Response>) | undefined;
  /** The retries' numbers (default `DEFAULT_RETRY_POLICY` of `retry.ts`). */
  retry?: Partial<RetryPolicy> | undefined;
  /** Told each retry of a request. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** An API object whose every method holds the client's clock while its request runs. */
function tracked<T extends object>(api: T, client: KubeClient, what: string): T {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        client.request(`${what}.${String(key)}`, () => value.apply(target, args));
    },
  });
}

/**
 * The main thread's Kubernetes client: generic objects as plain JSON through
 * `KubernetesObjectApi`, `/version` through `VersionApi`, leases through
 * `CoordinationV1Api`, events through `CoreV1Api`.
 *
 * @example
 * ```ts ignore
 * import { KubeClient } from "./client.ts";
 * const client = KubeClient.connect("kubeconfig");
 * console.log((await client.version.getCode()).gitVersion);
 * ```
 */
export class KubeClient {
  /** The loaded kubeconfig. */
  readonly config: KubeConfig;
  /** `/version`. */
  readonly version: VersionApi;
  /** `coordination.k8s.io/v1` (leases). */
  readonly coordination: CoordinationV1Api;
  /** Core v1 (events). */
  readonly core: CoreV1Api;
  /** The clock its requests hold. */
  readonly clock: Clock;
  #objects: PlainObjectApi;
  #proxy: ProxyApi;
  /** The in-process transport, if any (watch streams go through it too). */
  readonly transport: ((request: Request) => Promise<Response>) | undefined;
  #holds: RequestHolds;

  private constructor(
    config: KubeConfig,
    clock: Clock,
    options: KubeClientOptions,
  ) {
    this.config = config;
    this.clock = clock;
    this.transport = options.transport;
    this.#holds = new RequestHolds(clock);
    const make: MakeApi = apiMaker(config, options.transport, {
      clock,
      pause: () => this.#holds.pause(),
      ...(options.retry ? { policy: options.retry } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    this.version = tracked(make(VersionApi), this, "version");
    this.coordination = tracked(make(CoordinationV1Api), this, "coordination");
    this.core = tracked(make(CoreV1Api), this, "core");
    this.#objects = PlainObjectApi.create(config, make);
    this.#proxy = make(ProxyApi);
  }

  /**
   * Runs one request, holding the clock from now until it is answered; on a virtual clock
   * after every request made before it.
   *
   * @param what What it is, for the clock's list of holds.
   * @param send Sends it.
   * @returns Its answer.
   */
  request<T>(what: string, send: () => Promise<T>): Promise<T> {
    return this.#holds.run(what, send);
  }

  /**
   * Loads a kubeconfig file and selects a context.
   *
   * @param kubeconfigPath The kubeconfig file.
   * @param options The context to use.
   * @returns The client.
   * @throws {Error} When the file cannot be read or the context does not exist.
   */
  static connect(kubeconfigPath: string, options: KubeClientOptions = {}): KubeClient {
    const config = new KubeConfig();
    try {
      config.loadFromFile(kubeconfigPath);
    } catch (error) {
      throw new Error(
        `Cannot load kubeconfig "${kubeconfigPath}": ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    if (options.context !== undefined) {
      if (!config.getContextObject(options.context)) {
        const known = config.getContexts().map((c) => c.name).join(", ") || "none";
        throw new Error(
          `Cannot use context "${options.context}" of kubeconfig "${kubeconfigPath}": no such context: known contexts are ${known}`,
        );
      }
      config.setCurrentContext(options.context);
    }
    if (!config.getCurrentCluster()) {
      throw new Error(`Cannot use kubeconfig "${kubeconfigPath}": it names no current cluster`);
    }
    return new KubeClient(config, options.clock ?? realClock, options);
  }

  /**
   * A GET through the API server's proxy to a pod's or Service's port, e.g.
   * `/api/v1/namespaces/ns/pods/web-abc:8000/proxy/health`. Any HTTP status is returned,
   * not thrown; an unreachable API server throws.
   */
  async proxyGet(
    target: { namespace: string; kind: "pods" | "services"; name: string; port: number },
    path: string,
  ): Promise<ProxyResponse> {
    const clean = path.startsWith("/") ? path : `/${path}`;
    const where = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/${target.kind}/` +
      `${encodeURIComponent(target.name)}:${target.port}/proxy${clean}`;
    try {
      return await this.request("proxy", () => this.#proxy.get(where));
    } catch (error) {
      throw apiError(error, "reach", `${target.kind}/${target.name}:${target.port}${clean}`);
    }
  }

  /**
   * Whether a kind is namespaced (discovery, cached by the client); undefined when the
   * server does not serve that kind.
   */
  namespaced(kind: KindRef): Promise<boolean | undefined> {
    return this.request("discovery", () => this.#objects.namespaced(kind.apiVersion, kind.kind));
  }

  /** One object, or null when the API answers 404. */
  async get(kind: KindRef, namespace: string | null, name: string): Promise<KubeObject | null> {
    try {
      return await this.request(
        "get",
        () => this.#objects.send(HttpMethod.GET, spec(kind, namespace, name), "read"),
      ) as KubeObject;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return null;
      throw apiError(error, "get", describe(kind, namespace, name));
    }
  }

  /** The items of a list, each with its `apiVersion` and `kind` filled in. */
  async list(
    kind: KindRef,
    namespace: string | null,
    options: { labelSelector?: string | undefined; fieldSelector?: string | undefined } = {},
  ): Promise<KubeObject[]> {
    try {
      const list = await this.request(
        "list",
        () =>
          this.#objects.send(HttpMethod.GET, spec(kind, namespace, ""), "list", {
            query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
          }),
      ) as { items?: KubeObject[] };
      return (list.items ?? []).map((item) => ({
        ...item,
        apiVersion: kind.apiVersion,
        kind: kind.kind,
      }));
    } catch (error) {
      const where = namespace ? ` in namespace ${namespace}` : "";
      throw apiError(error, "list", `${kind.kind} objects${where}`);
    }
  }

  /** Server-side apply with {@linkcode FIELD_MANAGER}, forcing conflicts. */
  async apply(manifest: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const namespace = manifest.metadata.namespace ?? null;
    try {
      return await this.request(
        "apply",
        () =>
          this.#objects.send(HttpMethod.PATCH, manifest, "patch", {
            query: {
              fieldManager: FIELD_MANAGER,
              force: "true",
              dryRun: options.dryRun ? "All" : undefined,
            },
            body: JSON.stringify(manifest),
            contentType: PatchStrategy.ServerSideApply,
          }),
      ) as KubeObject;
    } catch (error) {
      throw apiError(error, "apply", describe(manifest, namespace, manifest.metadata.name));
    }
  }

  /** A merge, strategic merge or JSON patch, sent with its explicit `Content-Type`. */
  async patch(
    kind: KindRef,
    namespace: string | null,
    name: string,
    options: { patch: unknown; type: "merge" | "strategic" | "json"; dryRun?: boolean },
  ): Promise<KubeObject> {
    const contentType = PATCH_CONTENT_TYPES[options.type];
    if (contentType === undefined) {
      throw new TypeError(
        `Cannot patch ${
          describe(kind, namespace, name)
        }: unknown patch type "${options.type}": expected merge, strategic or json`,
      );
    }
    try {
      return await this.request(
        "patch",
        () =>
          this.#objects.send(HttpMethod.PATCH, spec(kind, namespace, name), "patch", {
            query: { fieldManager: FIELD_MANAGER, dryRun: options.dryRun ? "All" : undefined },
            body: JSON.stringify(options.patch),
            contentType,
          }),
      ) as KubeObject;
    } catch (error) {
      throw apiError(error, "patch", describe(kind, namespace, name));
    }
  }

  /** Creates an object (POST). */
  async create(manifest: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const namespace = manifest.metadata.namespace ?? null;
    try {
      return await this.request(
        "create",
        () =>
          this.#objects.send(HttpMethod.POST, manifest, "create", {
            query: { fieldManager: FIELD_MANAGER, dryRun: options.dryRun ? "All" : undefined },
            body: JSON.stringify(manifest),
          }),
      ) as KubeObject;
    } catch (error) {
      throw apiError(error, "create", describe(manifest, namespace, manifest.metadata.name));
    }
  }

  /** Deletes an object; false when it did not exist. */
  async delete(
    kind: KindRef,
    namespace: string | null,
    name: string,
    options: { dryRun?: boolean } = {},
  ): Promise<boolean> {
    try {
      await this.request(
        "delete",
        () =>
          this.#objects.send(HttpMethod.DELETE, spec(kind, namespace, name), "delete", {
            query: {
              dryRun: options.dryRun ? "All" : undefined,
              propagationPolicy: "Background",
            },
          }),
      );
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return false;
      throw apiError(error, "delete", describe(kind, namespace, name));
    }
  }
}

function spec(kind: KindRef, namespace: string | null, name: string): KubeObject {
  const metadata: KubeObject["metadata"] = { name };
  if (namespace) metadata.namespace = namespace;
  return { apiVersion: kind.apiVersion, kind: kind.kind, metadata };
}
