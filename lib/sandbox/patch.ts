/**
 * The patch types: JSON merge patch (RFC 7386), strategic merge patch (list merge keys,
 * `$patch` directives) and JSON patch (RFC 6902).
 * @module
 */
import { ApiError } from "./errors.ts";

type Json = unknown;
type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The merge key of a list field for strategic merge patch and server-side apply,
 * or undefined for an atomic list. `items` is a sample of the list's elements.
 */
export function listMergeKey(field: string, items: unknown[]): string | undefined {
  const first = items.find(isMap);
  if (!first) return undefined;
  switch (field) {
    case "containers":
    case "initContainers":
    case "env":
    case "volumes":
    case "imagePullSecrets":
    // A PrometheusRule's spec.groups (x-kubernetes-list-map-keys: [name] in its CRD).
    case "groups":
      return "name";
    case "volumeMounts":
      return "mountPath";
    case "conditions":
      return "type";
    case "ports":
      if ("containerPort" in first) return "containerPort";
      if ("port" in first) return "port";
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Apply an RFC 7386 JSON merge patch.
 *
 * @example
 * ```ts
 * import { mergePatch } from "./patch.ts";
 * const out = mergePatch({ a: 1, b: 2 }, { b: null, c: 3 });
 * console.assert(JSON.stringify(out) === '{"a":1,"c":3}');
 * ```
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return structuredClone(patch);
  const out: JsonMap = isMap(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Apply a strategic merge patch (merge keys from {@linkcode listMergeKey}). */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return structuredClone(patch);
  if (patch.$patch === "replace") {
    const copy = structuredClone(patch);
    delete copy.$patch;
    return copy;
  }
  if (patch.$patch === "delete") return undefined;
  const out: JsonMap = isMap(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$setElementOrder/") || key === "$retainKeys" || key === "$patch") continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const name = key.slice("$deleteFromPrimitiveList/".length);
      const list = out[name];
      if (Array.isArray(list) && Array.isArray(value)) {
        out[name] = list.filter((v) => !value.includes(v));
      }
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    if (Array.isArray(value)) {
      const current = out[key];
      const mergeKey = listMergeKey(key, [...value, ...(Array.isArray(current) ? current : [])]);
      if (mergeKey && Array.isArray(current)) {
        out[key] = mergeList(current, value, mergeKey);
      } else {
        out[key] = value.filter((v) => !(isMap(v) && v.$patch === "delete"));
      }
      continue;
    }
    const merged = strategicMergePatch(out[key], value);
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  return out;
}

function mergeList(
  current: unknown[],
  patch: unknown[],
  mergeKey: string,
): unknown[] {
  const out = structuredClone(current);
  for (const item of patch) {
    if (!isMap(item)) continue;
    const key = item[mergeKey];
    const index = out.findIndex((c) => isMap(c) && c[mergeKey] === key);
    if (item.$patch === "delete") {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMergePatch(out[index], item);
    else out.push(strategicMergePatch({}, item));
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw ApiError.badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split("/").map(unescapePointer);
}

function getAt(doc: Json, path: string[]): Json {
  let cur = doc;
  for (const token of path) {
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isMap(cur)) cur = cur[token];
    else return undefined;
  }
  return cur;
}

function containerAt(doc: Json, path: string[], op: string, pointer: string): Json {
  const parent = getAt(doc, path.slice(0, -1));
  if (parent === undefined || parent === null || typeof parent !== "object") {
    throw ApiError.badRequest(
      `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
    );
  }
  return parent;
}

/**
 * Apply an RFC 6902 JSON patch (add, remove, replace, move, copy, test).
 * Throws 400 BadRequest (or 422 for a failed test) when an operation cannot apply.
 */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) {
    throw ApiError.badRequest(
      "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    );
  }
  let doc = structuredClone(target);
  for (const raw of operations) {
    if (!isMap(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") {
      throw ApiError.badRequest("the server rejected our request due to an error in our request");
    }
    const { op, path: pointer } = raw as { op: string; path: string };
    const path = parsePointer(pointer);
    const last = path[path.length - 1] ?? "";
    const write = (value: Json) => {
      if (path.length === 0) {
        doc = value;
        return;
      }
      const parent = containerAt(doc, path, op, pointer);
      if (Array.isArray(parent)) {
        const index = last === "-" ? parent.length : Number(last);
        if (!Number.isInteger(index) || index < 0 || index > parent.length) {
          throw ApiError.badRequest(
            `the server rejected our request due to an error in our request: ${op} operation does not apply: index out of bounds: "${pointer}"`,
          );
        }
        if (op === "replace") parent[index] = value;
        else parent.splice(index, 0, value);
      } else (parent as JsonMap)[last] = value;
    };
    const remove = (): Json => {
      const parent = containerAt(doc, path, op, pointer);
      if (Array.isArray(parent)) {
        const index = Number(last);
        if (!(index >= 0 && index < parent.length)) {
          throw ApiError.badRequest(
            `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
          );
        }
        return parent.splice(index, 1)[0];
      }
      const map = parent as JsonMap;
      if (!Object.hasOwn(map, last)) {
        throw ApiError.badRequest(
          `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
        );
      }
      const value = map[last];
      delete map[last];
      return value;
    };
    switch (op) {
      case "add":
        write(structuredClone(raw.value));
        break;
      case "remove":
        remove();
        break;
      case "replace":
        if (path.length > 0 && getAt(doc, path) === undefined) {
          throw ApiError.badRequest(
            `the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: ${pointer}: missing value`,
          );
        }
        write(structuredClone(raw.value));
        break;
      case "move":
      case "copy": {
        const from = parsePointer(String(raw.from ?? ""));
        const value = structuredClone(getAt(doc, from));
        if (value === undefined) {
          throw ApiError.badRequest(
            `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing from path: "${raw.from}"`,
          );
        }
        if (op === "move") {
          const parent = getAt(doc, from.slice(0, -1));
          const key = from[from.length - 1] ?? "";
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else if (isMap(parent)) delete parent[key];
        }
        write(value);
        break;
      }
      case "test":
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(raw.value)) {
          throw new ApiError(
            422,
            `the server rejected our request due to an error in our request: testing value ${pointer} failed: test failed`,
            { reason: "Invalid" },
          );
        }
        break;
      default:
        throw ApiError.badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/**
 * Apply a JSON, merge or strategic merge patch by its content type; strategic merge is
 * refused with 415 for custom resources (`custom`), as the real server does.
 */
export function applyPatch(
  current: Json,
  patch: { contentType: string; body: Json; custom: boolean },
): Json {
  const accepted =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
  switch (patch.contentType) {
    case "application/json-patch+json":
      return jsonPatch(current, patch.body);
    case "application/merge-patch+json":
      return mergePatch(current, patch.body);
    case "application/strategic-merge-patch+json":
      if (patch.custom) {
        throw ApiError.unsupportedMediaType(
          `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
        );
      }
      return strategicMergePatch(current, patch.body);
    default:
      throw ApiError.unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: ${accepted}${
          patch.custom ? "" : ", application/strategic-merge-patch+json"
        }`,
      );
  }
}
