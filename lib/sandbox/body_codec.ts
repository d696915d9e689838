/**
 * The media types of the sandbox API's bodies: a request body read into an object (JSON or
 * YAML), and an answer encoded for what the client accepts. The one place the API server
 * meets a body's wire format.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { ApiError } from "./errors.ts";

/**
 * Reads a request's body into an object.
 *
 * @param request The request (its `content-type` names the format).
 * @param yaml Whether the body may be YAML (server-side apply).
 * @returns The decoded body.
 * @throws {ApiError} 415 for a format the sandbox cannot read, 400 for a body that does not parse.
 *
 * @example
 * ```ts
 * import { readBody } from "./body_codec.ts";
 * const body = await readBody(new Request("http://x", { method: "POST", body: '{"a":1}' }));
 * console.assert((body as { a: number }).a === 1);
 * ```
 */
export async function readBody(request: Request, yaml = false): Promise<unknown> {
  if ((request.headers.get("content-type") ?? "").includes("protobuf")) {
    throw ApiError.unsupportedMediaType(
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (the sandbox does not decode protobuf)",
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
 * Encodes an answer for the request's `Accept` (today: the JSON answer as it is).
 *
 * @param request The request.
 * @param response The API's answer, JSON.
 * @returns The answer in a media type the client accepts.
 *
 * @example
 * ```ts
 * import { encodeResponse } from "./body_codec.ts";
 * const r = await encodeResponse(new Request("http://x"), Response.json({ kind: "Status" }));
 * console.assert(r.status === 200);
 * ```
 */
export function encodeResponse(_request: Request, response: Response): Promise<Response> {
  return Promise.resolve(response);
}
