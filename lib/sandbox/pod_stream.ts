/**
 * The streaming pod subresources — `exec`, `attach`, `portforward` — answered over
 * WebSocket (`Deno.upgradeWebSocket` on the API server's own request): the pod is checked as
 * kube-apiserver checks it (404 for a missing pod, 400 for a container it does not have or a
 * pod that is not running), then the session is served by the simulated pod.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { ApiError } from "./errors.ts";
import { meta } from "./store.ts";
import { resolveContainerEnv } from "./pod_config.ts";
import { type CommandContext, runPodCommand } from "./pod_command.ts";
import {
  ChannelSession,
  chooseProtocol,
  EXEC_PROTOCOLS,
  upgradeWith,
} from "./pod_stream_channel.ts";
import { portForwardResponse } from "./pod_stream_portforward.ts";

type JsonMap = Record<string, unknown>;

/**
 * The path of a streaming subresource: namespace, pod, subresource.
 *
 * @example
 * ```ts
 * import { POD_STREAM_PATH } from "./pod_stream.ts";
 * console.assert(POD_STREAM_PATH.test("/api/v1/namespaces/shop/pods/web-1/exec"));
 * ```
 */
export const POD_STREAM_PATH =
  /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/;

/**
 * What the streams need from the sandbox.
 *
 * @example
 * ```ts ignore
 * import type { PodStreamOptions } from "./pod_stream.ts";
 * const options: PodStreamOptions = { api, proxyPort: () => undefined, open: new Set() };
 * ```
 */
export interface PodStreamOptions {
  /** The API. */
  api: Api;
  /** The loopback port answering a pod or a Service (one of its Ready pods). */
  proxyPort(
    namespace: string,
    target: { kind: "pods" | "services"; name: string },
  ): number | undefined;
  /** Open sessions, closed when the sandbox stops. */
  open: Set<() => void>;
  /** An attach to a pod that runs a command: its output as it comes, and its exit code. */
  attach?(
    pod: KObject,
  ):
    | { output: AsyncIterable<{ stdout?: Uint8Array; stderr?: string }>; exitCode: Promise<number> }
    | undefined;
}

/** The ports a container declares (8000 when it declares none, the sandbox's default). */
function containerPorts(container: JsonMap | undefined): number[] {
  const ports = ((container?.ports ?? []) as JsonMap[]).map((p) => Number(p.containerPort));
  return ports.length > 0 ? ports : [8000];
}

/**
 * How a name resolves from inside a pod in `namespace`: `localhost`, the pod's name or IP on
 * one of its ports → its own server; `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc[.cluster.local]`
 * on one of the Service's ports → one of its ready pods.
 *
 * @param options The API, the proxy hook, and the pod.
 * @returns The resolver a {@linkcode CommandContext} takes.
 *
 * @example
 * ```ts ignore
 * import { podResolver } from "./pod_stream.ts";
 * const resolve = podResolver({ api, proxyPort, pod });
 * resolve("shop-blue.shop.svc.cluster.local", 8000); // a loopback port
 * ```
 */
export function podResolver(options: {
  api: Api;
  proxyPort: PodStreamOptions["proxyPort"];
  pod: KObject;
}): CommandContext["resolve"] {
  const { api, pod } = options;
  const m = meta(pod);
  const namespace = String(m.namespace);
  const containers = ((pod.spec as JsonMap).containers ?? []) as JsonMap[];
  const own = new Set(containers.flatMap((c) => containerPorts(c)));
  const podIP = String(((pod.status ?? {}) as JsonMap).podIP ?? "");
  const services = findResource("", "v1", "services") as ResourceType;
  return (host, port) => {
    if (host === "localhost" || host === "127.0.0.1" || host === String(m.name) || host === podIP) {
      if (!own.has(port)) return "refused";
      return options.proxyPort(namespace, { kind: "pods", name: String(m.name) }) ?? "refused";
    }
    const parts = host.replace(/\.$/, "").split(".");
    const [name = "", ns = namespace, ...rest] = parts;
    const suffix = rest.join(".");
    if (parts.length > 2 && suffix !== "svc" && suffix !== "svc.cluster.local") return "unknown";
    const svc = api.store.peek(services, ns, name);
    if (!svc) return "unknown";
    const ports = (((svc.spec ?? {}) as JsonMap).ports ?? []) as JsonMap[];
    if (!ports.some((p) => Number(p.port) === port)) return "refused";
    return options.proxyPort(ns, { kind: "services", name }) ?? "refused";
  };
}

function container(pod: KObject, name: string | null): JsonMap {
  const containers = ((pod.spec as JsonMap).containers ?? []) as JsonMap[];
  if (name === null || name === "") return containers[0] ?? {};
  const found = containers.find((c) => c.name === name);
  if (!found) {
    throw ApiError.badRequest(`container ${name} is not valid for pod ${meta(pod).name}`);
  }
  return found;
}

function requireRunning(pod: KObject, verb: string): void {
  const status = (pod.status ?? {}) as JsonMap;
  const phase = String(status.phase ?? "Pending");
  if (phase === "Succeeded" || phase === "Failed") {
    throw ApiError.badRequest(
      `cannot ${verb} into a container in a completed pod; current phase is ${phase}`,
    );
  }
  if (phase !== "Running") {
    const first = ((status.containerStatuses ?? []) as JsonMap[])[0];
    const waiting = ((first?.state ?? {}) as JsonMap).waiting as JsonMap | undefined;
    throw ApiError.badRequest(
      `container "${String(first?.name ?? "app")}" in pod "${
        meta(pod).name
      }" is waiting to start: ${String(waiting?.reason ?? "ContainerCreating")}`,
    );
  }
}

function upgradeRequired(): never {
  throw ApiError.badRequest(
    "the sandbox streams exec, attach and port-forward over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io); SPDY upgrades are not served",
  );
}

/**
 * A container's environment as the kubelet resolved it (Secrets decoded), or none when it
 * does not resolve.
 *
 * @param api The API (its store is read).
 * @param pod The pod.
 * @param c The container spec.
 * @returns Name → value.
 *
 * @example
 * ```ts ignore
 * import { podEnv } from "./pod_stream.ts";
 * const env = podEnv(api, pod, pod.spec.containers[0]);
 * ```
 */
export function podEnv(
  api: Api,
  pod: KObject,
  c: Record<string, unknown>,
): Record<string, string> {
  const secrets = findResource("", "v1", "secrets") as ResourceType;
  const configMaps = findResource("", "v1", "configmaps") as ResourceType;
  const resolved = resolveContainerEnv(String(meta(pod).namespace), c, {
    secret: (ns, name) => {
      const data = api.store.peek(secrets, ns, name)?.data as Record<string, string> | undefined;
      if (!data) return undefined;
      return Object.fromEntries(
        Object.entries(data).map((
          [k, v],
        ) => [k, new TextDecoder().decode(Uint8Array.from(atob(v), (ch) => ch.charCodeAt(0)))]),
      );
    },
    configMap: (ns, name) =>
      api.store.peek(configMaps, ns, name)?.data as Record<string, string> | undefined,
  });
  return "error" in resolved ? {} : { ...resolved.env };
}

/**
 * Answers `exec`, `attach` or `portforward` of a pod: the API server's error for a missing
 * or not-running pod or an unknown container, else the WebSocket upgrade and the session.
 *
 * @param request The original request.
 * @param match The {@linkcode POD_STREAM_PATH} match.
 * @param options The sandbox's parts.
 * @returns The 101 answer.
 * @throws {ApiError} 404, 400.
 *
 * @example
 * ```ts ignore
 * import { POD_STREAM_PATH, podStreamResponse } from "./pod_stream.ts";
 * const match = new URL(request.url).pathname.match(POD_STREAM_PATH);
 * if (match) return podStreamResponse(request, match, { api, proxyPort, open });
 * ```
 */
export function podStreamResponse(
  request: Request,
  match: RegExpMatchArray,
  options: PodStreamOptions,
): Response {
  const [, namespace = "", name = "", verb = "exec"] = match;
  const params = new URL(request.url).searchParams;
  const pods = findResource("", "v1", "pods") as ResourceType;
  const pod = options.api.get(pods, namespace, decodeURIComponent(name));
  const isWebSocket = (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
  let c: JsonMap;
  try {
    c = container(pod, params.get("container"));
    requireRunning(pod, verb === "portforward" ? "forward ports" : verb);
  } catch (error) {
    // kubectl falls back to SPDY on any failed WebSocket handshake, and Deno answers that
    // SPDY request without the body: the reason would be lost ("Error from server: ").
    // So a WebSocket exec/attach is upgraded and told on its error channel, as a Status.
    const protocol = chooseProtocol(request.headers.get("sec-websocket-protocol"), EXEC_PROTOCOLS);
    if (!(error instanceof ApiError) || verb === "portforward" || !isWebSocket || !protocol) {
      throw error;
    }
    const { socket, response } = upgradeWith(request, protocol);
    const session = new ChannelSession(socket, protocol);
    socket.addEventListener("open", () => void session.fail(error.toStatus()));
    return response;
  }
  if (!isWebSocket) upgradeRequired();
  if (verb === "portforward") {
    const declared = new Set(containerPorts(c));
    const answer = portForwardResponse(request, {
      pod: `${namespace}/${meta(pod).name}`,
      ports: params.getAll("ports").flatMap((p) => p.split(",")).map(Number),
      open: options.open,
      target: (port) =>
        declared.has(port)
          ? options.proxyPort(namespace, { kind: "pods", name: String(meta(pod).name) })
          : undefined,
    });
    return answer ?? upgradeRequired();
  }
  const protocol = chooseProtocol(request.headers.get("sec-websocket-protocol"), EXEC_PROTOCOLS);
  if (!protocol) upgradeRequired();
  const argv = params.getAll("command");
  const { socket, response } = upgradeWith(request, protocol);
  const session = new ChannelSession(socket, protocol);
  const close = () => session.close();
  options.open.add(close);
  socket.addEventListener("open", async () => {
    try {
      await session.ready();
      if (verb === "attach") {
        const attached = options.attach?.(pod);
        if (!attached) return; // a server's container writes nothing to an attach
        for await (const part of attached.output) {
          if (part.stdout) session.send(1, part.stdout);
          if (part.stderr) session.send(2, part.stderr);
        }
        // The attach itself succeeded: the exit code is the container's (its terminated
        // state), which kubectl run reads from the pod.
        await attached.exitCode;
        await session.finish(0, argv);
        return;
      }
      const ctx: CommandContext = {
        hostname: String(meta(pod).name),
        namespace,
        podIP: String(((pod.status ?? {}) as JsonMap).podIP ?? ""),
        env: podEnv(options.api, pod, c),
        resolve: podResolver({ api: options.api, proxyPort: options.proxyPort, pod }),
        ...(params.get("stdin") === "true" || params.get("stdin") === "1"
          ? { stdin: () => session.readStdin() }
          : {}),
      };
      const result = await runPodCommand(argv, ctx);
      session.send(1, result.stdout);
      session.send(2, result.stderr);
      await session.finish(result.exitCode, argv);
    } finally {
      options.open.delete(close);
    }
  });
  return response;
}
