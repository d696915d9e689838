// The capability registry: what each resource grants a stage's Worker, and the list of
// resources a stage can declare (derived from the registry).
import assert from "node:assert/strict";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { CAPABILITIES, capability, resourceGrant, RESOURCES } from "../../lib/capabilities/mod.ts";
import { ENVIRONMENTS, FIXTURES } from "../config/_helpers.ts";

const NONE = { net: [], env: [], read: [], proxied: true };

Deno.test("the database grants nothing direct: stages reach it through the main thread", async () => {
  for (const name of ["development", "production"]) {
    const env = await loadEnvironment(name, { dir: ENVIRONMENTS });
    assert.deepEqual(resourceGrant(env, "database"), NONE);
  }
});

Deno.test("redis grants its host:port and its from_env secrets", async () => {
  const dev = await loadEnvironment("development", { dir: ENVIRONMENTS });
  assert.deepEqual(resourceGrant(dev, "redis"), {
    net: ["dev-redis.tracktion.internal:6379"],
    env: ["TRACKTION_REDIS_PASSWORD"],
    read: [],
    proxied: false,
  });
  const valid = await loadEnvironment("valid", { dir: FIXTURES });
  assert.deepEqual(resourceGrant(valid, "redis").env, []);
});

Deno.test("metrics grants the Prometheus host:port", async () => {
  const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  assert.deepEqual(resourceGrant(staging, "metrics"), {
    net: ["prometheus.tracktion.internal:9090"],
    env: [],
    read: [],
    proxied: false,
  });
  const https = {
    ...staging,
    monitoring: { ...staging.monitoring, prometheus_url: "https://prom.example.internal/api" },
  };
  assert.deepEqual(resourceGrant(https, "metrics").net, ["prom.example.internal:443"]);
});

Deno.test("kubernetes, database, notifications and github are held: proxied, with an open", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  for (const name of ["kubernetes", "database", "notifications", "github"]) {
    assert.deepEqual(resourceGrant(prod, name), NONE, name);
    assert.equal(typeof capability(name).open, "function", name);
  }
  for (const name of ["redis", "metrics"]) {
    assert.equal(capability(name).open, undefined, `${name} is direct: nothing to open`);
    assert.equal(resourceGrant(prod, name).proxied, false);
  }
});

Deno.test("every capability has the same shape, and RESOURCES are the registry's names", () => {
  for (const c of CAPABILITIES) {
    assert.match(c.name, /^[a-z]+$/);
    assert.ok(c.summary.length > 10, c.name);
    assert.equal(typeof c.grant, "function");
  }
  assert.deepEqual(RESOURCES, [
    "database",
    "github",
    "kubernetes",
    "metrics",
    "notifications",
    "redis",
    "run",
  ]);
  assert.deepEqual(RESOURCES, CAPABILITIES.map((c) => c.name).sort());
});

Deno.test("an unknown resource is refused, listing the known ones", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  assert.throws(() => resourceGrant(prod, "postgres"), {
    name: "RangeError",
    message: 'Unknown resource "postgres": known resources are ' +
      "database, github, kubernetes, metrics, notifications, redis, run",
  });
});

Deno.test("a stage that declares an unknown resource is bad input, listing the registry's", async () => {
  const { prepareRun } = await import("../../lib/runner/prepare.ts");
  await assert.rejects(
    () =>
      prepareRun({
        pipelineFile: new URL("./fixtures/unknown_resource.ts", import.meta.url).pathname,
        environment: "development",
        skipTypeCheck: true,
      }),
    {
      name: "InputError",
      message: `Stage "query": Unknown resource "postgres": known resources are ${
        RESOURCES.join(", ")
      }`,
    },
  );
});
