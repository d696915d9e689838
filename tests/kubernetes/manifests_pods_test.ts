// The generated Deployments carry what the services need from the environment file:
// endpoints, pool sizes, limits and log level as plain env, credentials only as
// secretKeyRefs to keys the sandbox's seeded Secrets hold, resources and probes — and never
// a secret value.
import assert from "node:assert/strict";
import { loadEnvironment, parseEnvironment } from "../../lib/config/mod.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import { imageSeeds, podConfig, sandboxSeed } from "../../lib/targets/sandbox_seed.ts";
import {
  containerEnv,
  deploymentManifest,
  type PodConfiguredTarget,
} from "../../lib/kubernetes/manifests.ts";

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
};
type Container = {
  env: EnvVar[];
  resources: { limits: Record<string, string>; requests: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  terminationMessagePolicy?: string;
};

function container(d: Record<string, unknown>): Container {
  const spec = d.spec as { template: { spec: { containers: Container[] } } };
  return spec.template.spec.containers[0]!;
}

const ENVIRONMENTS = ["development", "staging", "production"] as const;

Deno.test("each environment's Deployments carry its database, Redis, limits and log level, credentials as secretKeyRefs", async () => {
  for (const name of ENVIRONMENTS) {
    const env = await loadEnvironment(name);
    const target: PodConfiguredTarget = { ...kubeTarget(env), pods: podConfig(env) };
    for (const service of Object.keys(env.infrastructure.replicas)) {
      const d = deploymentManifest(target, { service, slot: "blue", version: "v1.2.4" });
      const c = container(d);
      const byName = new Map(c.env.map((v) => [v.name, v]));
      const value = (n: string) => byName.get(n)?.value;
      assert.equal(value("DATABASE_HOST"), env.database.host, `${name} ${service}`);
      assert.equal(value("DATABASE_PORT"), String(env.database.port));
      assert.equal(value("DATABASE_NAME"), env.database.database);
      assert.equal(value("DATABASE_POOL_MIN_SIZE"), String(env.database.connection_pool.min_size));
      assert.equal(value("DATABASE_POOL_MAX_SIZE"), String(env.database.connection_pool.max_size));
      assert.equal(value("REDIS_HOST"), env.redis.host);
      assert.equal(value("REDIS_SSL"), String(env.redis.ssl));
      assert.equal(value("API_RATE_LIMIT"), String(env.external_services.api_rate_limit));
      assert.equal(value("LOG_LEVEL"), env.infrastructure.monitoring.log_level);
      assert.equal(value("SERVICE_VERSION"), "1.2.4");
      assert.ok(new URL(value("DATABASE_URL")!).password === "", "no password in the URL");
      assert.equal(
        new URL(value("REDIS_URL")!).protocol,
        env.redis.ssl ? "rediss:" : "redis:",
      );
      assert.deepEqual(byName.get("DATABASE_PASSWORD")?.valueFrom, {
        secretKeyRef: { name: "db-credentials", key: "password" },
      });
      assert.deepEqual(byName.get("REDIS_PASSWORD")?.valueFrom, {
        secretKeyRef: { name: "redis-credentials", key: "password" },
      });
      for (const key of ["analysis-api-key", "notification-api-key"]) {
        const v = c.env.find((e) => e.valueFrom?.secretKeyRef?.key === key);
        assert.equal(v?.valueFrom?.secretKeyRef?.name, "api-keys", key);
        assert.equal(v?.value, undefined);
      }
      assert.equal(new Set(c.env.map((v) => v.name)).size, c.env.length, "no variable twice");
      assert.deepEqual(c.resources.limits, env.infrastructure.resources.limits);
      assert.equal(c.readinessProbe?.httpGet?.path, "/health");
      assert.equal(c.livenessProbe?.httpGet?.path, "/health");
      assert.equal(c.terminationMessagePolicy, "FallbackToLogsOnError");
    }
  }
});

Deno.test("no secret value is ever inline, and every key the manifests reference is in the seeded Secrets", async () => {
  const envs = await Promise.all(ENVIRONMENTS.map((n) => loadEnvironment(n)));
  const seed = sandboxSeed(envs);
  for (const env of envs) {
    const ns = seed.namespaces!.find((n) => n.name === env.environment.namespace)!;
    const values = ns.secrets!.flatMap((s) => Object.values(s.data ?? {}))
      .filter((v) => /^[0-9a-f]{36}$/.test(v)); // generated secrets, not host names or ports
    assert.ok(values.length >= 4, "the seed generated passwords and keys");
    const target = { ...kubeTarget(env), pods: podConfig(env) };
    for (const service of Object.keys(env.infrastructure.replicas)) {
      const d = deploymentManifest(target, { service, slot: "green", version: "2.0.0" });
      const text = JSON.stringify(d);
      for (const v of values) assert.ok(!text.includes(v), "a secret value is inline");
      for (const e of container(d).env) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const secret = ns.secrets!.find((s) => s.name === ref.name);
        assert.ok(secret, `${env.name}: Secret ${ref.name} is seeded`);
        assert.ok(Object.hasOwn(secret.data ?? {}, ref.key), `${ref.name} has key ${ref.key}`);
      }
    }
  }
});

Deno.test("a credential given a plain value is refused, naming the variable and the fix", async () => {
  const env = await loadEnvironment("staging");
  const base = kubeTarget(env);
  for (const name of ["DATABASE_PASSWORD", "GITHUB_TOKEN", "ANALYSIS_API_KEY", "JWT_SECRET"]) {
    const target = { ...base, pods: { env: [{ name, value: "x".repeat(24) }] } };
    assert.throws(
      () => containerEnv(target, "analysis-service", "1.0.0"),
      (e: Error) =>
        e instanceof RangeError && e.message.includes(name) &&
        e.message.includes("reference a key of a Secret") && !e.message.includes("x".repeat(24)),
    );
  }
  // A service's own variable overrides a common one of the same name (one entry, the later).
  const target = {
    ...base,
    pods: {
      env: [{ name: "FEATURE", value: "a" }],
      services: { "file-watcher": [{ name: "FEATURE", value: "b" }] },
    },
  };
  const env2 = containerEnv(target, "file-watcher", "1.0.0");
  assert.deepEqual(env2.filter((v) => v.name === "FEATURE"), [{ name: "FEATURE", value: "b" }]);
  assert.deepEqual(
    containerEnv(target, "analysis-service", "1.0.0").filter((v) => v.name === "FEATURE"),
    [{ name: "FEATURE", value: "a" }],
  );
});

Deno.test("pods read a from_env password from the namespace's credentials Secret; without one, no password variable", async () => {
  const dev = await loadEnvironment("development"); // password: { from_env: ... }
  const vars = podConfig(dev).env;
  assert.deepEqual(vars.find((v) => v.name === "DATABASE_PASSWORD"), {
    name: "DATABASE_PASSWORD",
    secret: { name: "db-credentials", key: "password" },
  });
  const source = await Deno.readTextFile("tests/fixtures/second_project/environments/live.yml");
  const shop = parseEnvironment(source, { name: "live", file: "live.yml" });
  const shopVars = podConfig(shop).env;
  assert.deepEqual(shopVars.find((v) => v.name === "DATABASE_PASSWORD"), {
    name: "DATABASE_PASSWORD",
    secret: { name: "shop-db", key: "password" },
  });
  assert.equal(shopVars.find((v) => v.name === "REDIS_PASSWORD"), undefined);
  assert.deepEqual(shopVars.find((v) => v.name === "PAYMENTS_KEY"), {
    name: "PAYMENTS_KEY",
    secret: { name: "shop-api-keys", key: "payments-key" },
  });
});

Deno.test("the image seeds require what the pods are given, once the deploy target carries it", async () => {
  const env = await loadEnvironment("production");
  const images = imageSeeds(env);
  if (!("pods" in kubeTarget(env))) {
    // Not wired yet: requiring variables the manifests do not give would crash every pod.
    assert.deepEqual(images, []);
    return;
  }
  assert.equal(images.length, Object.keys(env.infrastructure.replicas).length);
  const given = podConfig(env).env.map((v) => v.name);
  for (const image of images) {
    for (const name of given) assert.ok(image.requiredEnv.includes(name), name);
  }
});
