import assert from "node:assert/strict";
import { ConfigError, loadEnvironment, parseEnvironment } from "../../lib/config/mod.ts";
import { ENVIRONMENTS, FIXTURES, shown } from "./_helpers.ts";

Deno.test("loadEnvironment() loads the three real environments with the seed's values", async () => {
  const dev = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });

  assert.equal(dev.name, "development");
  assert.equal(dev.file, shown(ENVIRONMENTS, "development.yml"));
  assert.deepEqual(dev.environment, {
    name: "development",
    cluster: "dev-cluster",
    namespace: "tracktion-dev",
    api_url: "https://api-development.tracktion.com",
    dns_server: "10.0.0.2",
  });
  assert.equal(staging.environment.namespace, "tracktion-staging");
  assert.equal(prod.environment.namespace, "tracktion-prod");
  assert.equal(prod.environment.cluster, "prod-cluster");

  assert.deepEqual(dev.infrastructure.replicas, {
    "analysis-service": 1,
    "file-watcher": 1,
    "tracklist-service": 1,
    "notification-service": 1,
  });
  assert.deepEqual(staging.infrastructure.replicas, {
    "analysis-service": 2,
    "file-watcher": 1,
    "tracklist-service": 2,
    "notification-service": 1,
  });
  assert.deepEqual(prod.infrastructure.replicas, {
    "analysis-service": 5,
    "file-watcher": 3,
    "tracklist-service": 4,
    "notification-service": 2,
  });

  assert.deepEqual(dev.database.connection_pool, { min_size: 1, max_size: 5 });
  assert.deepEqual(staging.database.connection_pool, { min_size: 2, max_size: 10 });
  assert.deepEqual(prod.database.connection_pool, { min_size: 5, max_size: 20 });
  assert.equal(prod.database.ssl_mode, "require");
  assert.equal(prod.database.host, "prod-db.tracktion.internal");
  assert.equal(staging.database.database, "tracktion_staging");
  assert.equal(prod.database.port, 5432);

  assert.deepEqual(prod.infrastructure.resources, {
    limits: { cpu: "2000m", memory: "2Gi" },
    requests: { cpu: "1000m", memory: "1Gi" },
  });
  assert.equal(dev.infrastructure.resources.limits.cpu, "500m");
  assert.equal(prod.infrastructure.database.instance_type, "db.r5.xlarge");
  assert.equal(prod.infrastructure.database.read_replicas, 2);
  assert.equal(prod.infrastructure.database.multi_az, true);
  assert.equal(staging.infrastructure.database.backup_retention.ms, 30 * 86_400_000);
  assert.equal(dev.infrastructure.monitoring.log_level, "DEBUG");
  assert.equal(staging.infrastructure.monitoring.log_level, "INFO");
  assert.equal(prod.infrastructure.monitoring.log_level, "WARN");
  assert.equal(prod.infrastructure.monitoring.metrics_retention.text, "90 days");

  assert.equal(prod.redis.cluster_mode, true);
  assert.equal(prod.redis.ssl, true);
  assert.equal(staging.redis.cluster_mode, false);
  assert.equal(dev.external_services.api_rate_limit, 1000);
  assert.equal(staging.external_services.api_rate_limit, 5000);
  assert.equal(prod.external_services.api_rate_limit, 10000);
  assert.equal(prod.external_services.webhook_timeout.ms, 30_000);
  assert.equal(prod.external_services.cdn_enabled, true);

  assert.equal(dev.deployment.strategy, "blue-green");
  assert.equal(staging.deployment.strategy, "blue-green");
  assert.equal(prod.deployment.strategy, "canary");
  for (const env of [dev, staging, prod]) {
    assert.equal(env.deployment.image_registry, "ghcr.io/tracktion");
    assert.equal(env.deployment.health_check.retries, 10);
    assert.equal(env.deployment.rollback_window.ms, 24 * 3_600_000);
    assert.equal(env.monitoring.prometheus_url, "http://prometheus.tracktion.internal:9090");
    assert.equal(env.github.repository, "tracktion/tracktion");
    assert.deepEqual(env.github.token, { from_env: "GITHUB_TOKEN" });
  }
  assert.deepEqual(prod.database.password, {
    secret_key_ref: { name: "db-credentials", key: "password" },
  });
  assert.equal(prod.deployment.require_confirmation, true);
  assert.equal(dev.deployment.require_confirmation, false);
});

/** Each malformed fixture and the exact problem lines it must produce. */
const MALFORMED: [fixture: string, lines: string[]][] = [
  ["wrong_type", ['22:9: database.port: expected an integer from 1 to 65535, got "abc"']],
  ["out_of_range", ["31:9: redis.port: expected an integer from 1 to 65535, got 70000"]],
  ["unknown_key", [
    "20:1: database.port: missing required key (expected an integer from 1 to 65535)",
    '22:3: database.prot: unknown key (did you mean "port"?)',
  ]],
  ["missing_key", [
    "1:1: environment.namespace: missing required key " +
    '(expected a Kubernetes namespace (lowercase letters, digits and "-", at most 63))',
  ]],
  ["bad_quantity", [
    "11:36: infrastructure.resources.requests.memory: " +
    'expected a Kubernetes memory quantity like "512Mi" or "2Gi", got "512MB"',
  ]],
  ["bad_duration", [
    "41:20: deployment.rollback_window: " +
    'expected a duration like "30s", "15m", "1h30m", "24h" or "7 days", got "a day"',
  ]],
  ["min_over_max", [
    "28:15: database.connection_pool.max_size: expected an integer >= min_size (10), got 5",
  ]],
  ["duplicate_key", ["23:3: database.host: duplicate key (first defined on line 21)"]],
  ["yaml_syntax", [
    "13:3: invalid YAML: Flow map in block collection must be sufficiently indented " +
    "and end with a }",
  ]],
  ["plain_secret", [
    "25:13: database.password: expected a secret reference ({ from_env: NAME } or " +
    "{ secret_key_ref: { name: SECRET, key: KEY } }), got a plain string (value not shown): " +
    "never write a secret's value in an environment file",
  ]],
  ["bad_secret_name", [
    '25:25: database.password.from_env: expected an environment variable name like "DB_PASSWORD"',
  ]],
  ["bad_strategy", [
    '37:13: deployment.strategy: expected one of "blue-green", "canary", "rolling", got "big-bang"',
  ]],
  ["bad_log_level", [
    "18:16: infrastructure.monitoring.log_level: " +
    'expected one of "DEBUG", "INFO", "WARN", "ERROR", got "VERBOSE"',
  ]],
  ["name_mismatch", [
    '2:9: environment.name: expected "name_mismatch" (the file\'s name), got "production"',
  ]],
  ["requests_over_limits", [
    '11:22: infrastructure.resources.requests.cpu: expected at most limits.cpu (1), got "2"',
  ]],
  ["bad_service_name", [
    "7:5: infrastructure.replicas.Api_Server: " +
    'expected a service name (lowercase letters, digits and "-", at most 63), got "Api_Server"',
  ]],
  ["not_a_mapping", [
    '29:8: redis: expected a mapping, got "redis://redis.test.internal:6379/0"',
  ]],
  ["empty", ["1:1: the file is empty: expected a mapping"]],
  ["many_problems", [
    "18:16: infrastructure.monitoring.log_level: " +
    'expected one of "DEBUG", "INFO", "WARN", "ERROR", got "info"',
    "22:9: database.port: expected an integer from 1 to 65535, got 0",
    "28:15: database.connection_pool.max_size: expected an integer >= 1, got -1",
    "33:1: external_services.webhook_timeout: missing required key " +
    '(expected a duration like "30s", "15m", "1h30m", "24h" or "7 days")',
    '35:3: external_services.webhook_timout: unknown key (did you mean "webhook_timeout"?)',
    "43:19: monitoring.prometheus_url: " +
    'expected an http(s) URL like "http://prometheus.example.internal:9090", got "prometheus:9090"',
  ]],
];

for (const [fixture, lines] of MALFORMED) {
  Deno.test(`loadEnvironment() reports ${fixture}.yml with file, line, column and path`, async () => {
    const file = shown(FIXTURES, `${fixture}.yml`);
    const error = await loadEnvironment(fixture, { dir: FIXTURES }).then(
      () => assert.fail(`${fixture}.yml loaded without error`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(error instanceof SyntaxError);
    assert.equal(error.message, lines.map((line) => `${file}:${line}`).join("\n"));
    assert.equal(error.problems.length, lines.length);
    const [line, column, path] = lines[0]!.split(":");
    assert.equal(error.file, file);
    assert.equal(error.line, Number(line));
    assert.equal(error.column, Number(column));
    assert.equal(
      error.path,
      path!.trim().startsWith("invalid YAML") ||
        path!.trim().startsWith("the file")
        ? ""
        : path!.trim(),
    );
  });
}

Deno.test("loadEnvironment() never echoes a secret written as a plain string", async () => {
  for (const fixture of ["plain_secret", "bad_secret_name"]) {
    await assert.rejects(loadEnvironment(fixture, { dir: FIXTURES }), (error: Error) => {
      assert.ok(!error.message.includes("hunter2"), error.message);
      assert.ok(!error.message.includes("s3cr3t"), error.message);
      return true;
    });
  }
});

Deno.test("loadEnvironment() loads a minimal valid file and applies defaults", async () => {
  const env = await loadEnvironment("valid", { dir: FIXTURES });
  assert.equal(env.deployment.strategy, "rolling");
  assert.equal(env.database.ssl_mode, "prefer");
  assert.equal(env.redis.password, undefined);
  assert.equal(env.infrastructure.database.read_replicas, 0);
  assert.equal(env.deployment.rollback_on_failure, true);
  assert.deepEqual(env.deployment.health_check.interval, { ms: 1000, text: "1s" });
  assert.equal(env.kubernetes, undefined);
});

Deno.test("loadEnvironment() rejects path traversal in the name before reading", async () => {
  for (const name of ["../environments/production", "/etc/passwd", "a/b", "..", "", "prod.yml"]) {
    await assert.rejects(
      loadEnvironment(name, { dir: FIXTURES }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          `Invalid environment name ${JSON.stringify(name)}: ` +
            'expected a plain word (letters, digits, "-" and "_")',
        );
        assert.equal(error.line, 0);
        return true;
      },
    );
  }
});

Deno.test("loadEnvironment() names the known environments for an unknown one", async () => {
  await assert.rejects(loadEnvironment("prod", { dir: ENVIRONMENTS }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      `Unknown environment "prod": no ${shown(ENVIRONMENTS, "prod.yml")} ` +
        "(known: development, production, staging)",
    );
    return true;
  });
});

Deno.test("loadEnvironment() defaults to the environments folder under the cwd", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    await Deno.mkdir(`${dir}/environments`);
    await Deno.copyFile(`${FIXTURES}/valid.yml`, `${dir}/environments/valid.yml`);
    Deno.chdir(dir);
    const env = await loadEnvironment("valid");
    assert.equal(env.file, "environments/valid.yml");
    await assert.rejects(
      loadEnvironment("prod"),
      /^ConfigError: Unknown environment "prod": no environments\/prod.yml \(known: valid\)$/,
    );
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseEnvironment() rejects YAML aliases that expand without bound", () => {
  const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i <= 8; i++) {
    lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
  }
  assert.throws(
    () => parseEnvironment(lines.join("\n"), { name: "x", file: "x.yml" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /^x\.yml:1:1: invalid YAML: Excessive alias count/);
      return true;
    },
  );
});

Deno.test("loadEnvironment() points at a .yaml file that was meant as .yml", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(`${FIXTURES}/valid.yml`, `${dir}/qa.yaml`);
    await assert.rejects(loadEnvironment("qa", { dir }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `Unknown environment "qa": no ${shown(dir, "qa.yml")} (known: none); ` +
          `found ${shown(dir, "qa.yaml")}: environment files end in .yml`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseEnvironment() rejects credentials in a URL without printing them", async () => {
  const source = (await Deno.readTextFile(`${FIXTURES}/valid.yml`)).replace(
    "prometheus_url: http://127.0.0.1:9090",
    "prometheus_url: http://admin:Pr0mPassw0rd@127.0.0.1:9090",
  );
  assert.throws(
    () => parseEnvironment(source, { name: "valid", file: "valid.yml" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        "valid.yml:43:19: monitoring.prometheus_url: expected a URL without credentials " +
          '(use a secret reference for those), got "http://admin:***@127.0.0.1:9090"',
      );
      return true;
    },
  );
});

Deno.test("loadEnvironment() reads what the namespace holds and the PagerDuty severities", async () => {
  const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });
  assert.deepEqual(prod.notifications.pagerduty?.severity, {
    failed: "critical",
    rolled_back: "critical",
  });
  assert.deepEqual(prod.kubernetes?.secrets?.["db-credentials"], { credentials: "database" });
  assert.deepEqual(prod.kubernetes?.secrets?.["tls-certificates"], { tls: "tracktion.local" });
  assert.equal(prod.kubernetes?.service_account, "tracktion-deployer");
  assert.deepEqual(prod.kubernetes?.load_balancer, {
    name: "tracktion-lb",
    port: 80,
    target_port: 8000,
  });
  const valid = await Deno.readTextFile(`${FIXTURES}/valid.yml`);
  const env = parseEnvironment(
    valid.replace(
      "notifications: {}",
      "notifications:\n  pagerduty:\n    routing_key: { from_env: PD_KEY }\n" +
        "    severity: { paused: info }",
    ) +
      "kubernetes:\n  secrets:\n    keys: { keys: [a, b.c] }\n" +
      "  network_policies: { deny-all: deny }\n  load_balancer: { name: web, target_port: 8080 }\n",
    { name: "valid", file: "valid.yml" },
  );
  assert.deepEqual(env.notifications.pagerduty?.severity, { paused: "info" });
  assert.deepEqual(env.kubernetes?.secrets, { keys: { keys: ["a", "b.c"] } });
  assert.deepEqual(env.kubernetes?.network_policies, { "deny-all": "deny" });
  assert.deepEqual(env.kubernetes?.load_balancer, { name: "web", port: 80, target_port: 8080 });
});

Deno.test("parseEnvironment() rejects a bad namespace secret, policy, load balancer or severity", async () => {
  const valid = await Deno.readTextFile(`${FIXTURES}/valid.yml`);
  const cases: [string, RegExp][] = [
    [
      "kubernetes:\n  secrets:\n    db: { credentials: database, keys: [x] }\n",
      /kubernetes\.secrets\.db: expected exactly one of credentials, keys or tls/,
    ],
    [
      "kubernetes:\n  secrets:\n    db: {}\n",
      /kubernetes\.secrets\.db: expected exactly one of credentials, keys or tls/,
    ],
    [
      "kubernetes:\n  secrets:\n    db: { credentials: mongo }\n",
      /kubernetes\.secrets\.db\.credentials: expected one of "database", "redis"/,
    ],
    [
      "kubernetes:\n  network_policies: { deny-all: allow }\n",
      /kubernetes\.network_policies\.deny-all: expected one of "deny", "same-namespace"/,
    ],
    [
      "kubernetes:\n  load_balancer: { name: Web_LB, target_port: 8080 }\n",
      /kubernetes\.load_balancer\.name: expected a Service name/,
    ],
    [
      "kubernetes:\n  load_balancer: { name: web }\n",
      /kubernetes\.load_balancer\.target_port: missing required key/,
    ],
    [
      "kubernetes:\n  service_account: Deployer!\n",
      /kubernetes\.service_account: expected a ServiceAccount name/,
    ],
  ];
  for (const [extra, message] of cases) {
    assert.throws(
      () => parseEnvironment(valid + extra, { name: "valid", file: "valid.yml" }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, message);
        return true;
      },
    );
  }
  assert.throws(
    () =>
      parseEnvironment(
        valid.replace(
          "notifications: {}",
          "notifications:\n  pagerduty:\n    routing_key: { from_env: PD_KEY }\n" +
            "    severity: { failed: page }",
        ),
        { name: "valid", file: "valid.yml" },
      ),
    /notifications\.pagerduty\.severity\.failed: expected one of "critical", "error", "warning", "info"/,
  );
});
