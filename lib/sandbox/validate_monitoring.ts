/**
 * The OpenAPI v3 validation of the Prometheus Operator's CRDs (`monitoring.coreos.com/v1`
 * ServiceMonitor and PrometheusRule), as the API server applies a CRD's structural schema:
 * types, required fields, patterns, enums, lengths and list-map keys, each a cause of a
 * 422 in the API server's words. The operator's admission webhook (which parses PromQL) is
 * not part of the CRD and not modelled.
 * @module
 */
import type { KObject } from "./resources.ts";
import { cause, type StatusCause } from "./errors.ts";

type JsonMap = Record<string, unknown>;

/** A part of a structural schema: what the CRDs of these kinds use. */
type Schema =
  | { type: "string"; pattern?: RegExp; enum?: readonly string[]; minLength?: number }
  | { type: "integer" | "boolean" | "int-or-string" }
  | {
    type: "object";
    properties?: Record<string, Schema>;
    required?: readonly string[];
    values?: Schema;
  }
  | { type: "array"; items: Schema; mapKey?: string };

/** The CRDs' duration pattern (`30s`, `1m30s`, `0`). */
const DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const STRING: Schema = { type: "string" };
const STRINGS: Schema = { type: "array", items: STRING };
const STRING_MAP: Schema = { type: "object", values: STRING };
const INT: Schema = { type: "integer" };
const DURATION_STRING: Schema = { type: "string", pattern: DURATION };
const SECRET_KEY: Schema = {
  type: "object",
  properties: { key: STRING, name: STRING, optional: { type: "boolean" } },
  required: ["key"],
};

const LABEL_SELECTOR: Schema = {
  type: "object",
  properties: {
    matchLabels: STRING_MAP,
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        properties: { key: STRING, operator: STRING, values: STRINGS },
        required: ["key", "operator"],
      },
    },
  },
};

const ENDPOINT: Schema = {
  type: "object",
  properties: {
    port: STRING,
    targetPort: { type: "int-or-string" },
    path: STRING,
    scheme: { type: "string", enum: ["http", "https"] },
    interval: DURATION_STRING,
    scrapeTimeout: DURATION_STRING,
    honorLabels: { type: "boolean" },
    honorTimestamps: { type: "boolean" },
    enableHttp2: { type: "boolean" },
    filterRunning: { type: "boolean" },
    followRedirects: { type: "boolean" },
    bearerTokenFile: STRING,
    bearerTokenSecret: SECRET_KEY,
    params: { type: "object", values: STRINGS },
    proxyUrl: STRING,
  },
};

const SERVICE_MONITOR: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["selector"],
      properties: {
        selector: LABEL_SELECTOR,
        endpoints: { type: "array", items: ENDPOINT },
        namespaceSelector: {
          type: "object",
          properties: { any: { type: "boolean" }, matchNames: STRINGS },
        },
        jobLabel: STRING,
        targetLabels: STRINGS,
        podTargetLabels: STRINGS,
        sampleLimit: INT,
        targetLimit: INT,
        labelLimit: INT,
        scrapeClass: { type: "string", minLength: 1 },
      },
    },
  },
};

const RULE: Schema = {
  type: "object",
  required: ["expr"],
  properties: {
    alert: STRING,
    record: STRING,
    expr: { type: "int-or-string" },
    for: DURATION_STRING,
    keep_firing_for: { type: "string", pattern: DURATION, minLength: 1 },
    labels: STRING_MAP,
    annotations: STRING_MAP,
  },
};

const PROMETHEUS_RULE: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      properties: {
        groups: {
          type: "array",
          mapKey: "name",
          items: {
            type: "object",
            required: ["name"],
            properties: {
              name: { type: "string", minLength: 1 },
              interval: DURATION_STRING,
              query_offset: DURATION_STRING,
              limit: INT,
              partial_response_strategy: { type: "string", pattern: /^(abort|warn)?$/i },
              labels: STRING_MAP,
              rules: { type: "array", items: RULE },
            },
          },
        },
      },
    },
  },
};

const SCHEMAS: Record<string, Schema> = {
  ServiceMonitor: SERVICE_MONITOR,
  PrometheusRule: PROMETHEUS_RULE,
};

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeCause(path: string, value: unknown, expected: string): StatusCause {
  const got = jsonType(value);
  return cause(
    "FieldValueInvalid",
    path,
    `Invalid value: "${got}": ${path} in body must be of type ${expected}: "${got}"`,
  );
}

function stringCauses(schema: Schema & { type: "string" }, path: string, value: string) {
  const out: StatusCause[] = [];
  if (schema.enum && !schema.enum.includes(value)) {
    out.push(
      cause(
        "FieldValueNotSupported",
        path,
        `Unsupported value: ${JSON.stringify(value)}: supported values: ${
          schema.enum.map((e) => JSON.stringify(e)).join(", ")
        }`,
      ),
    );
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    out.push(
      cause(
        "FieldValueInvalid",
        path,
        `Invalid value: ${
          JSON.stringify(value)
        }: ${path} in body should be at least ${schema.minLength} chars long`,
      ),
    );
  }
  if (schema.pattern && !schema.pattern.test(value)) {
    out.push(
      cause(
        "FieldValueInvalid",
        path,
        `Invalid value: ${
          JSON.stringify(value)
        }: ${path} in body should match '${schema.pattern.source}'`,
      ),
    );
  }
  return out;
}

function objectCauses(schema: Schema & { type: "object" }, path: string, value: JsonMap) {
  const out: StatusCause[] = [];
  const at = (key: string) => path ? `${path}.${key}` : key;
  for (const key of schema.required ?? []) {
    if (value[key] === undefined || value[key] === null) {
      out.push(cause("FieldValueRequired", at(key), "Required value"));
    }
  }
  for (const [key, child] of Object.entries(value)) {
    const sub = schema.properties?.[key] ?? schema.values;
    if (sub) out.push(...check(sub, at(key), child));
  }
  return out;
}

function arrayCauses(schema: Schema & { type: "array" }, path: string, value: unknown[]) {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    out.push(...check(schema.items, `${path}[${i}]`, item));
    if (schema.mapKey && isMap(item) && item[schema.mapKey] !== undefined) {
      const key = JSON.stringify(item[schema.mapKey]);
      if (seen.has(key)) {
        out.push(
          cause(
            "FieldValueDuplicate",
            `${path}[${i}]`,
            `Duplicate value: map[string]interface {}{"${schema.mapKey}":${key}}`,
          ),
        );
      }
      seen.add(key);
    }
  });
  return out;
}

function check(schema: Schema, path: string, value: unknown): StatusCause[] {
  if (value === undefined || value === null) return []; // a structural schema prunes nulls
  switch (schema.type) {
    case "string":
      return typeof value === "string"
        ? stringCauses(schema, path, value)
        : [typeCause(path, value, "string")];
    case "integer":
      return typeof value === "number" && Number.isInteger(value)
        ? []
        : [typeCause(path, value, "integer")];
    case "boolean":
      return typeof value === "boolean" ? [] : [typeCause(path, value, "boolean")];
    case "int-or-string":
      return typeof value === "string" || (typeof value === "number" && Number.isInteger(value))
        ? []
        : [typeCause(path, value, "integer,string")];
    case "object":
      return isMap(value) ? objectCauses(schema, path, value) : [typeCause(path, value, "object")];
    case "array":
      return Array.isArray(value) ? arrayCauses(schema, path, value) : [
        typeCause(path, value, "array"),
      ];
  }
}

/**
 * The causes a Prometheus Operator CRD's schema finds in an object (none for other kinds).
 *
 * @param kind The object's kind.
 * @param obj The object (after defaulting).
 * @returns The causes, in the API server's words.
 *
 * @example
 * ```ts
 * import { monitoringCauses } from "./validate_monitoring.ts";
 * import assert from "node:assert/strict";
 * const rule = { spec: { groups: [{ name: "a", rules: [{ alert: "Down" }] }] } };
 * const [first] = monitoringCauses("PrometheusRule", rule);
 * assert.equal(first?.field, "spec.groups[0].rules[0].expr");
 * assert.equal(first?.message, "Required value");
 * ```
 */
export function monitoringCauses(kind: string, obj: KObject): StatusCause[] {
  const schema = SCHEMAS[kind];
  if (!schema) return [];
  const { metadata: _metadata, apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  return check(schema, "", rest);
}
