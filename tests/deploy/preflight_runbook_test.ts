// The runbook pre-flight stages as the deploy builds them (what each asks and may reach), and the
// external API check against a real HTTP server: healthy, degraded, erroring, unreachable.
import assert from "node:assert/strict";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { realClock } from "../../lib/clock/mod.ts";
import { versionArgument } from "../../lib/runner/version.ts";
import { stage as dslStage } from "../../mod.ts";
import { deployContext } from "../../pipelines/stages/context.ts";
import {
  externalApiHealthy,
  runbookPreflightStages,
} from "../../pipelines/stages/preflight_runbook.ts";
import { environmentHostnames } from "../../lib/targets/sandbox_standins.ts";
import { fakeContext } from "../checks/_support.ts";

const ENVIRONMENTS = new URL("../../environments", import.meta.url).pathname;
const version = versionArgument("v1.2.4");

async function stages(name: string, options: Record<string, string>) {
  const env = await loadEnvironment(name, { dir: ENVIRONMENTS });
  const c = deployContext(env, version, options);
  const built = runbookPreflightStages(c, dslStage("lock"), options);
  return Object.fromEntries(built.map((s) => [s.id, s]));
}

Deno.test("runbook pre-flight: production asks its resolver for every host it names", async () => {
  const s = await stages("production", {});
  assert.deepEqual(Object.keys(s), ["preflight:backups", "preflight:network", "preflight:storage"]);
  assert.deepEqual(s["preflight:backups"]!.spec.checks.map((c) => c.name), [
    "Kubernetes version in the runbook's range",
    "Recent database backup exists",
    "Backup verification passed",
  ]);
  const network = s["preflight:network"]!;
  assert.deepEqual(network.spec.checks.map((c) => c.name), [
    "DNS resolution: api.tracktion.com",
    "DNS resolution: api.external-service.com",
    "DNS resolution: prod-db.tracktion.internal",
    "DNS resolution: prod-redis.tracktion.internal",
    "External API connectivity",
  ]);
  for (const c of network.spec.checks) assert.equal(c.required, true, c.name);
  // Exactly the resolver and the external API: nothing else on the network.
  assert.deepEqual([...network.spec.permissions.net ?? []].sort(), [
    "10.0.0.2:53",
    "api.external-service.com:443",
  ]);
  const storage = s["preflight:storage"]!;
  assert.deepEqual(storage.spec.permissions.run, ["df"]);
  assert.match(storage.spec.description ?? "", /df \/var\/lib\/docker/);
});

Deno.test("runbook pre-flight: the sandbox says what it cannot answer, and takes stand-ins", async () => {
  const bare = await stages("staging", { target: "sandbox" });
  const skipped = bare["preflight:network"]!.spec.checks;
  assert.deepEqual(skipped.map((c) => c.name), ["DNS resolution", "External API connectivity"]);
  for (const c of skipped) {
    const o = await c.run(fakeContext());
    assert.equal(o.skipped, true);
    assert.match(o.message, /pass --option (dns-server|external-api)=/);
  }
  assert.match(bare["preflight:storage"]!.spec.description ?? "", /df \.\)/);
  const wired = await stages("staging", {
    target: "sandbox",
    "dns-server": "127.0.0.1:5353",
    "external-api": "http://127.0.0.1:8089/health",
  });
  const network = wired["preflight:network"]!;
  assert.equal(network.spec.checks.length, 5, network.spec.checks.map((c) => c.name).join());
  assert.deepEqual([...network.spec.permissions.net ?? []].sort(), [
    "127.0.0.1:5353",
    "127.0.0.1:8089",
  ]);
});

Deno.test("runbook pre-flight: the hosts are the environment's own, deduplicated", async () => {
  const env = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  assert.deepEqual(environmentHostnames(env), [
    "api-staging.tracktion.com",
    "api.external-service.com",
    "staging-db.tracktion.internal",
    "staging-redis.tracktion.internal",
  ]);
});

Deno.test({
  name: "external API: ok passes; degraded, 500, not JSON and unreachable fail with the reason",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const answers: Record<string, [number, string]> = {
      "/ok": [200, '{"status":"OK"}'],
      "/degraded": [200, '{"status":"degraded"}'],
      "/error": [500, '{"status":"ok"}'],
      "/html": [200, "<html>maintenance</html>"],
    };
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const [status, body] = answers[new URL(req.url).pathname] ?? [404, ""];
      return new Response(body, { status, headers: { "content-type": "application/json" } });
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const ctx = { ...fakeContext(), clock: realClock };
    try {
      const ok = await externalApiHealthy(`${base}/ok`).run(ctx);
      assert.equal(ok.ok, true, ok.message);
      assert.match(ok.message, new RegExp(`^External API ${base}/ok: OK in [\\d.]+ ms$`));
      for (
        const [path, expected] of [
          ["/degraded", /is not healthy: HTTP 200, status "degraded"/],
          ["/error", /is not healthy: HTTP 500, status "ok"/],
          ["/html", /is not healthy: HTTP 200, status undefined/],
        ] as const
      ) {
        const o = await externalApiHealthy(`${base}${path}`).run(ctx);
        assert.equal(o.ok, false, path);
        assert.match(o.message, expected);
        assert.equal(o.evidence!.url, `${base}${path}`);
      }
    } finally {
      await server.shutdown();
    }
    const gone = await externalApiHealthy(`${base}/ok`).run(ctx);
    assert.equal(gone.ok, false);
    assert.match(gone.message, new RegExp(`^External API ${base}/ok did not answer: `));
  },
});
