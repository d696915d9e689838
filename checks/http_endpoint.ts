/**
 * A general HTTP check: an endpoint answers with an expected status (and optionally a
 * body matching a pattern) within a latency bound. It covers the seed's "External API
 * connectivity" (`/health` says ok), "API authentication" (a bad token gets 401/403)
 * and "API response time" (under 2 s).
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { fail, pass } from "./_outcome.ts";
import { checkUrl, excerpt, get } from "./_http.ts";
import type { HttpCheckOptions } from "./options.ts";

/** Options for {@linkcode httpEndpoint}. */
export interface HttpEndpointOptions extends HttpCheckOptions {
  /** Acceptable statuses (default `[200]`). */
  readonly expectStatus?: readonly number[];
  /** The body must match this. */
  readonly bodyMatches?: RegExp;
  /** The longest acceptable response time in milliseconds (default 2 000). */
  readonly maxLatencyMs?: number;
}

/**
 * The endpoint answers with an expected status, body and latency.
 *
 * @param url The URL to GET.
 * @param options Statuses, body pattern, latency bound, headers, deadline, name, required.
 * @returns The check; evidence: url, status, latencyMs, and a body excerpt when it fails.
 *
 * @example
 * ```ts
 * import { httpEndpoint } from "./http_endpoint.ts";
 * import assert from "node:assert/strict";
 * const check = httpEndpoint("https://api.example.com/api/v1/user", {
 *   name: "API authentication",
 *   headers: { authorization: "Bearer test-token" },
 *   expectStatus: [401, 403],
 * });
 * assert.equal(check.name, "API authentication");
 * ```
 */
export function httpEndpoint(url: string, options: HttpEndpointOptions = {}): Check {
  checkUrl(url, options.name ?? "HTTP endpoint");
  const expectStatus = options.expectStatus ?? [200];
  const maxLatencyMs = options.maxLatencyMs ?? 2_000;
  return {
    name: options.name ?? `HTTP endpoint: ${url}`,
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, error: r.error });
      const evidence: Record<string, unknown> = {
        url,
        status: r.status,
        expectStatus,
        latencyMs: r.latencyMs,
        maxLatencyMs,
      };
      if (!expectStatus.includes(r.status)) {
        return fail(`${url} answered HTTP ${r.status}, expected ${expectStatus.join(" or ")}`, {
          ...evidence,
          body: excerpt(r.body, 120),
        });
      }
      if (options.bodyMatches && !options.bodyMatches.test(r.body)) {
        return fail(`${url} body does not match ${options.bodyMatches}`, {
          ...evidence,
          body: excerpt(r.body, 120),
        });
      }
      if (r.latencyMs > maxLatencyMs) {
        return fail(`${url} answered in ${r.latencyMs} ms (limit ${maxLatencyMs} ms)`, evidence);
      }
      return pass(`${url} answered HTTP ${r.status} in ${r.latencyMs} ms`, evidence);
    },
  };
}
