/**
 * The dashboard's access rule: every request carries the token the dashboard printed at
 * start, or it gets 401 (no page, no stream, no decision). The token comes as `?token=` once
 * (the dashboard then sets it as an HttpOnly, SameSite=Strict cookie and redirects to the
 * address without it), as that cookie, or as `Authorization: Bearer <token>`. A request that
 * changes something (any method but GET/HEAD) needs more than the cookie a browser attaches
 * by itself: the bearer token, or the page's anti-forgery header (an HMAC of the token that
 * only the dashboard's own pages carry); and an `Origin`, when sent, must be the dashboard's.
 * A `Host` other than the dashboard's own loopback address is refused (a DNS-rebinding page
 * cannot reach it under another name). Tokens are compared in constant time.
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The header the dashboard's pages send their anti-forgery value in. */
export const CSRF_HEADER = "x-dashboard-csrf";

/**
 * A new token: 32 bytes from WebCrypto's random source, base64url (43 characters).
 *
 * @returns The token.
 *
 * @example
 * ```ts
 * import { generateToken } from "./auth.ts";
 * const a = generateToken();
 * console.assert(/^[A-Za-z0-9_-]{43}$/.test(a) && a !== generateToken());
 * ```
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * Whether two secrets are equal, in time that depends on neither (both are hashed to 32
 * bytes first, so not even their lengths show).
 *
 * @param given What the request carried.
 * @param expected The secret.
 * @returns Whether they are equal.
 *
 * @example
 * ```ts
 * import { secretsEqual } from "./auth.ts";
 * console.assert(secretsEqual("abc", "abc") && !secretsEqual("abd", "abc") && !secretsEqual("", "abc"));
 * ```
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The anti-forgery value the dashboard's pages send with a decision: an HMAC-SHA256 of the
 * token (it does not reveal the token, and alone it opens nothing).
 *
 * @param token The dashboard's token.
 * @returns The value, base64url.
 *
 * @example
 * ```ts
 * import { csrfValue } from "./auth.ts";
 * console.assert(csrfValue("t") === csrfValue("t") && csrfValue("t") !== csrfValue("u"));
 * ```
 */
export function csrfValue(token: string): string {
  return createHmac("sha256", token).update("dashboard decision").digest("base64url");
}

/**
 * The name of the token's cookie for the dashboard on `port` (a browser shares cookies
 * between the ports of one host: two dashboards must not overwrite each other's).
 *
 * @param port The dashboard's port.
 * @returns The cookie's name.
 *
 * @example
 * ```ts
 * import { cookieName } from "./auth.ts";
 * console.assert(cookieName(8080) === "dashboard_token_8080");
 * ```
 */
export function cookieName(port: number): string {
  return `dashboard_token_${port}`;
}

/**
 * What {@linkcode authorize} decided: allowed (and how the token came), or refused with the
 * status to answer and why.
 *
 * @example
 * ```ts
 * import type { AuthResult } from "./auth.ts";
 * const r: AuthResult = { ok: false, status: 401, reason: "no token" };
 * console.assert(!r.ok);
 * ```
 */
export type AuthResult =
  | { readonly ok: true; readonly via: "query" | "cookie" | "bearer" }
  | { readonly ok: false; readonly status: 401 | 403 | 421; readonly reason: string };

/**
 * What {@linkcode authorize} checks a request against.
 *
 * @example
 * ```ts
 * import type { AuthOptions } from "./auth.ts";
 * const o: AuthOptions = { token: "t", port: 8080 };
 * console.assert(o.port === 8080);
 * ```
 */
export interface AuthOptions {
  /** The dashboard's token. */
  readonly token: string;
  /** The port it listens on (127.0.0.1 only). */
  readonly port: number;
}

function cookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Decides whether a request may be answered: its `Host` is the dashboard's own address
 * (else 421), it carries the token as a bearer, a cookie or `?token=` (none, or a wrong one:
 * 401), and a request that is not GET/HEAD carries the bearer token or the anti-forgery
 * header and comes from no other origin (else 403).
 *
 * @param req The request.
 * @param o The token and the port.
 * @returns Allowed, or the status and reason to refuse with.
 *
 * @example
 * ```ts
 * import { authorize } from "./auth.ts";
 * const o = { token: "secret", port: 8080 };
 * const ok = authorize(new Request("http://127.0.0.1:8080/", {
 *   headers: { authorization: "Bearer secret" },
 * }), o);
 * const none = authorize(new Request("http://127.0.0.1:8080/"), o);
 * console.assert(ok.ok && !none.ok && none.status === 401);
 * ```
 */
export function authorize(req: Request, o: AuthOptions): AuthResult {
  const host = req.headers.get("host") ?? new URL(req.url).host;
  if (host !== `127.0.0.1:${o.port}` && host !== `localhost:${o.port}`) {
    return { ok: false, status: 421, reason: `host "${host}" is not this dashboard's` };
  }
  const auth = req.headers.get("authorization");
  const bearer = auth?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const cookie = cookies(req.headers.get("cookie")).get(cookieName(o.port));
  const query = new URL(req.url).searchParams.get("token") ?? undefined;
  const offered: [AuthResult & { ok: true }, string | undefined][] = [
    [{ ok: true, via: "bearer" }, auth === null ? undefined : bearer ?? ""],
    [{ ok: true, via: "query" }, query],
    [{ ok: true, via: "cookie" }, cookie],
  ];
  const given = offered.filter(([, v]) => v !== undefined) as [AuthResult & { ok: true }, string][];
  if (given.length === 0) return { ok: false, status: 401, reason: "no token" };
  // Every token offered must be the right one (a wrong bearer is not rescued by a cookie).
  const allRight = given.map(([, v]) => secretsEqual(v, o.token)).every(Boolean);
  if (!allRight) return { ok: false, status: 401, reason: "wrong token" };
  const via = given[0]![0];
  if (req.method === "GET" || req.method === "HEAD") return via;
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== `http://${host}`) {
    return { ok: false, status: 403, reason: `origin "${origin}" is not this dashboard's` };
  }
  const csrf = req.headers.get(CSRF_HEADER);
  if (via.via !== "bearer" && !(csrf !== null && secretsEqual(csrf, csrfValue(o.token)))) {
    return {
      ok: false,
      status: 403,
      reason:
        `a ${req.method} needs the token in a header (Authorization: Bearer or the page's ${CSRF_HEADER})`,
    };
  }
  return via;
}

/**
 * The `Set-Cookie` value that keeps the token in the browser: HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it), for the whole dashboard.
 *
 * @param o The token and the port.
 * @returns The header's value.
 *
 * @example
 * ```ts
 * import { tokenCookie } from "./auth.ts";
 * const c = tokenCookie({ token: "t", port: 1 });
 * console.assert(c === "dashboard_token_1=t; HttpOnly; SameSite=Strict; Path=/");
 * ```
 */
export function tokenCookie(o: AuthOptions): string {
  return `${cookieName(o.port)}=${o.token}; HttpOnly; SameSite=Strict; Path=/`;
}
