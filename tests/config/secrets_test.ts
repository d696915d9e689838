import assert from "node:assert/strict";
import {
  loadEnvironment,
  MissingSecretError,
  resolveSecrets,
  secretRefs,
} from "../../lib/config/mod.ts";
import { ENVIRONMENTS } from "./_helpers.ts";

Deno.test("secretRefs() lists every secret reference of production in file order", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  assert.deepEqual(secretRefs(prod), [
    {
      path: "database.password",
      ref: { secret_key_ref: { name: "db-credentials", key: "password" } },
    },
    {
      path: "redis.password",
      ref: { secret_key_ref: { name: "redis-credentials", key: "password" } },
    },
    { path: "notifications.slack.webhook_url", ref: { from_env: "SLACK_WEBHOOK_URL" } },
    { path: "notifications.pagerduty.routing_key", ref: { from_env: "PAGERDUTY_ROUTING_KEY" } },
    { path: "github.token", ref: { from_env: "GITHUB_TOKEN" } },
  ]);
});

Deno.test("resolveSecrets() reads environment variables and Kubernetes secrets", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  const vars: Record<string, string> = {
    SLACK_WEBHOOK_URL: "http://127.0.0.1:1/hook",
    PAGERDUTY_ROUTING_KEY: "pd-key",
    GITHUB_TOKEN: "ghp_token",
  };
  const asked: string[] = [];
  const values = await resolveSecrets(prod, {
    env: (name) => vars[name],
    kubernetesSecret: (name, key) => {
      asked.push(`${name}/${key}`);
      return Promise.resolve(`${name}-${key}-value`);
    },
  });
  assert.deepEqual(asked, ["db-credentials/password", "redis-credentials/password"]);
  assert.deepEqual(
    Object.fromEntries(values),
    {
      "database.password": "db-credentials-password-value",
      "redis.password": "redis-credentials-password-value",
      "notifications.slack.webhook_url": "http://127.0.0.1:1/hook",
      "notifications.pagerduty.routing_key": "pd-key",
      "github.token": "ghp_token",
    },
  );
});

Deno.test("resolveSecrets() reads the process environment by default", async () => {
  const dev = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const names = ["TRACKTION_DB_PASSWORD", "TRACKTION_REDIS_PASSWORD", "SLACK_WEBHOOK_URL"];
  const saved = new Map([...names, "GITHUB_TOKEN"].map((n) => [n, Deno.env.get(n)]));
  try {
    for (const name of names) Deno.env.set(name, `value-of-${name}`);
    Deno.env.set("GITHUB_TOKEN", "gh-default");
    const values = await resolveSecrets(dev);
    assert.equal(values.get("database.password"), "value-of-TRACKTION_DB_PASSWORD");
    assert.equal(values.get("github.token"), "gh-default");
    assert.equal(values.size, 4);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("resolveSecrets() names every missing reference and never a value", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  const present = { GITHUB_TOKEN: "ghp_SuperSecretValue", SLACK_WEBHOOK_URL: "" };
  const error = await resolveSecrets(prod, {
    env: (name) => (present as Record<string, string>)[name],
    kubernetesSecret: (name) =>
      name === "db-credentials"
        ? Promise.resolve("db-SuperSecretValue")
        : Promise.reject(new Error('secrets "redis-credentials" is forbidden')),
  }).then(() => assert.fail("resolved"), (e: unknown) => e);
  assert.ok(error instanceof MissingSecretError);
  assert.equal(
    error.message,
    'Cannot resolve 3 secrets of environment "production":\n' +
      "  redis.password: secret redis-credentials/password could not be read: " +
      'secrets "redis-credentials" is forbidden\n' +
      "  notifications.slack.webhook_url: env SLACK_WEBHOOK_URL is not set (or empty)\n" +
      "  notifications.pagerduty.routing_key: env PAGERDUTY_ROUTING_KEY is not set (or empty)",
  );
  assert.deepEqual(error.missing.map((m) => m.path), [
    "redis.password",
    "notifications.slack.webhook_url",
    "notifications.pagerduty.routing_key",
  ]);
  assert.ok(!error.message.includes("SuperSecretValue"));
  assert.ok(!JSON.stringify(error.missing).includes("SuperSecretValue"));
});

Deno.test("resolveSecrets() refuses Kubernetes references without a secret reader", async () => {
  const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  await assert.rejects(
    resolveSecrets(staging, { env: (name) => `x-${name}` }),
    (error: unknown) => {
      assert.ok(error instanceof MissingSecretError);
      assert.match(
        error.message,
        /database\.password: secret db-credentials\/password needs a Kubernetes client/,
      );
      assert.equal(error.missing.length, 2);
      return true;
    },
  );
});
