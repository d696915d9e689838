/**
 * The production rehearsal validates the public endpoint as production would: through the
 * sandbox gateway's edge (authentication, rate limit, security headers) and over real TLS at
 * the Gateway's published listener, verified for api_url's host — all four required and
 * passed. And the stage's network grant for it (publicEndpointHosts).
 */
import assert from "node:assert/strict";
import { Rehearsal, stage } from "./_deploy.ts";
import { publicEndpointHosts } from "../../pipelines/stages/validate_public.ts";
import { deployContext } from "../../pipelines/stages/context.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { GATEWAY_PORT, gatewayAddress } from "../../lib/sandbox/gateway_address.ts";

const EDGE_CHECKS = [
  "API authentication",
  "Security headers at the edge",
  "API rate limiting",
  "TLS certificate",
];

interface CheckRecord {
  name: string;
  status: string;
  required: boolean;
  message: string;
  evidence?: Record<string, unknown>;
}

Deno.test("a production rehearsal's validate stage passes the edge's checks and TLS, all required", async () => {
  const r = await Rehearsal.create();
  try {
    const d = await r.deploy("production", "v1.2.4", ["--confirm", "DEPLOY TO PRODUCTION"]);
    assert.equal(d.code, 0, `${d.stdout.slice(-2000)}\n${d.stderr.slice(-2000)}`);
    const checks = (stage(d, "validate") as unknown as { checks: CheckRecord[] }).checks;
    const found = EDGE_CHECKS.map((name) => checks.find((c) => c.name === name));
    assert.deepEqual(
      found.map((c) => [c?.name, c?.status, c?.required]),
      EDGE_CHECKS.map((name) => [name, "passed", true]),
      JSON.stringify(found.map((c) => c?.message)),
    );
    const tls = found[3]!.evidence ?? {};
    assert.equal(tls.servername, "api.tracktion.com");
    assert.equal(tls.host, gatewayAddress("tracktion-prod", r.sandboxDir));
    assert.equal(tls.port, GATEWAY_PORT);
    assert.equal(tls.trusted, true);
    assert.equal(tls.hostMatches, true);
    assert.ok((tls.daysLeft as number) >= 30);
    assert.match(found[0]!.message, /answered HTTP 401/);
    assert.match(found[2]!.message, /RateLimit-Limit: 10000/);
  } finally {
    await r.remove();
  }
});

Deno.test("publicEndpointHosts: the api_url's host:port, or in the sandbox its gateway's listener", async () => {
  const env = await loadEnvironment("production");
  const version = { version: "1.2.4", tag: "v1.2.4", major: 1, minor: 2, patch: 4 };
  assert.deepEqual(publicEndpointHosts(deployContext(env, version, {})), ["api.tracktion.com:443"]);
  const sandbox = deployContext(env, version, { target: "sandbox", "companion-scope": "/x/sb" });
  assert.deepEqual(publicEndpointHosts(sandbox), [
    `${gatewayAddress("tracktion-prod", "/x/sb")}:${GATEWAY_PORT}`,
  ]);
  assert.notEqual(
    gatewayAddress("tracktion-prod", "/x/sb"),
    gatewayAddress("tracktion-prod", "/y"),
  );
});
