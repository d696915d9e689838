/**
 * Query parameters as the real API server reads them. Its booleans (`watch`,
 * `allowWatchBookmarks`, `sendInitialEvents`, `force`, a log's `follow`, `previous` and
 * `timestamps`...) go through apimachinery's query conversion
 * (`k8s.io/apimachinery/pkg/runtime/conversion.go`, `Convert_Slice_string_To_bool`): only an
 * absent parameter, `0` and `false` in any case are false, every other value is true — so
 * `watch=True` (the Python client), `watch=1` and `watch=true` all watch. `pretty` alone is
 * read with Go's `strconv.ParseBool` (a value it cannot parse is false). Integers are
 * parsed like `strconv.ParseInt`, a bad one answered 400 naming the parameter.
 * @module
 */
import { ApiError } from "./errors.ts";

/**
 * A boolean query parameter, read as the API server's query conversion reads it.
 *
 * @param params The request's query.
 * @param name The parameter.
 * @returns False when absent, `0`, or `false` in any case; true for any other value.
 *
 * @example
 * ```ts
 * import { queryBool } from "./query.ts";
 * import assert from "node:assert/strict";
 * assert.equal(queryBool(new URLSearchParams("watch=True"), "watch"), true);
 * assert.equal(queryBool(new URLSearchParams("watch=1"), "watch"), true);
 * assert.equal(queryBool(new URLSearchParams("watch=FALSE"), "watch"), false);
 * assert.equal(queryBool(new URLSearchParams("watch=0"), "watch"), false);
 * assert.equal(queryBool(new URLSearchParams(""), "watch"), false);
 * ```
 */
export function queryBool(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null) return false;
  return !(value === "0" || value.toLowerCase() === "false");
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);

/**
 * Go's `strconv.ParseBool`: `1 t T TRUE true True` are true, `0 f F FALSE false False` false.
 *
 * @param text The text.
 * @returns The boolean, or undefined when Go would answer an error.
 *
 * @example
 * ```ts
 * import { parseGoBool } from "./query.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseGoBool("T"), true);
 * assert.equal(parseGoBool("False"), false);
 * assert.equal(parseGoBool("yes"), undefined);
 * ```
 */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/**
 * Whether an answer is pretty-printed: `pretty` read with `strconv.ParseBool`, an unparsable
 * or absent value being false (the API server's `isPrettyPrint`).
 *
 * @param params The request's query.
 * @returns Whether to indent the JSON answer.
 *
 * @example
 * ```ts
 * import { queryPretty } from "./query.ts";
 * import assert from "node:assert/strict";
 * assert.equal(queryPretty(new URLSearchParams("pretty=true")), true);
 * assert.equal(queryPretty(new URLSearchParams("pretty=yes")), false);
 * ```
 */
export function queryPretty(params: URLSearchParams): boolean {
  return parseGoBool(params.get("pretty") ?? "") ?? false;
}

/**
 * An integer query parameter (`timeoutSeconds`, `limit`, `sinceSeconds`...).
 *
 * @param params The request's query.
 * @param name The parameter.
 * @returns The number, or undefined when absent or empty.
 * @throws {ApiError} 400 naming the parameter when it is not a base-10 integer.
 *
 * @example
 * ```ts
 * import { queryInt } from "./query.ts";
 * import assert from "node:assert/strict";
 * assert.equal(queryInt(new URLSearchParams("timeoutSeconds=30"), "timeoutSeconds"), 30);
 * assert.throws(() => queryInt(new URLSearchParams("limit=ten"), "limit"), /limit/);
 * ```
 */
export function queryInt(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === "") return undefined;
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw ApiError.badRequest(
      `the query parameter ${name} is not an integer: strconv.ParseInt: parsing ${
        JSON.stringify(text)
      }: invalid syntax`,
    );
  }
  return Number(text);
}

/**
 * The answer with its JSON indented (`?pretty=true`); a stream or another body as it is.
 *
 * @param response The answer.
 * @returns The same answer, its JSON body indented by two spaces.
 *
 * @example
 * ```ts
 * import { prettyPrinted } from "./query.ts";
 * import assert from "node:assert/strict";
 * const res = new Response('{"a":1}', { headers: { "content-type": "application/json" } });
 * assert.equal(await (await prettyPrinted(res)).text(), '{\n  "a": 1\n}\n');
 * ```
 */
export async function prettyPrinted(response: Response): Promise<Response> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json") || response.headers.has("transfer-encoding")) {
    return response;
  }
  const text = await response.text();
  let body = text;
  try {
    body = JSON.stringify(JSON.parse(text), null, 2) + "\n";
  } catch {
    // not JSON after all: as it was
  }
  return new Response(body, { status: response.status, headers: response.headers });
}
