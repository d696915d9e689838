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

/** The headers that announce a rate limit (IETF `RateLimit-*`, and the common `X-RateLimit-*`). */
export const RATE_LIMIT_HEADERS: readonly string[] = [
  "RateLimit-Limit",
  "RateLimit-Policy",
  "RateLimit",
  "X-RateLimit-Limit",
];

/**
 * The seed's "API rate limiting": a burst of requests (default 5) is answered, the last with
 * 200 or 429, and the answers announce the limit in a rate-limit header
 * ({@linkcode RATE_LIMIT_HEADERS}), so clients can back off before they are refused.
 *
 * @param url The URL to GET, e.g. `https://api.example.com/api/v1/health`.
 * @param options `requests` (default 5), headers, deadline, name, required.
 * @returns The check; evidence: url, statuses, rateLimit (header → value).
 *
 * @example
 * ```ts
 * import { rateLimitHeaders } from "./http_endpoint.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rateLimitHeaders("https://api.example.com/api/v1/health").name, "API rate limiting");
 * ```
 */
export function rateLimitHeaders(
  url: string,
  options: HttpCheckOptions & { readonly requests?: number } = {},
): Check {
  checkUrl(url, options.name ?? "API rate limiting");
  const requests = Math.max(1, options.requests ?? 5);
  return {
    name: options.name ?? "API rate limiting",
    required: options.required ?? true,
    run: async (ctx) => {
      const statuses: number[] = [];
      const rateLimit: Record<string, string> = {};
      for (let i = 0; i < requests; i++) {
        const r = await get(url, options, ctx.signal);
        if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, statuses, error: r.error });
        statuses.push(r.status);
        for (const name of RATE_LIMIT_HEADERS) {
          const value = r.headers.get(name);
          if (value !== null) rateLimit[name] = value;
        }
      }
      const evidence = { url, statuses, rateLimit };
      const last = statuses.at(-1)!;
      if (last !== 200 && last !== 429) {
        return fail(
          `${url} answered HTTP ${last} after ${requests} requests, not 200 or 429`,
          evidence,
        );
      }
      if (Object.keys(rateLimit).length === 0) {
        return fail(
          `${url} announces no rate limit (none of ${RATE_LIMIT_HEADERS.join(", ")})`,
          evidence,
        );
      }
      return pass(
        `${url} limits requests (${
          Object.entries(rateLimit).map(([k, v]) => `${k}: ${v}`).join(", ")
        }); ${requests} requests answered ${statuses.join(", ")}`,
        evidence,
      );
    },
  };
}
