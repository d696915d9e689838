/**
 * The sandbox gateway's edge, served over real HTTP, against the deploy's own post-deploy
 * checks of the public endpoint: behind the edge they pass; in front of a bare backend (what
 * a pod answers) authentication, rate limiting and the security headers fail.
 */
import assert from "node:assert/strict";
import { GatewayEdge } from "../../lib/sandbox/routes.ts";
import { httpEndpoint, rateLimitHeaders } from "../../checks/http_endpoint.ts";
import { securityHeaders } from "../../checks/security.ts";
import type { Check } from "../../lib/dsl/types.ts";
import { fakeContext } from "../checks/_support.ts";

function serveWith(handler: (req: Request) => Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

const backend = () =>
  Promise.resolve(
    new Response(JSON.stringify({ status: "healthy" }), {
      headers: { "content-type": "application/json" },
    }),
  );

function edgeChecks(base: string): Check[] {
  return [
    httpEndpoint(`${base}/api/v1/user`, {
      name: "API authentication",
      headers: { authorization: "Bearer test-token" },
      expectStatus: [401, 403],
    }),
    httpEndpoint(`${base}/api/v1/user`, { name: "no token", expectStatus: [401] }),
    rateLimitHeaders(`${base}/api/v1/health`),
    securityHeaders(`${base}/health`),
  ];
}

Deno.test("the edge: 401 without or with a wrong token, the key passes, then 429", async () => {
  let now = 0;
  const edge = new GatewayEdge({ apiKeys: () => ["s3cret-key"], now: () => now, limit: 3 });
  const call = (path: string, token?: string) =>
    edge.handle(
      new Request(
        `http://api${path}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      ),
      backend,
    );
  const none = await call("/api/v1/user");
  assert.equal(none.status, 401);
  assert.deepEqual(await none.json(), { error: "unauthorized" });
  const wrong = await call("/api/v1/user", "test-token");
  assert.deepEqual([wrong.status, await wrong.json()], [401, { error: "invalid token" }]);
  const ok = await call("/api/v1/user", "s3cret-key");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("x-frame-options"), "DENY");
  assert.equal(ok.headers.get("ratelimit-remaining"), "0");
  const limited = await call("/health");
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "60");
  now = 60_000; // the next window
  assert.equal((await call("/health")).status, 200);
});

Deno.test("post-deploy edge checks pass behind the edge and fail in front of a bare backend", async () => {
  const edge = new GatewayEdge({ apiKeys: () => ["k"], now: () => Date.now() });
  const behind = serveWith((req) => edge.handle(req, backend));
  const bare = serveWith(backend);
  try {
    for (const check of edgeChecks(behind.url)) {
      const o = await check.run(fakeContext());
      assert.equal(o.ok, true, `${check.name}: ${o.message}`);
    }
    const outcomes = await Promise.all(edgeChecks(bare.url).map((c) => c.run(fakeContext())));
    assert.deepEqual(outcomes.map((o) => o.ok), [false, false, false, false]);
    assert.match(outcomes[0]!.message, /answered HTTP 200, expected 401 or 403/);
    assert.match(outcomes[2]!.message, /announces no rate limit/);
    assert.match(outcomes[3]!.message, /missing X-Content-Type-Options, X-Frame-Options/);
  } finally {
    await behind.stop();
    await bare.stop();
  }
});
