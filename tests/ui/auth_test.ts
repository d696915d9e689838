// The dashboard's access rule, request by request: no token, a wrong one (of any length), the
// right one as a query (once), a cookie (only this port's) or a bearer; a wrong bearer not
// rescued by a right cookie; a POST with the cookie alone, from another origin, or with a
// forged header refused; a Host other than the dashboard's own loopback address refused.
import assert from "node:assert/strict";
import {
  authorize,
  cookieName,
  CSRF_HEADER,
  csrfValue,
  generateToken,
  secretsEqual,
  tokenCookie,
} from "../../lib/ui/mod.ts";

const token = generateToken();
const o = { token, port: 4711 };
const base = "http://127.0.0.1:4711";

function req(path: string, init: RequestInit & { host?: string } = {}): Request {
  const headers = new Headers(init.headers);
  if (init.host) headers.set("host", init.host);
  return new Request(`${base}${path}`, { ...init, headers });
}

function refused(r: ReturnType<typeof authorize>, status: number, reason: RegExp) {
  assert.equal(r.ok, false, JSON.stringify(r));
  if (r.ok) return;
  assert.equal(r.status, status);
  assert.match(r.reason, reason);
}

Deno.test("generateToken() is 32 random bytes, base64url, different each time", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const t = generateToken();
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    seen.add(t);
  }
  assert.equal(seen.size, 100);
});

Deno.test("secretsEqual() tells equal from unequal of every length", () => {
  assert.equal(secretsEqual(token, token), true);
  assert.equal(secretsEqual(token.slice(0, -1), token), false);
  assert.equal(secretsEqual(`${token}x`, token), false);
  assert.equal(secretsEqual("", token), false);
  assert.equal(secretsEqual(token.toUpperCase(), token), token === token.toUpperCase());
});

Deno.test("authorize() refuses a request without a token or with a wrong one: 401", () => {
  refused(authorize(req("/"), o), 401, /no token/);
  refused(authorize(req("/runs/r1/events"), o), 401, /no token/);
  refused(authorize(req("/?token="), o), 401, /wrong token/);
  refused(authorize(req(`/?token=${token}x`), o), 401, /wrong token/);
  refused(
    authorize(req("/", { headers: { authorization: `Bearer ${token.slice(1)}` } }), o),
    401,
    /wrong/,
  );
  refused(
    authorize(req("/", { headers: { authorization: `Basic ${btoa(`u:${token}`)}` } }), o),
    401,
    /wrong/,
  );
  refused(
    authorize(req("/", { headers: { cookie: `${cookieName(4711)}=nope` } }), o),
    401,
    /wrong/,
  );
  // Another dashboard's cookie (same host, other port) is not this one's token.
  refused(
    authorize(req("/", { headers: { cookie: `${cookieName(4712)}=${token}` } }), o),
    401,
    /no token/,
  );
  // A wrong bearer is not rescued by a right cookie, nor a wrong query by a right bearer.
  refused(
    authorize(
      req("/", {
        headers: { authorization: "Bearer nope", cookie: `${cookieName(4711)}=${token}` },
      }),
      o,
    ),
    401,
    /wrong/,
  );
  refused(
    authorize(req("/?token=nope", { headers: { authorization: `Bearer ${token}` } }), o),
    401,
    /wrong/,
  );
  refused(authorize(req("/runs/r1/decision", { method: "POST" }), o), 401, /no token/);
});

Deno.test("authorize() lets the token in as a query, a cookie or a bearer", () => {
  assert.deepEqual(authorize(req(`/?token=${token}`), o), { ok: true, via: "query" });
  assert.deepEqual(
    authorize(req("/", { headers: { cookie: `a=b; ${cookieName(4711)}=${token}; c=d` } }), o),
    { ok: true, via: "cookie" },
  );
  assert.deepEqual(
    authorize(req("/runs/r1/events", { headers: { authorization: `Bearer ${token}` } }), o),
    { ok: true, via: "bearer" },
  );
  assert.deepEqual(
    authorize(
      req("/", { host: `localhost:4711`, headers: { authorization: `bearer ${token}` } }),
      o,
    ),
    {
      ok: true,
      via: "bearer",
    },
  );
});

Deno.test("authorize() refuses a Host that is not the dashboard's loopback address: 421", () => {
  const bearer = { authorization: `Bearer ${token}` };
  for (
    const host of ["evil.example:4711", "127.0.0.1:80", "127.0.0.1", "0.0.0.0:4711", "[::1]:4711"]
  ) {
    refused(authorize(req("/", { host, headers: bearer }), o), 421, /not this dashboard's/);
  }
  // Checked before the token: a rebinding page learns nothing, not even 401.
  refused(authorize(req("/", { host: "evil.example:4711" }), o), 421, /host/);
});

Deno.test("authorize() wants a POST's token in a header, not only in the cookie: 403", () => {
  const cookie = `${cookieName(4711)}=${token}`;
  refused(
    authorize(req("/runs/r1/decision", { method: "POST", headers: { cookie } }), o),
    403,
    /header/,
  );
  refused(
    authorize(
      req("/runs/r1/decision", { method: "POST", headers: { cookie, [CSRF_HEADER]: "forged" } }),
      o,
    ),
    403,
    /header/,
  );
  // The anti-forgery value is not the token (and is no token by itself).
  refused(
    authorize(
      req("/runs/r1/decision", { method: "POST", headers: { [CSRF_HEADER]: csrfValue(token) } }),
      o,
    ),
    401,
    /no token/,
  );
  refused(
    authorize(req(`/runs/r1/decision?token=${token}`, { method: "POST" }), o),
    403,
    /header/,
  );
  const page = { cookie, [CSRF_HEADER]: csrfValue(token) };
  assert.deepEqual(authorize(req("/runs/r1/decision", { method: "POST", headers: page }), o), {
    ok: true,
    via: "cookie",
  });
  assert.deepEqual(
    authorize(req("/runs/r1/decision", { method: "POST", headers: { ...page, origin: base } }), o),
    { ok: true, via: "cookie" },
  );
  refused(
    authorize(
      req("/runs/r1/decision", {
        method: "POST",
        headers: { ...page, origin: "http://evil.example" },
      }),
      o,
    ),
    403,
    /origin/,
  );
  assert.deepEqual(
    authorize(
      req("/runs/r1/decision", { method: "POST", headers: { authorization: `Bearer ${token}` } }),
      o,
    ),
    { ok: true, via: "bearer" },
  );
});

Deno.test("tokenCookie() is HttpOnly, SameSite=Strict, for the whole dashboard, named by port", () => {
  const c = tokenCookie(o);
  assert.equal(c, `dashboard_token_4711=${token}; HttpOnly; SameSite=Strict; Path=/`);
  assert.notEqual(csrfValue(token), token);
  assert.equal(csrfValue(token).includes(token), false);
});
