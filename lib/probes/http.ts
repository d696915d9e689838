/**
 * One HTTP request with a deadline, measured, that never throws.
 * @module
 */
import { deadlineSignal, describeError } from "./timeout.ts";

/** Options for {@linkcode probeHttp}. */
export interface HttpProbeOptions {
  /** HTTP method (default `GET`). */
  readonly method?: string;
  /** Request headers. */
  readonly headers?: HeadersInit;
  /** Deadline in milliseconds for the whole exchange, body included (default 10 000). */
  readonly timeoutMs?: number;
  /** A signal to follow (e.g. the stage's). */
  readonly signal?: AbortSignal;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Read at most this many bytes of the body (default 1 MiB); the rest is discarded. */
  readonly maxBodyBytes?: number;
}

/** What {@linkcode probeHttp} saw. */
export type HttpProbeResult =
  | {
    /** A response arrived. */
    readonly ok: true;
    /** Its status. */
    readonly status: number;
    /** Its headers. */
    readonly headers: Headers;
    /** Its body as text (truncated to `maxBodyBytes`). */
    readonly body: string;
    /** Milliseconds from the request to the end of the body. */
    readonly latencyMs: number;
  }
  | {
    /** No response: refused, timed out, DNS failure... */
    readonly ok: false;
    /** Why, in one line. */
    readonly error: string;
    /** Milliseconds until the failure. */
    readonly latencyMs: number;
  };

async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, all.byteLength - offset);
    all.set(part, offset);
    offset += part.byteLength;
    if (offset >= all.byteLength) break;
  }
  return new TextDecoder().decode(all);
}

/**
 * Sends one HTTP request and reads the response, within a deadline. It never throws:
 * a failure to get a response is `{ ok: false, error }`.
 *
 * @param url The URL.
 * @param options Method, headers, deadline, signal, fetch.
 * @returns The response (status, headers, body, latency) or the error.
 *
 * @example
 * ```ts
 * import { probeHttp } from "./http.ts";
 * import assert from "node:assert/strict";
 * const result = await probeHttp("http://127.0.0.1:1/", { timeoutMs: 2_000 });
 * assert.equal(result.ok, false);
 * ```
 */
export async function probeHttp(
  url: string | URL,
  options: HttpProbeOptions = {},
): Promise<HttpProbeResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signal = deadlineSignal(timeoutMs, options.signal);
  const doFetch = options.fetch ?? fetch;
  const t0 = performance.now();
  try {
    const response = await doFetch(url, {
      method: options.method ?? "GET",
      ...(options.headers ? { headers: options.headers } : {}),
      signal,
      redirect: "manual",
    });
    const body = await readLimited(response, options.maxBodyBytes ?? 1 << 20);
    return {
      ok: true,
      status: response.status,
      headers: response.headers,
      body,
      latencyMs: round(performance.now() - t0),
    };
  } catch (err) {
    return {
      ok: false,
      error: describeError(signal.aborted ? signal.reason : err, timeoutMs),
      latencyMs: round(performance.now() - t0),
    };
  }
}

/**
 * Rounds milliseconds to a tenth, for evidence.
 *
 * @param ms Milliseconds.
 * @returns The rounded value.
 *
 * @example
 * ```ts
 * import { round } from "./http.ts";
 * import assert from "node:assert/strict";
 * assert.equal(round(1.234), 1.2);
 * ```
 */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
