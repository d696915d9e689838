import assert from "node:assert/strict";
import { loadEnvironment, resourcePermissions, RESOURCES } from "../../lib/config/mod.ts";
import { ENVIRONMENTS, FIXTURES } from "./_helpers.ts";

Deno.test("resourcePermissions() grants database host:port and its from_env secrets", async () => {
  const dev = await loadEnvironment("development", { dir: ENVIRONMENTS });
  assert.deepEqual(resourcePermissions(dev, "database"), {
    net: ["dev-db.tracktion.internal:5432"],
    env: ["TRACKTION_DB_PASSWORD"],
    read: [],
    proxied: false,
  });
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  // A Kubernetes secret is resolved by the main thread: no env permission is needed.
  assert.deepEqual(resourcePermissions(prod, "database"), {
    net: ["prod-db.tracktion.internal:5432"],
    env: [],
    read: [],
    proxied: false,
  });
});

Deno.test("resourcePermissions() grants redis host:port and its from_env secrets", async () => {
  const dev = await loadEnvironment("development", { dir: ENVIRONMENTS });
  assert.deepEqual(resourcePermissions(dev, "redis"), {
    net: ["dev-redis.tracktion.internal:6379"],
    env: ["TRACKTION_REDIS_PASSWORD"],
    read: [],
    proxied: false,
  });
  const valid = await loadEnvironment("valid", { dir: FIXTURES });
  assert.deepEqual(resourcePermissions(valid, "redis").env, []);
});

Deno.test("resourcePermissions() grants metrics the Prometheus host:port", async () => {
  const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  assert.deepEqual(resourcePermissions(staging, "metrics"), {
    net: ["prometheus.tracktion.internal:9090"],
    env: [],
    read: [],
    proxied: false,
  });
  const https = {
    ...staging,
    monitoring: { ...staging.monitoring, prometheus_url: "https://prom.example.internal/api" },
  };
  assert.deepEqual(resourcePermissions(https, "metrics").net, ["prom.example.internal:443"]);
});

Deno.test("resourcePermissions() proxies kubernetes, notifications and github", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  for (const resource of ["kubernetes", "notifications", "github"]) {
    assert.deepEqual(resourcePermissions(prod, resource), {
      net: [],
      env: [],
      read: [],
      proxied: true,
    });
  }
});

Deno.test("resourcePermissions() rejects an unknown resource listing the known ones", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  assert.deepEqual(RESOURCES, [
    "database",
    "github",
    "kubernetes",
    "metrics",
    "notifications",
    "redis",
  ]);
  assert.throws(() => resourcePermissions(prod, "postgres"), {
    name: "RangeError",
    message: 'Unknown resource "postgres": known resources are ' +
      "database, github, kubernetes, metrics, notifications, redis",
  });
});
