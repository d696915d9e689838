/**
 * GitHub's official OpenAPI description (`@octokit/openapi`, api.github.com, 3.0.3)
 * as a checker: find the operation for a request, and validate request and response
 * bodies against its schemas. A small JSON Schema subset: $ref, type, nullable,
 * enum, properties, required, items, oneOf, anyOf, allOf, additionalProperties,
 * maxLength.
 */

// deno-lint-ignore no-explicit-any
type Json = any;

/** One operation of the description. */
export interface Operation {
  operationId: string;
  method: string;
  template: string;
  params: Record<string, string>;
  definition: Json;
}

/** The loaded description with its path templates compiled. */
export interface OpenApi {
  spec: Json;
  routes: { method: string; template: string; re: RegExp; names: string[]; definition: Json }[];
}

let loaded: Promise<OpenApi> | undefined;

/** Loads the description once per test file (it is 13 MB). */
export function loadGitHubOpenApi(): Promise<OpenApi> {
  loaded ??= (async () => {
    const url = new URL("./generated/api.github.com.json", import.meta.resolve("@octokit/openapi"));
    const spec = JSON.parse(await Deno.readTextFile(url));
    const routes: OpenApi["routes"] = [];
    for (const [template, item] of Object.entries<Json>(spec.paths)) {
      const names: string[] = [];
      const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(
        /\{([^}]+)\}/g,
        (_, name: string) => {
          names.push(name);
          return "([^/]+)";
        },
      );
      for (const [method, definition] of Object.entries<Json>(item)) {
        if (typeof definition !== "object" || !definition.operationId) continue;
        routes.push({
          method: method.toUpperCase(),
          template,
          re: new RegExp(`^${source}$`),
          names,
          definition,
        });
      }
    }
    // Literal segments win over parameters (e.g. /releases/latest over /releases/{id}).
    routes.sort((a, b) => a.names.length - b.names.length);
    return { spec, routes };
  })();
  return loaded;
}

/** Finds the operation for a method and path, or undefined. */
export function findOperation(api: OpenApi, method: string, path: string): Operation | undefined {
  for (const route of api.routes) {
    if (route.method !== method.toUpperCase()) continue;
    const m = route.re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => params[name] = decodeURIComponent(m[i + 1]!));
    return {
      operationId: route.definition.operationId,
      method: route.method,
      template: route.template,
      params,
      definition: route.definition,
    };
  }
  return undefined;
}

function resolve(api: OpenApi, node: Json): Json {
  let current = node;
  for (let depth = 0; current && typeof current === "object" && "$ref" in current; depth++) {
    if (depth > 20) throw new Error(`$ref loop at ${node.$ref}`);
    const parts = String(current.$ref).replace(/^#\//, "").split("/");
    current = parts.reduce((o: Json, key) => o?.[key], api.spec);
    if (current === undefined) throw new Error(`Unresolved $ref ${node.$ref}`);
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Validates a value against a schema; returns the problems (empty when valid). */
export function validate(api: OpenApi, schemaNode: Json, value: unknown, at = "$"): string[] {
  const schema = resolve(api, schemaNode);
  if (!schema || typeof schema !== "object") return [];
  if (value === null) {
    if (schema.nullable === true || schema.type === undefined && !schema.oneOf && !schema.anyOf) {
      return [];
    }
    if (schema.oneOf || schema.anyOf) {
      const alts: Json[] = schema.oneOf ?? schema.anyOf;
      return alts.some((alt) => validate(api, alt, null, at).length === 0)
        ? []
        : [`${at}: null is not allowed`];
    }
    return [`${at}: null is not allowed`];
  }
  const problems: string[] = [];
  if (schema.allOf) {
    for (const part of schema.allOf) problems.push(...validate(api, part, value, at));
  }
  for (const key of ["oneOf", "anyOf"] as const) {
    if (!schema[key]) continue;
    const passing = (schema[key] as Json[]).filter((alt) =>
      validate(api, alt, value, at).length === 0
    );
    if (passing.length === 0) problems.push(`${at}: matches none of ${key}`);
    if (key === "oneOf" && passing.length > 1) {
      // GitHub's description has overlapping oneOf branches; accept, as its own tools do.
    }
  }
  if (schema.type !== undefined) {
    const actual = typeOf(value);
    const ok = actual === schema.type || (schema.type === "number" && actual === "integer");
    if (!ok) return [...problems, `${at}: expected ${schema.type}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (
    typeof value === "string" && typeof schema.maxLength === "number" &&
    value.length > schema.maxLength
  ) {
    problems.push(`${at}: longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => problems.push(...validate(api, schema.items, item, `${at}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!(name in record)) problems.push(`${at}: missing required property "${name}"`);
    }
    const properties = schema.properties ?? {};
    for (const [name, item] of Object.entries(record)) {
      if (name in properties) {
        problems.push(...validate(api, properties[name], item, `${at}.${name}`));
      } else if (schema.additionalProperties === false) {
        problems.push(`${at}: unexpected property "${name}"`);
      } else if (typeof schema.additionalProperties === "object") {
        problems.push(...validate(api, schema.additionalProperties, item, `${at}.${name}`));
      }
    }
  }
  return problems;
}

/** Validates a request body against the operation's requestBody schema. */
export function checkRequestBody(api: OpenApi, operation: Operation, body: unknown): string[] {
  const requestBody = resolve(api, operation.definition.requestBody);
  const where = `${operation.method} ${operation.template} request`;
  if (!requestBody) return body === undefined ? [] : [`${where}: the operation takes no body`];
  if (body === undefined) return requestBody.required ? [`${where}: body is required`] : [];
  const schema = requestBody.content?.["application/json"]?.schema;
  return schema ? validate(api, schema, body, where) : [];
}

const GENERIC_RESPONSES: Record<number, string> = {
  401: "requires_authentication",
  403: "forbidden",
  404: "not_found",
  422: "validation_failed",
};

/** Validates a response body against the operation's schema for that status. */
export function checkResponseBody(
  api: OpenApi,
  operation: Operation,
  status: number,
  body: unknown,
): string[] {
  const where = `${operation.method} ${operation.template} ${status} response`;
  let response = operation.definition.responses?.[String(status)];
  if (response === undefined && GENERIC_RESPONSES[status]) {
    // GitHub answers 401/403 on every operation; the description declares them once.
    response = { $ref: `#/components/responses/${GENERIC_RESPONSES[status]}` };
  }
  if (response === undefined) return [`${where}: status ${status} is not described`];
  const schema = resolve(api, response).content?.["application/json"]?.schema;
  if (!schema) return body === undefined || body === "" ? [] : [`${where}: no body is described`];
  return validate(api, schema, body, where);
}

/** An example from the description's components, deep-copied. */
export function example(api: OpenApi, name: string): Json {
  const value = api.spec.components.examples[name]?.value;
  if (value === undefined) throw new Error(`No example "${name}" in the description`);
  return structuredClone(value);
}
