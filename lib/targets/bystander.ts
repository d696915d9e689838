/**
 * Reading a sandbox's API as a bystander — a simulation's observer, the cluster history a
 * rehearsal writes before its deploy: in this process and never faulted by `api-chaos`
 * when the sandbox runs here (`Sandbox.inspect`), over HTTP otherwise.
 * @module
 */

/**
 * A rehearsal's `SandboxAccess.fetch`: each request to `url` with the token, answered by
 * `inspect` (a sandbox in this process, unfaulted) or else over HTTP (`fetch` as it is when
 * called).
 *
 * @param url The API server's URL.
 * @param token Its bearer token.
 * @param inspect `Sandbox.inspect` of a sandbox in this process.
 * @returns The read function.
 *
 * @example
 * ```ts ignore
 * const read = bystanderFetch(sandbox.url, token);
 * const services = await (await read("/api/v1/namespaces/default/services")).json();
 * ```
 */
export function bystanderFetch(
  url: string,
  token: string,
  inspect?: ((request: Request) => Promise<Response>) | undefined,
): (path: string, init?: RequestInit) => Promise<Response> {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const at = `${url}${path}`;
    return inspect
      ? inspect(new Request(at, { ...init, headers }))
      : fetch(at, { ...init, headers });
  };
}
