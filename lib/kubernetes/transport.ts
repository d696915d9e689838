/**
 * How the Kubernetes client's API classes are built: over client-node's own HTTP library
 * (any cluster), or over a `transport` that hands each request to a sandbox in this
 * process. client-node still builds every request (path, query, headers, the kubeconfig's
 * credentials) and reads every answer; only the socket is left out. Either way each request
 * goes through the retries of `retry.ts`.
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type ApiConstructor,
  type ApiType,
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
  ResponseContext,
  ServerConfiguration,
  setHeaderMiddleware,
  wrapHttpLibrary,
} from "@kubernetes/client-node";
import {
  type HttpAnswer,
  type HttpAttempt,
  type HttpSend,
  retrying,
  type RetryOptions,
} from "./retry.ts";
import { realClock } from "../clock/mod.ts";

/**
 * Builds one of client-node's API classes over a client's configuration.
 *
 * @example
 * ```ts ignore
 * const make: MakeApi = apiMaker(kc, undefined);
 * const core = make(CoreV1Api);
 * ```
 */
export type MakeApi = <T extends ApiType>(cls: ApiConstructor<T>) => T;

/** The User-Agent client-node's `makeApiClient` sends (in-process too). */
const USER_AGENT = "kubernetes-client-javascript/2.0.1";

async function answerOf(res: Response): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => headers[name] = value);
  return { status: res.status, headers, body: new Uint8Array(await res.arrayBuffer()) };
}

/** Sends through `transport` (a sandbox in this process). */
function transportSend(transport: (request: Request) => Promise<Response>): HttpSend {
  return async (a, signal) =>
    await answerOf(
      await transport(
        new Request(a.url, {
          method: a.method,
          // as over HTTP: a client names itself (the sandbox's api-chaos tells clients by it)
          headers: { "User-Agent": USER_AGENT, ...a.headers },
          signal,
          ...(a.body !== undefined ? { body: a.body } : {}),
        }),
      ),
    );
}

/** Sends through client-node's fetch (the kubeconfig's TLS and proxy settings included). */
function fetchSend(kc: KubeConfig): HttpSend {
  const library = new IsomorphicFetchHttpLibrary();
  return async (a, signal) => {
    const context = new RequestContext(a.url, a.method as never);
    for (const [k, v] of Object.entries(a.headers)) context.setHeaderParam(k, v);
    if (a.body !== undefined) context.setBody(a.body);
    await kc.applySecurityAuthentication(context);
    context.setSignal(signal);
    const res = await library.send(context).toPromise();
    return {
      status: res.httpStatusCode,
      headers: { ...res.headers },
      body: new TextEncoder().encode(await res.body.text()),
    };
  };
}

/**
 * `kc.makeApiClient`, with `transport` as the HTTP library when one is given, and every
 * request retried by `retry.ts` (on `options.clock`, default real time).
 *
 * @param kc The loaded kubeconfig (its current cluster and credentials).
 * @param transport Sends a request instead of HTTP (undefined: client-node's HTTP).
 * @param options The retries' clock, policy, hold release and callback.
 * @returns What builds the API classes.
 *
 * @example
 * ```ts ignore
 * const make = apiMaker(kc, (request) => sandbox.handle(request), { clock });
 * const version = await make(VersionApi).getCode();
 * ```
 */
export function apiMaker(
  kc: KubeConfig,
  transport: ((request: Request) => Promise<Response>) | undefined,
  options: Partial<RetryOptions> = {},
): MakeApi {
  const send = retrying(transport ? transportSend(transport) : fetchSend(kc), {
    ...options,
    clock: options.clock ?? realClock,
  });
  const httpApi = wrapHttpLibrary({
    async send(request) {
      const body = request.getBody();
      const attempt: HttpAttempt = {
        method: request.getHttpMethod(),
        url: request.getUrl(),
        headers: request.getHeaders(),
        ...(body !== undefined ? { body: String(body) } : {}),
      };
      const res = await send(attempt);
      const bytes = res.body;
      return new ResponseContext(res.status, res.headers, {
        text: () => Promise.resolve(new TextDecoder().decode(bytes)),
        binary: () => Promise.resolve(Buffer.from(bytes)),
        stream: () => null,
      });
    },
  });
  const server = kc.getCurrentCluster()!.server;
  return (cls) =>
    new cls(createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      // The credentials go on in fetchSend (a real cluster) or here (the transport).
      authMethods: transport ? { default: kc } : {},
      httpApi,
      ...(transport ? {} : { middleware: [setHeaderMiddleware("User-Agent", USER_AGENT)] }),
    }));
}
