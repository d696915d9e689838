// Counts in an environment file are bounded (ENVIRONMENT_LIMITS): a typo such as
// `replicas: 100000000` is refused with file, line, column and field, never sent on.
import assert from "node:assert/strict";
import {
  ConfigError,
  ENVIRONMENT_LIMITS,
  environmentJsonSchema,
  loadEnvironment,
  parseEnvironment,
} from "../../lib/config/mod.ts";
import { FIXTURES as ALL_FIXTURES, shown } from "./_helpers.ts";

// In a folder of their own: `config validate` of the fixtures folder counts its files.
const FIXTURES = `${ALL_FIXTURES}/limits`;

async function problems(fixture: string): Promise<string> {
  const error = await loadEnvironment(fixture, { dir: FIXTURES }).then(
    () => assert.fail(`${fixture}.yml loaded without error`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, String(error));
  return error.message;
}

Deno.test("loadEnvironment() refuses 100,000,000 replicas naming file, line, column and field", async () => {
  const file = shown(FIXTURES, "huge_replicas.yml");
  assert.equal(
    await problems("huge_replicas"),
    `${file}:7:10: infrastructure.replicas.api: ` +
      "expected an integer <= 1000 (the most replicas one service may have), got 100000000",
  );
});

Deno.test("loadEnvironment() bounds the connection pool's sizes", async () => {
  const file = shown(FIXTURES, "huge_pool.yml");
  assert.equal(
    await problems("huge_pool"),
    [
      `${file}:27:15: database.connection_pool.min_size: expected an integer <= 1000 ` +
      "(the largest connection pool one service may have), got 5000",
      `${file}:28:15: database.connection_pool.max_size: expected an integer <= 1000 ` +
      "(the largest connection pool one service may have), got 100000",
    ].join("\n"),
  );
});

Deno.test("the limits: 1000 replicas is allowed, 1001 is not; at most 100 services", async () => {
  const valid = await Deno.readTextFile(`${ALL_FIXTURES}/valid.yml`);
  const parse = (text: string) => () => parseEnvironment(text, { name: "valid", file: "x.yml" });
  const max = ENVIRONMENT_LIMITS.replicasPerService;
  assert.equal(parse(valid.replace("api: 2", `api: ${max}`))().infrastructure.replicas.api, max);
  assert.throws(parse(valid.replace("api: 2", `api: ${max + 1}`)), /got 1001/);
  const services = Array.from(
    { length: ENVIRONMENT_LIMITS.services + 1 },
    (_, i) => `    s${i}: 1`,
  );
  assert.throws(
    parse(valid.replace("    api: 2\n    worker: 1", services.join("\n"))),
    /infrastructure\.replicas: expected at most 100 services/,
  );
});

Deno.test("the environment JSON Schema documents the maxima", () => {
  const schema = environmentJsonSchema() as {
    properties: Record<string, { properties: Record<string, unknown> }>;
  };
  const replicas = schema.properties.infrastructure!.properties.replicas as {
    additionalProperties: { maximum: number };
  };
  assert.equal(replicas.additionalProperties.maximum, 1000);
  const pool = schema.properties.database!.properties.connection_pool as {
    properties: Record<string, { maximum: number }>;
  };
  assert.equal(pool.properties.max_size!.maximum, 1000);
  assert.equal(pool.properties.min_size!.maximum, 1000);
});
