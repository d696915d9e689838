/**
 * The environment file format as JSON Schema, for editors (YAML language servers) and docs.
 * @module
 */
import { z } from "zod";
import { SENSITIVE_SCHEMAS } from "./_schema_parts.ts";
import { environmentSchema, signingKeySchema } from "./schema.ts";

const ENV_VAR = { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" };
const SECRET_REF = {
  description: "A reference to a secret, never its value",
  oneOf: [
    {
      type: "object",
      properties: { from_env: ENV_VAR },
      required: ["from_env"],
      additionalProperties: false,
    },
    {
      type: "object",
      properties: {
        secret_key_ref: {
          type: "object",
          properties: { name: { type: "string" }, key: { type: "string" } },
          required: ["name", "key"],
          additionalProperties: false,
        },
      },
      required: ["secret_key_ref"],
      additionalProperties: false,
    },
  ],
};

/** A run's signing key: a secret reference, or a file holding the PEM. */
const SIGNING_KEY = {
  description: "Where the run signing key (Ed25519 PKCS#8 PEM) lives, never the key itself",
  oneOf: [
    ...SECRET_REF.oneOf,
    {
      type: "object",
      properties: { from_file: { type: "string", minLength: 1 } },
      required: ["from_file"],
      additionalProperties: false,
    },
  ],
};

/**
 * Describes the environment file format (the input side of
 * {@linkcode environmentSchema}) as a JSON Schema (draft 2020-12). Secret fields accept
 * only references; durations and quantities are strings (their syntax is checked by
 * `loadEnvironment`, which also applies the cross-field rules JSON Schema cannot express).
 *
 * @returns The JSON Schema as a plain object.
 *
 * @example
 * ```ts
 * import { environmentJsonSchema } from "./json_schema.ts";
 * import assert from "node:assert/strict";
 * const schema = environmentJsonSchema();
 * assert.deepEqual((schema.required as string[]).slice(0, 2), ["environment", "infrastructure"]);
 * ```
 */
export function environmentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(environmentSchema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      if (SENSITIVE_SCHEMAS.has(ctx.zodSchema)) {
        for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
        const described = (ctx.zodSchema as unknown) === signingKeySchema
          ? SIGNING_KEY
          : SECRET_REF;
        Object.assign(ctx.jsonSchema, structuredClone(described));
      }
    },
  }) as Record<string, unknown>;
  return {
    ...schema,
    title: "Environment",
    description: "A deployment environment (environments/<name>.yml)",
  };
}
