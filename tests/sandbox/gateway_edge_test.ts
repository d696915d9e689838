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
import { deploymentYaml, tempFile, withSandbox } from "./_helpers.ts";

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

Deno.test("the sandbox's service proxy to the load balancer goes through the edge; pods stay bare", async () => {
  const ns = "shop";
  const t = await withSandbox({
    trafficRate: 0,
    seed: {
      namespaces: [{
        name: ns,
        secrets: [
          { name: "api-keys", data: { "web-api-key": "s3cret-key" } },
          {
            name: "tls-certificates",
            tls: { commonName: "shop.local", dnsNames: ["api.shop.example"] },
          },
        ],
        loadBalancers: [{
          name: "shop-lb",
          selector: { app: "tracktion" },
          ports: [{ name: "http", port: 80, targetPort: 8000 }],
        }],
        gateway: {
          name: "shop",
          hostname: "api.shop.example",
          tlsSecret: "tls-certificates",
          service: "shop-lb",
          apiKeySecrets: ["api-keys"],
          rateLimit: 5,
        },
      }],
    },
  });
  try {
    const file = await tempFile(deploymentYaml({ name: "web", namespace: ns, version: "1.0.0" }));
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s");
    await Deno.remove(file);
    const lb = `${t.sandbox.url}/api/v1/namespaces/${ns}/services/shop-lb:80/proxy`;
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${lb}${path}`, { headers });
      return { status: r.status, headers: r.headers, body: await r.text() };
    };
    // No token: the edge refuses /api/ (401), with its headers.
    const none = await get("/api/v1/user");
    assert.equal(none.status, 401);
    assert.deepEqual(JSON.parse(none.body), { error: "unauthorized" });
    assert.equal(none.headers.get("x-frame-options"), "DENY");
    assert.equal(none.headers.get("ratelimit-limit"), "5");
    // A token that is not the API server's is refused by the API server itself (a caller's
    // credentials are the API server's, never passed on: the key is tested at the listener).
    const wrong = await get("/api/v1/user", { authorization: "Bearer s3cret-key" });
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).kind, "Status");
    // Public paths pass, with the edge's headers; the deploy's own checks pass through it.
    const health = await get("/health");
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, "healthy");
    assert.equal(health.headers.get("ratelimit-remaining"), "3");
    assert.equal(health.headers.get("x-content-type-options"), "nosniff");
    // Past the limit of the window: 429 with Retry-After.
    for (let i = 3; i <= 5; i++) assert.equal((await get("/health")).status, 200, `request ${i}`);
    const limited = await get("/health");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    // A pod, reached directly, is bare: no edge headers, no authentication.
    const pod = (await t.kubectlOk("get", "pods", "-n", ns, "-o", "name")).trim().split("\n")[0]!
      .replace("pod/", "");
    const bare = await fetch(
      `${t.sandbox.url}/api/v1/namespaces/${ns}/pods/${pod}/proxy/api/v1/user`,
    );
    await bare.body?.cancel();
    assert.notEqual(bare.status, 401);
    assert.equal(bare.headers.get("x-frame-options"), null);
    assert.equal(bare.headers.get("ratelimit-limit"), null);
  } finally {
    await t.close();
  }
});
