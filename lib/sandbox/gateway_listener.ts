/**
 * The sandbox's gateway controller: for each Gateway, the edge ({@linkcode GatewayEdge}) in
 * front of its Service — API keys read live from the Secrets it names, its rate limit, the
 * cluster's clock for the window — and a real TCP+TLS listener for its HTTPS listener, on the
 * namespace's loopback address ({@linkcode gatewayAddress}) and {@linkcode GATEWAY_PORT} (any
 * free port when that one is taken),
 * presenting the certificate of the Secret its `certificateRefs` name. Where it listens is
 * published on the Gateway (`status.addresses`, the listener's `port`), with `Accepted` and
 * `Programmed` conditions; a missing or unusable certificate leaves the listener
 * unprogrammed, saying why (`InvalidCertificateRef`).
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { GatewayEdge } from "./routes.ts";
import { GATEWAY_PORT, gatewayAddress } from "./gateway_address.ts";
import { GATEWAY_ANNOTATIONS, GATEWAYS } from "./gateway_seed.ts";
import { registerEdges } from "./gateway_registry.ts";
import { forwardRequest } from "./proxy.ts";

type JsonMap = Record<string, unknown>;
const SECRETS = findResource("", "v1", "secrets") as ResourceType;
const MANAGER = "gateway-controller";

/** What {@linkcode GatewayListeners} needs besides the API. */
export interface GatewayListenersOptions {
  /** The cluster's clock: the rate limit's window, and requests in flight are tracked on it. */
  readonly clock: Clock;
  /** The loopback port answering for a Service (one of its Ready pods), or undefined. */
  servicePort(namespace: string, service: string): number | undefined;
  /** The sandbox's scope for its gateway addresses (its state folder, absolute; default none). */
  readonly scope?: string;
}

interface Programmed {
  readonly service: string;
  readonly edge: GatewayEdge;
  /** The Secret of its certificate (a change to it reloads the listener). */
  readonly secret?: string | undefined;
  /** The port it listens on (kept when it reloads). */
  readonly port?: number | undefined;
  readonly close: () => Promise<void>;
}

function decode(value: unknown): string {
  if (typeof value !== "string") return "";
  const bin = atob(value);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * Programs every Gateway of the store (and those created later): its edge, registered for
 * the API server's service proxy, and its TLS listener.
 *
 * @example
 * ```ts ignore
 * import { GatewayListeners } from "./gateway_listener.ts";
 * const gateways = new GatewayListeners(api, { clock, servicePort: (ns, s) => undefined });
 * gateways.start();
 * await gateways.stop();
 * ```
 */
export class GatewayListeners {
  #api: Api;
  #options: GatewayListenersOptions;
  #programmed = new Map<string, Programmed>();
  #unsubscribe: (() => void) | undefined;

  /**
   * @param api The sandbox's API.
   * @param options The clock, and where a Service's pods answer.
   */
  constructor(api: Api, options: GatewayListenersOptions) {
    this.#api = api;
    this.#options = options;
  }

  /** Programs the Gateways there are, then those created later; registers the edges. */
  start(): void {
    registerEdges(this.#api, (ns, service) => this.edgeFor(ns, service));
    this.#unsubscribe = this.#api.store.subscribe((change) => {
      if (change.resource === SECRETS) return this.#secretChanged(change.object);
      if (change.resource.plural !== GATEWAYS.plural || change.resource.group !== GATEWAYS.group) {
        return;
      }
      const key = `${meta(change.object).namespace}/${meta(change.object).name}`;
      if (change.type === "ADDED") this.#program(change.object);
      if (change.type === "DELETED") {
        const was = this.#programmed.get(key);
        this.#programmed.delete(key);
        void was?.close();
      }
    });
    for (const gateway of this.#api.store.scan(GATEWAYS)) this.#program(gateway);
  }

  #reloading: Promise<void> = Promise.resolve();

  /** A certificate's Secret changed: its listeners serve the new one, on the same port. */
  #secretChanged(secret: KObject): void {
    const m = meta(secret);
    for (const [key, p] of this.#programmed) {
      if (!key.startsWith(`${m.namespace}/`) || p.secret !== m.name) continue;
      this.#reloading = this.#reloading.then(async () => {
        if (this.#programmed.get(key) !== p) return;
        await p.close();
        const [ns = "", name = ""] = key.split("/");
        const gateway = this.#api.store.peek(GATEWAYS, ns, name);
        if (gateway && this.#programmed.get(key) === p) {
          this.#programmed.set(key, this.#listen(gateway, { edge: p.edge, port: p.port }));
        }
      }).catch(() => {});
    }
  }

  /** Waits for the listeners' reloads after a certificate change (for tests). */
  reloaded(): Promise<void> {
    return this.#reloading;
  }

  /**
   * The edge in front of a Service, if a Gateway fronts it.
   *
   * @param namespace The namespace.
   * @param service The Service.
   * @returns The edge, or undefined.
   */
  edgeFor(namespace: string, service: string): GatewayEdge | undefined {
    for (const [key, p] of this.#programmed) {
      if (key.startsWith(`${namespace}/`) && p.service === service) return p.edge;
    }
    return undefined;
  }

  /** Closes every listener and unregisters the edges. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    registerEdges(this.#api, undefined);
    const all = [...this.#programmed.values()];
    this.#programmed.clear();
    await Promise.all(all.map((p) => p.close()));
  }

  #program(gateway: KObject): void {
    const m = meta(gateway);
    const key = `${m.namespace}/${m.name}`;
    if (!this.#programmed.has(key)) this.#programmed.set(key, this.#listen(gateway));
  }

  #edge(namespace: string, annotations: JsonMap): GatewayEdge {
    const secrets = String(annotations[GATEWAY_ANNOTATIONS.apiKeySecrets] ?? "")
      .split(",").map((s) => s.trim()).filter((s) => s !== "");
    const limit = Number(annotations[GATEWAY_ANNOTATIONS.rateLimit] ?? "") || undefined;
    return new GatewayEdge({
      // Live: a rotated key is refused (and its successor accepted) at once.
      apiKeys: () =>
        secrets.flatMap((name) => {
          const secret = this.#api.store.peek(SECRETS, namespace, name);
          return Object.values((secret?.data ?? {}) as JsonMap).map(decode).filter((v) => v);
        }),
      now: () => this.#options.clock.now(),
      ...(limit ? { limit } : {}),
    });
  }

  #listen(
    gateway: KObject,
    previous: { edge?: GatewayEdge; port?: number | undefined } = {},
  ): Programmed {
    const m = meta(gateway);
    const namespace = String(m.namespace);
    const annotations = (m.annotations ?? {}) as JsonMap;
    const service = String(annotations[GATEWAY_ANNOTATIONS.service] ?? "");
    const edge = previous.edge ?? this.#edge(namespace, annotations);
    const spec = (gateway.spec ?? {}) as JsonMap;
    const listeners = (spec.listeners ?? []) as JsonMap[];
    const https = listeners.findIndex((l) => l.protocol === "HTTPS");
    const listener = listeners[https];
    const tls = (listener?.tls ?? {}) as JsonMap;
    const ref = ((tls.certificateRefs ?? []) as JsonMap[])[0];
    const secret = ref ? this.#api.store.peek(SECRETS, namespace, String(ref.name)) : undefined;
    const data = (secret?.data ?? {}) as JsonMap;
    const cert = decode(data["tls.crt"]);
    const key = decode(data["tls.key"]);
    const closed = { secret: ref ? String(ref.name) : undefined, close: () => Promise.resolve() };
    if (!listener) return { service, edge, ...closed };
    if (!cert || !key) {
      const what = ref ? `Secret ${namespace}/${ref.name}` : "no certificateRefs";
      this.#publish(gateway, https, undefined, {
        reason: "InvalidCertificateRef",
        message: `${what} holds no tls.crt and tls.key: the listener cannot serve TLS`,
      });
      return { service, edge, ...closed };
    }
    const hostname = gatewayAddress(namespace, this.#options.scope);
    const closing = new AbortController();
    let server: Deno.HttpServer<Deno.NetAddr>;
    const serve = (port: number) =>
      Deno.serve({
        hostname,
        port,
        cert,
        key,
        signal: closing.signal,
        onListen: () => {},
        onError: (error) => json(502, { error: `the gateway failed: ${String(error)}` }),
      }, (request, info) => this.#answer(request, info, { namespace, service, edge, listener }));
    try {
      try {
        server = serve(previous.port ?? GATEWAY_PORT);
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
        server = serve(0);
      }
    } catch (error) {
      this.#publish(gateway, https, undefined, {
        reason: "Invalid",
        message: `cannot listen on ${hostname} with ${ref?.name}'s certificate: ${
          (error as Error).message
        }`,
      });
      return { service, edge, ...closed };
    }
    this.#publish(gateway, https, { address: hostname, port: server.addr.port });
    return {
      service,
      edge,
      secret: String(ref?.name),
      port: server.addr.port,
      close: async () => {
        closing.abort();
        await server.finished;
      },
    };
  }

  /** One request at the listener: the host must be the listener's; then the edge, the Service. */
  #answer(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    at: { namespace: string; service: string; edge: GatewayEdge; listener: JsonMap },
  ): Promise<Response> {
    const url = new URL(request.url);
    const host = at.listener.hostname;
    if (typeof host === "string" && url.hostname.toLowerCase() !== host.toLowerCase()) {
      return Promise.resolve(json(404, { error: `no route for host ${url.hostname}` }));
    }
    // The edge is the first hop: the client is the connection's peer, whatever it claims.
    const headers = new Headers(request.headers);
    headers.set("x-forwarded-for", info.remoteAddr.hostname);
    const inbound = new Request(request.url, {
      method: request.method,
      headers,
      ...(request.method === "GET" || request.method === "HEAD" ? {} : { body: request.body }),
    });
    const clock = this.#options.clock;
    return clock.track(
      "a request at the gateway",
      at.edge.handle(inbound, (req) => {
        const port = this.#options.servicePort(at.namespace, at.service);
        if (port === undefined) {
          return Promise.resolve(json(503, { error: `no healthy upstream for ${at.service}` }));
        }
        return forwardRequest(req, `http://127.0.0.1:${port}`, `${url.pathname}${url.search}`);
      }),
    );
  }

  /** Publishes where the listener is (or why it is not programmed) on the Gateway. */
  #publish(
    gateway: KObject,
    index: number,
    at: { address: string; port: number } | undefined,
    problem?: { reason: string; message: string },
  ): void {
    const m = meta(gateway);
    const namespace = String(m.namespace);
    const name = String(m.name);
    let current = this.#api.store.peek(GATEWAYS, namespace, name);
    if (!current) return;
    const listeners = ((current.spec as JsonMap).listeners ?? []) as JsonMap[];
    if (at && listeners[index] && listeners[index].port !== at.port) {
      const next = structuredClone(current);
      ((next.spec as JsonMap).listeners as JsonMap[])[index]!.port = at.port;
      current = this.#api.update(GATEWAYS, namespace, name, next, { manager: MANAGER });
    }
    const now = this.#api.now();
    const generation = meta(current).generation;
    const condition = (type: string, ok: boolean, reason: string, message: string) => ({
      type,
      status: ok ? "True" : "False",
      reason,
      message,
      observedGeneration: generation,
      lastTransitionTime: now,
    });
    const programmed = at
      ? condition("Programmed", true, "Programmed", `listening on ${at.address}:${at.port}`)
      : condition("Programmed", false, problem?.reason ?? "Invalid", problem?.message ?? "");
    const status = {
      ...(at ? { addresses: [{ type: "IPAddress", value: at.address }] } : {}),
      conditions: [condition("Accepted", true, "Accepted", "Gateway is accepted"), programmed],
      listeners: listeners.map((l, i) => ({
        name: l.name,
        supportedKinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }],
        attachedRoutes: 0,
        conditions: [
          condition("Accepted", true, "Accepted", "Listener is accepted"),
          i === index && !at
            ? condition("ResolvedRefs", false, problem?.reason ?? "Invalid", problem?.message ?? "")
            : condition("ResolvedRefs", true, "ResolvedRefs", "All references are resolved"),
          i === index ? programmed : condition("Programmed", false, "Invalid", "not served"),
        ],
      })),
    };
    const next = structuredClone(current);
    next.status = status;
    this.#api.update(GATEWAYS, namespace, name, next, { manager: MANAGER, subresource: "status" });
  }
}
