/**
 * Conversion between protobufjs messages and the JSON objects the sandbox stores, the way
 * apimachinery's JSON serializer writes a Go object: camelCase names as in the `.proto`,
 * `Time` as RFC 3339, `MicroTime` with microseconds, `IntOrString` as a number or a string,
 * `Quantity` as its string, `bytes` as base64, `FieldsV1` as its JSON, embedded structs
 * (`(inline)`) merged into their parent, and a zero scalar dropped unless the field is
 * marked `(keep)` (a Go pointer or a field without `omitempty`).
 * @module
 */
import protobuf from "protobufjs";

const META = ".k8s.io.apimachinery.pkg.apis.meta.v1";
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const FIELDS_V1 = `${META}.FieldsV1`;
const INT_OR_STRING = ".k8s.io.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = ".k8s.io.apimachinery.pkg.api.resource.Quantity";
const RAW_EXTENSION = ".k8s.io.apimachinery.pkg.runtime.RawExtension";
const INT_TYPES = new Set(["int32", "int64", "uint32", "uint64", "sint32", "sint64"]);
const INT32_TYPES = new Set(["int32", "sint32"]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Json = Record<string, unknown>;

/**
 * A JSON object the sandbox's protobuf schema cannot represent without losing something (an
 * unknown field, a value of the wrong type): the caller answers JSON instead, or refuses.
 *
 * @example
 * ```ts
 * import { ProtobufUnsupportedError } from "./convert.ts";
 * const error = new ProtobufUnsupportedError("spec.foo: not in the sandbox's protobuf schema");
 * console.assert(error instanceof TypeError);
 * ```
 */
export class ProtobufUnsupportedError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message What cannot be represented, with the JSON path.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProtobufUnsupportedError";
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function keeps(field: protobuf.Field): boolean {
  return field.options?.["(keep)"] === true;
}

function inline(field: protobuf.Field): boolean {
  return field.options?.["(inline)"] === true;
}

function messageType(field: protobuf.Field): protobuf.Type | undefined {
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z` : `${base}Z`;
}

function specialToJson(type: protobuf.Type, value: Json): unknown {
  switch (type.fullName) {
    case TIME:
    case MICRO_TIME:
      if (typeof value.seconds !== "number") return undefined; // the zero time: omitted
      return rfc3339(value.seconds, Number(value.nanos ?? 0), type.fullName === MICRO_TIME);
    case INT_OR_STRING:
      return Number(value.type ?? 0) === 1 ? String(value.strVal ?? "") : Number(value.intVal ?? 0);
    case QUANTITY:
      return typeof value.string === "string" && value.string !== "" ? value.string : undefined;
    case FIELDS_V1:
    case RAW_EXTENSION: {
      const raw = value.Raw ?? value.raw;
      return typeof raw === "string" && raw !== "" ? JSON.parse(utf8(base64Bytes(raw))) : {};
    }
  }
  return messageToJson(type, value);
}

function valueToJson(field: protobuf.Field, value: unknown): unknown {
  const type = messageType(field);
  return type && isObject(value) ? specialToJson(type, value) : value;
}

function messageToJson(type: protobuf.Type, value: Json): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined || v === null) continue;
    const sub = messageType(field);
    if (inline(field) && sub && isObject(v)) {
      Object.assign(out, messageToJson(sub, v));
    } else if (field.map && isObject(v)) {
      const entries = Object.entries(v).map(([k, x]) => [k, valueToJson(field, x)] as const);
      out[field.name] = Object.fromEntries(entries.filter(([, x]) => x !== undefined));
    } else if (field.repeated && Array.isArray(v)) {
      out[field.name] = v.map((x) => valueToJson(field, x));
    } else {
      const json = valueToJson(field, v);
      if (json === undefined) continue;
      if (!sub && !keeps(field) && (json === "" || json === 0 || json === false)) continue;
      out[field.name] = json;
    }
  }
  return out;
}

/**
 * Converts a decoded message into the object's JSON (without `apiVersion` and `kind`).
 *
 * @param type The message type.
 * @param message The decoded message.
 * @returns The JSON object, as the API server would write it.
 *
 * @example
 * ```ts
 * import { messageFromObject, objectToJson } from "./convert.ts";
 * import { kindType } from "./schema.ts";
 * const type = kindType("v1", "ConfigMap")!;
 * const message = messageFromObject(type, { metadata: { name: "x" }, data: { a: "b" } });
 * const json = objectToJson(type, type.decode(type.encode(message).finish()));
 * console.assert((json.data as Record<string, string>).a === "b");
 * ```
 */
export function objectToJson(type: protobuf.Type, message: protobuf.Message): Json {
  const plain = type.toObject(message, { longs: Number, bytes: String, defaults: false });
  return messageToJson(type, plain as Json);
}

function unsupported(path: string, what: string): ProtobufUnsupportedError {
  return new ProtobufUnsupportedError(`${path || "."}: ${what}`);
}

function timeFromJson(value: unknown, path: string): Json {
  const parsed = typeof value === "string" ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed)) throw unsupported(path, "not an RFC 3339 time");
  const fraction = (value as string).match(/\.(\d{1,9})/)?.[1] ?? "";
  return {
    seconds: Math.floor(parsed / 1000),
    nanos: Number(fraction.padEnd(9, "0")) || 0,
  };
}

function specialFromJson(type: protobuf.Type, value: unknown, path: string): unknown {
  switch (type.fullName) {
    case TIME:
    case MICRO_TIME:
      return timeFromJson(value, path);
    case INT_OR_STRING:
      if (typeof value === "string") return { type: 1, strVal: value };
      if (Number.isInteger(value)) return { type: 0, intVal: value };
      throw unsupported(path, "not an integer or a string");
    case QUANTITY:
      if (typeof value === "string" || typeof value === "number") return { string: String(value) };
      throw unsupported(path, "not a quantity");
    case FIELDS_V1:
      return { Raw: new TextEncoder().encode(JSON.stringify(value)) };
    case RAW_EXTENSION:
      return { raw: new TextEncoder().encode(JSON.stringify(value)) };
  }
  return messageFromJson(type, value, path);
}

function scalarFromJson(field: protobuf.Field, value: unknown, path: string): unknown {
  const ok = field.type === "string"
    ? typeof value === "string"
    : field.type === "bool"
    ? typeof value === "boolean"
    : field.type === "bytes"
    ? typeof value === "string" && BASE64.test(value)
    : INT_TYPES.has(field.type)
    ? Number.isSafeInteger(value) &&
      (!INT32_TYPES.has(field.type) || Math.abs(value as number) <= 2 ** 31 - 1)
    : typeof value === "number";
  if (!ok) throw unsupported(path, `not a valid ${field.type}`);
  return value;
}

function valueFromJson(field: protobuf.Field, value: unknown, path: string): unknown {
  const type = messageType(field);
  return type ? specialFromJson(type, value, path) : scalarFromJson(field, value, path);
}

function messageFromJson(
  type: protobuf.Type,
  json: unknown,
  path: string,
  consumed?: Set<string>,
): Json {
  if (!isObject(json)) throw unsupported(path, "not an object");
  const out: Json = {};
  const used = new Set<string>();
  for (const field of type.fieldsArray) {
    const sub = messageType(field);
    if (inline(field) && sub) {
      const embedded = messageFromJson(sub, json, path, used);
      if (Object.keys(embedded).length > 0) out[field.name] = embedded;
      continue;
    }
    const v = json[field.name];
    if (v === undefined) continue;
    used.add(field.name);
    if (v === null) continue;
    const at = path ? `${path}.${field.name}` : field.name;
    if (field.map) {
      if (!isObject(v)) throw unsupported(at, "not a map");
      out[field.name] = Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, valueFromJson(field, x, `${at}[${k}]`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw unsupported(at, "not a list");
      out[field.name] = v.map((x, i) => valueFromJson(field, x, `${at}[${i}]`));
    } else {
      out[field.name] = valueFromJson(field, v, at);
    }
  }
  if (consumed) {
    for (const key of used) consumed.add(key);
  } else {
    const extra = Object.keys(json).find((key) => !used.has(key));
    if (extra !== undefined) {
      throw unsupported(path ? `${path}.${extra}` : extra, "not in the sandbox's protobuf schema");
    }
  }
  return out;
}

/**
 * Builds a message from an object's JSON (`apiVersion` and `kind` are ignored: they travel
 * in the envelope; so are a list's items').
 *
 * @param type The message type.
 * @param json The object's JSON.
 * @returns The message, ready for `type.encode`.
 * @throws {ProtobufUnsupportedError} For a field the schema does not define or a value of
 * the wrong type (with its JSON path).
 *
 * @example
 * ```ts
 * import { messageFromObject, ProtobufUnsupportedError } from "./convert.ts";
 * import { kindType } from "./schema.ts";
 * const type = kindType("v1", "Secret")!;
 * messageFromObject(type, { apiVersion: "v1", kind: "Secret", data: { k: "dg==" } });
 * let refused = false;
 * try {
 *   messageFromObject(type, { spec: {} });
 * } catch (error) {
 *   refused = error instanceof ProtobufUnsupportedError;
 * }
 * console.assert(refused);
 * ```
 */
export function messageFromObject(type: protobuf.Type, json: Json): protobuf.Message {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = json;
  if (type.name.endsWith("List") && Array.isArray(rest.items)) {
    // A list's items carry no TypeMeta on the wire (the list's kind implies theirs).
    rest.items = rest.items.map((item) => {
      if (!isObject(item)) return item;
      const { apiVersion: _v, kind: _k, ...fields } = item;
      return fields;
    });
  }
  return type.fromObject(messageFromJson(type, rest, ""));
}
