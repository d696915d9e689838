/**
 * The validate stage's network grant for the public endpoint (publicEndpointHosts). The
 * production rehearsal's edge and TLS checks: tests/companions/runbook_parity_test.ts.
 */
import assert from "node:assert/strict";
import { publicEndpointHosts } from "../../pipelines/stages/validate_public.ts";
import { deployContext } from "../../pipelines/stages/context.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { GATEWAY_PORT, gatewayAddress } from "../../lib/sandbox/gateway_address.ts";

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
