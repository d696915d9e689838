/**
 * The media types of the sandbox API's bodies: a request body read into an object (JSON,
 * YAML, or Kubernetes protobuf), and an answer encoded for what the client accepts (protobuf
 * when the client prefers it and the kind has a schema, JSON otherwise). The one place the
 * API server meets a body's wire format.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { ApiError } from "./errors.ts";
import {
  decodeObject,
  encodeObject,
  PROTOBUF_MEDIA_TYPE,
  ProtobufSyntaxError,
  ProtobufUnsupportedError,
} from "./protobuf/mod.ts";

/** Paths whose answers are streams or another server's bytes: never re-encoded. */
const PASS_THROUGH = /\/(?:watch|proxy|log|exec|attach|portforward)(?:\/|$)/;
const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);

function mediaType(header: string | null): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

async function readProtobuf(request: Request): Promise<unknown> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  try {
    return decodeObject(bytes);
  } catch (error) {
    if (error instanceof ProtobufSyntaxError) {
      throw ApiError.badRequest(`couldn't decode the protobuf body: ${error.message}`);
    }
    if (error instanceof ProtobufUnsupportedError) {
      throw ApiError.unsupportedMediaType(`${error.message}`);
    }
    throw error;
  }
}

/**
 * Reads a request's body into an object.
 *
 * @param request The request (its `content-type` names the format).
 * @param yaml Whether the body may be YAML (server-side apply).
 * @returns The decoded body.
 * @throws {ApiError} 415 for a format (or a protobuf kind) the sandbox cannot read, 400 for a
 * body that does not parse.
 *
 * @example
 * ```ts
 * import { readBody } from "./body_codec.ts";
 * const body = await readBody(new Request("http://x", { method: "POST", body: '{"a":1}' }));
 * console.assert((body as { a: number }).a === 1);
 * ```
 */
export async function readBody(request: Request, yaml = false): Promise<unknown> {
  const contentType = request.headers.get("content-type") ?? "";
  if (mediaType(contentType) === PROTOBUF_MEDIA_TYPE) return await readProtobuf(request);
  if (contentType.includes("protobuf")) {
    throw ApiError.unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF_MEDIA_TYPE}`,
    );
  }
  const text = await request.text();
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw ApiError.badRequest(
      `couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

/**
 * Whether an `Accept` header prefers Kubernetes protobuf (plain, not a watch stream or a
 * Table) over JSON, weighing `q` values and then order, as the API server negotiates.
 *
 * @param accept The `Accept` header.
 * @returns `true` when protobuf is the client's first choice.
 *
 * @example
 * ```ts
 * import { prefersProtobuf } from "./body_codec.ts";
 * console.assert(prefersProtobuf("application/vnd.kubernetes.protobuf,application/json"));
 * console.assert(!prefersProtobuf("application/json;q=1,application/vnd.kubernetes.protobuf;q=0.5"));
 * ```
 */
export function prefersProtobuf(accept: string): boolean {
  const entries = accept.split(",").map((part, index) => {
    const [type = "", ...params] = part.split(";").map((s) => s.trim());
    const q = params.find((p) => p.startsWith("q="));
    return {
      type: type.toLowerCase(),
      q: q ? Number(q.slice(2)) : 1,
      plain: params.every((p) => p.startsWith("q=")),
      index,
    };
  }).filter((e) => e.q > 0 && e.type !== "");
  entries.sort((a, b) => b.q - a.q || a.index - b.index);
  const first = entries[0];
  return first !== undefined && first.type === PROTOBUF_MEDIA_TYPE && first.plain;
}

function reencodable(request: Request, response: Response): boolean {
  const url = new URL(request.url);
  return response.status !== 101 && response.body !== null &&
    mediaType(response.headers.get("content-type")) === "application/json" &&
    !PASS_THROUGH.test(url.pathname) && !TRUE.has(url.searchParams.get("watch") ?? "") &&
    prefersProtobuf(request.headers.get("accept") ?? "");
}

/**
 * Encodes an answer for the request's `Accept`: an object or list of a kind with a protobuf
 * schema goes out as protobuf when the client prefers it; watch streams, Tables, logs,
 * proxied answers, other kinds and objects with fields the schema lacks stay JSON
 * (client-go accepts JSON when it asked for `protobuf,json`).
 *
 * @param request The request.
 * @param response The API's answer, JSON.
 * @returns The answer in a media type the client accepts (status and headers kept).
 *
 * @example
 * ```ts
 * import { encodeResponse } from "./body_codec.ts";
 * const request = new Request("http://x/api/v1/namespaces/a", {
 *   headers: { accept: "application/vnd.kubernetes.protobuf,application/json" },
 * });
 * const answer = Response.json({ apiVersion: "v1", kind: "Namespace", metadata: { name: "a" } });
 * const r = await encodeResponse(request, answer);
 * console.assert(r.headers.get("content-type") === "application/vnd.kubernetes.protobuf");
 * ```
 */
export async function encodeResponse(request: Request, response: Response): Promise<Response> {
  if (!reencodable(request, response)) return response;
  const text = await response.text();
  const init = { status: response.status, statusText: response.statusText };
  const asJson = () => new Response(text, { ...init, headers: response.headers });
  let object: unknown;
  try {
    object = JSON.parse(text);
  } catch {
    return asJson();
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) return asJson();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = encodeObject(object as Record<string, unknown>);
  } catch (error) {
    if (error instanceof ProtobufUnsupportedError) return asJson();
    throw error;
  }
  const headers = new Headers(response.headers);
  headers.set("content-type", PROTOBUF_MEDIA_TYPE);
  headers.delete("content-length");
  return new Response(bytes, { ...init, headers });
}
