/**
 * How the Kubernetes client's API classes are built: over client-node's own HTTP library
 * (any cluster), or over a `transport` that hands each request to a sandbox in this
 * process. client-node still builds every request (path, query, headers, the kubeconfig's
 * credentials) and reads every answer; only the socket is left out.
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type ApiConstructor,
  type ApiType,
  createConfiguration,
  type KubeConfig,
  ResponseContext,
  ServerConfiguration,
  wrapHttpLibrary,
} from "@kubernetes/client-node";

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

/**
 * `kc.makeApiClient`, with `transport` as the HTTP library when one is given.
 *
 * @param kc The loaded kubeconfig (its current cluster and credentials).
 * @param transport Sends a request instead of HTTP (undefined: client-node's HTTP).
 * @returns What builds the API classes.
 *
 * @example
 * ```ts ignore
 * const make = apiMaker(kc, (request) => sandbox.handle(request));
 * const version = await make(VersionApi).getCode();
 * ```
 */
export function apiMaker(
  kc: KubeConfig,
  transport: ((request: Request) => Promise<Response>) | undefined,
): MakeApi {
  if (!transport) return (cls) => kc.makeApiClient(cls);
  const httpApi = wrapHttpLibrary({
    async send(request) {
      const body = request.getBody();
      const res = await transport(
        new Request(request.getUrl(), {
          method: request.getHttpMethod(),
          headers: request.getHeaders(),
          ...(body !== undefined ? { body: body as BodyInit } : {}),
        }),
      );
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => headers[name] = value);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return new ResponseContext(res.status, headers, {
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
      authMethods: { default: kc },
      httpApi,
    }));
}
