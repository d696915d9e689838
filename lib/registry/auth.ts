/**
 * Registry credentials for the pushes and reads of `lib/companions/oci.ts` (SBOMs,
 * signatures, manifests): a `fetch` that answers the distribution spec's challenges — `401`
 * with `WWW-Authenticate: Basic` (a registry with htpasswd auth) is retried with the user and
 * password; `Bearer realm=...,service=...,scope=...` (ghcr.io, Docker Hub, a token server) gets
 * a token from the realm with them, cached per scope, and the request is retried with it. The
 * credentials come from a secret reference (`file:<path>`, `env:<NAME>`: the text
 * `<user>:<password>`) and are never part of an error or log line.
 * @module
 */

/** A user and password (or token as the password) for a registry. */
export interface RegistryCredentials {
  /** The user name. */
  readonly username: string;
  /** The password or access token: never logged. */
  readonly password: string;
}

/**
 * Reads `<user>:<password>` (the first colon splits).
 *
 * @param text The secret's text.
 * @param reference Where it came from, for the message (never the text).
 * @returns The credentials.
 * @throws {SyntaxError} When there is no `user:` prefix or no password.
 *
 * @example
 * ```ts
 * import { parseCredentials } from "./auth.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCredentials("ci:s3:cr3t\n", "env REG"), { username: "ci", password: "s3:cr3t" });
 * assert.throws(() => parseCredentials("nocolon", "env REG"), /env REG/);
 * ```
 */
export function parseCredentials(text: string, reference: string): RegistryCredentials {
  const value = text.replace(/\r?\n$/, "");
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new SyntaxError(
      `Cannot use the registry credentials (${reference}): expected <user>:<password>`,
    );
  }
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** One parameter list of a challenge: `Bearer realm="...",service="..."`. */
function challenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) {
    params[m[1]!.toLowerCase()] = m[2]!;
  }
  return { scheme, params };
}

function basic(c: RegistryCredentials): string {
  const bytes = new TextEncoder().encode(`${c.username}:${c.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * A `fetch` that authenticates to a registry as the distribution spec says. Request bodies
 * must be replayable (bytes or text, as `oci.ts` sends them).
 *
 * @param credentials The user and password.
 * @param base The fetch underneath (default the global one).
 * @returns The authenticating fetch.
 *
 * @example
 * ```ts
 * import { authorizingFetch } from "./auth.ts";
 * import assert from "node:assert/strict";
 * const seen: (string | null)[] = [];
 * const base = ((_u: string, init?: RequestInit) => {
 *   const auth = new Headers(init?.headers).get("authorization");
 *   seen.push(auth);
 *   return Promise.resolve(new Response(null, auth ? { status: 200 } : {
 *     status: 401, headers: { "www-authenticate": 'Basic realm="r"' },
 *   }));
 * }) as typeof fetch;
 * const f = authorizingFetch({ username: "u", password: "p" }, base);
 * assert.equal((await f("http://r/v2/")).status, 200);
 * assert.deepEqual(seen, [null, "Basic dTpw"]);
 * ```
 */
export function authorizingFetch(
  credentials: RegistryCredentials,
  base: typeof fetch = fetch,
): typeof fetch {
  let scheme: "basic" | "bearer" | undefined;
  const tokens = new Map<string, string>();
  let lastToken: string | undefined;
  const withAuth = (init: RequestInit | undefined, value: string | undefined): RequestInit => {
    const headers = new Headers(init?.headers);
    if (value !== undefined) headers.set("authorization", value);
    return { ...init, headers };
  };
  const token = async (params: Record<string, string>, signal: AbortSignal | null) => {
    const key = `${params.realm} ${params.service ?? ""} ${params.scope ?? ""}`;
    const cached = tokens.get(key);
    if (cached) return cached;
    const url = new URL(params.realm!);
    if (params.service) url.searchParams.set("service", params.service);
    if (params.scope) url.searchParams.set("scope", params.scope);
    const res = await base(url, { headers: { authorization: basic(credentials) }, signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(
        `The registry's token server ${url.host} refused the credentials (HTTP ${res.status})`,
      );
    }
    const doc = await res.json() as { token?: string; access_token?: string };
    const got = doc.token ?? doc.access_token;
    if (!got) throw new Error(`The registry's token server ${url.host} sent no token`);
    tokens.set(key, got);
    return got;
  };
  const authed: typeof fetch = async (input, init) => {
    const signal = init?.signal ?? null;
    const first = scheme === "basic"
      ? basic(credentials)
      : scheme === "bearer" && lastToken
      ? `Bearer ${lastToken}`
      : undefined;
    const res = await base(input, withAuth(init, first));
    if (res.status !== 401) return res;
    const header = res.headers.get("www-authenticate");
    await res.body?.cancel();
    if (!header) return new Response(null, { status: 401, statusText: "Unauthorized" });
    const c = challenge(header);
    if (c.scheme === "basic") {
      scheme = "basic";
      return await base(input, withAuth(init, basic(credentials)));
    }
    if (c.scheme === "bearer" && c.params.realm) {
      scheme = "bearer";
      lastToken = await token(c.params, signal);
      return await base(input, withAuth(init, `Bearer ${lastToken}`));
    }
    return new Response(null, { status: 401, statusText: `Unsupported challenge ${c.scheme}` });
  };
  return authed;
}

/**
 * A container auth file (`auth.json`, what `buildah --authfile` reads) for one registry.
 *
 * @param host `host:port`.
 * @param credentials The user and password.
 * @returns The file's JSON text (write it with mode 0600).
 *
 * @example
 * ```ts
 * import { authFile } from "./auth.ts";
 * import assert from "node:assert/strict";
 * assert.equal(JSON.parse(authFile("r:5000", { username: "u", password: "p" })).auths["r:5000"].auth, "dTpw");
 * ```
 */
export function authFile(host: string, credentials: RegistryCredentials): string {
  const auth = basic(credentials).slice("Basic ".length);
  return `${JSON.stringify({ auths: { [host]: { auth } } })}\n`;
}
