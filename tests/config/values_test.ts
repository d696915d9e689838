import assert from "node:assert/strict";
import { environmentSchema } from "../../lib/config/schema.ts";
import {
  ConfigError,
  describeSecretRef,
  environmentJsonSchema,
  formatProblem,
  isSecretRef,
  parseByteSize,
  parseDuration,
  parseEnvironment,
  parseQuantity,
} from "../../lib/config/mod.ts";
import { FIXTURES } from "./_helpers.ts";

Deno.test("parseDuration() reads short and word forms", () => {
  assert.deepEqual(parseDuration("30s"), { ms: 30_000, text: "30s" });
  assert.equal(parseDuration("1h30m")?.ms, 5_400_000);
  assert.equal(parseDuration("500ms")?.ms, 500);
  assert.equal(parseDuration("24h")?.ms, 86_400_000);
  assert.equal(parseDuration("7 days")?.ms, 7 * 86_400_000);
  assert.equal(parseDuration("1 day")?.ms, 86_400_000);
  assert.equal(parseDuration("90 minutes")?.ms, 5_400_000);
  assert.equal(parseDuration("2w")?.ms, 14 * 86_400_000);
});

Deno.test("parseDuration() rejects what is not a duration", () => {
  for (const text of ["", "30", "a day", "7 dayz", "1h 30m", "-5s", "5 parsecs", "s"]) {
    assert.equal(parseDuration(text), undefined, text);
  }
});

Deno.test("parseQuantity() reads Kubernetes quantities", () => {
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("2Gi"), 2 * 2 ** 30);
  assert.equal(parseQuantity("512Mi"), 512 * 2 ** 20);
  assert.equal(parseQuantity("1k"), 1000);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("1E"), 1e18);
  for (const text of ["512MB", "2 Gi", "abc", "", "-1", "1.2.3", "Gi"]) {
    assert.equal(parseQuantity(text), undefined, text);
  }
});

Deno.test("parseByteSize() reads storage sizes", () => {
  assert.equal(parseByteSize("20GB"), 20e9);
  assert.equal(parseByteSize("500 GiB"), 500 * 2 ** 30);
  assert.equal(parseByteSize("2Ti"), 2 * 2 ** 40);
  assert.equal(parseByteSize("20 parsecs"), undefined);
  assert.equal(parseByteSize("GB"), undefined);
});

Deno.test("isSecretRef() accepts only the two reference shapes", () => {
  assert.ok(isSecretRef({ from_env: "A" }));
  assert.ok(isSecretRef({ secret_key_ref: { name: "db", key: "password" } }));
  assert.ok(!isSecretRef("hunter2"));
  assert.ok(!isSecretRef({ from_env: "A", extra: 1 }));
  assert.ok(!isSecretRef({ secret_key_ref: { name: "db" } }));
  assert.ok(!isSecretRef(null));
  assert.equal(describeSecretRef({ from_env: "A" }), "env A");
});

Deno.test("ConfigError carries every problem and the first one's location", () => {
  const error = new ConfigError([
    { file: "e/p.yml", line: 42, column: 15, path: "database.port", message: "expected x" },
    { file: "e/p.yml", line: 50, column: 3, path: "", message: "invalid YAML: y" },
  ]);
  assert.equal(error.name, "ConfigError");
  assert.equal(
    error.message,
    "e/p.yml:42:15: database.port: expected x\ne/p.yml:50:3: invalid YAML: y",
  );
  assert.deepEqual([error.file, error.line, error.column, error.path], [
    "e/p.yml",
    42,
    15,
    "database.port",
  ]);
  assert.equal(error.problems.length, 2);
  assert.throws(() => new ConfigError([]), RangeError);
  assert.equal(
    formatProblem({ file: "f", line: 0, column: 0, path: "", message: "Unknown environment" }),
    "Unknown environment",
  );
});

Deno.test("parseEnvironment() rejects a secret reference with extra keys without echoing it", async () => {
  const source = (await Deno.readTextFile(`${FIXTURES}/valid.yml`))
    .replace(
      "token: { from_env: GITHUB_TOKEN }",
      "token: { from_env: GITHUB_TOKEN, value: ghp_leaked }",
    );
  assert.throws(
    () => parseEnvironment(source, { name: "valid", file: "valid.yml" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        "valid.yml:49:10: github.token: expected a secret reference ({ from_env: NAME } or " +
          "{ secret_key_ref: { name: SECRET, key: KEY } })",
      );
      assert.ok(!error.message.includes("ghp_leaked"));
      return true;
    },
  );
});

Deno.test("environmentSchema validates a parsed YAML value directly", () => {
  assert.equal(environmentSchema.safeParse({}).success, false);
  assert.equal(environmentSchema.safeParse("x").success, false);
});

Deno.test("environmentJsonSchema() describes the file format for editors", () => {
  const schema = environmentJsonSchema() as {
    title: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { properties: Record<string, { oneOf?: unknown[] }> }>;
  };
  assert.equal(schema.title, "Environment");
  assert.deepEqual(schema.required, [
    "environment",
    "infrastructure",
    "database",
    "redis",
    "external_services",
    "deployment",
    "monitoring",
    "notifications",
    "github",
  ]);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.database!.properties.password!.oneOf?.length, 2);
  assert.equal(schema.properties.github!.properties.token!.oneOf?.length, 2);
  assert.deepEqual(schema.properties.database!.properties.port, {
    type: "integer",
    minimum: 1,
    maximum: 65535,
  });
});
