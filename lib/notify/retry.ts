/**
 * Delivering one HTTP request to an outside service (a webhook, an API) with retries:
 * jittered exponential backoff waited on a {@linkcode Clock}, `Retry-After` honoured, a
 * deadline per attempt (a timeout is a failed attempt, retried like a network error), and
 * the verdict of the last attempt returned — never thrown, never dropped.
 *
 * What is retried: network errors, timeouts, 408, 429, 5xx, and a 403 that is a rate limit
 * (it carries `Retry-After`, or `x-ratelimit-remaining: 0`: GitHub's secondary and primary
 * limits). Any other 4xx is the caller's fault and is not retried. The deadline of an
 * attempt is real time (the service at the other end does not run faster in a scaled
 * rehearsal); the waits between attempts are on the given clock.
 * @module
 */
import { type Clock, realClock, timeoutError } from "../clock/clock.ts";
import { describeError } from "../probes/timeout.ts";

/**
 * How hard a delivery tries.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
 * const quick: RetryPolicy = { ...DEFAULT_RETRY, attempts: 2, timeoutMs: 1_000 };
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (at least 1). */
  readonly attempts: number;
  /** Deadline of one attempt, real milliseconds (sending and reading the answer). */
  readonly timeoutMs: number;
  /** The wait before the 2nd attempt (then doubled each time), before jitter. */
  readonly baseDelayMs: number;
  /** The longest wait between two attempts, before jitter. */
  readonly maxDelayMs: number;
  /** The longest `Retry-After` honoured; a service asking for longer is not retried. */
  readonly maxRetryAfterMs: number;
}

/**
 * The default policy: 4 attempts, 10 s each, waits of ~1 s, ~2 s, ~4 s (each between half and
 * all of it), at most 30 s; `Retry-After` up to 2 minutes.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_RETRY.attempts, 4);
 * ```
 */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  timeoutMs: 10_000,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/**
 * The wait before attempt `attempt + 1`: `base · 2^(attempt−1)` capped at `max`, then
 * "equal jitter" (between half and all of it), so clients that failed together do not
 * retry together.
 *
 * @param attempt The attempt that just failed (1 = the first).
 * @param policy The policy.
 * @param random A number in [0, 1) (default `Math.random()`).
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { backoffDelay, DEFAULT_RETRY } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(backoffDelay(1, DEFAULT_RETRY, 0), 500);
 * assert.equal(backoffDelay(3, DEFAULT_RETRY, 0.999999), 4_000 - 0.002);
 * ```
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: number = Math.random(),
): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return full / 2 + (full / 2) * random;
}

/**
 * The wait a response asks for: `Retry-After` (seconds, or an HTTP date), else GitHub's
 * `x-ratelimit-reset` (epoch seconds) when `x-ratelimit-remaining` is 0.
 *
 * @param headers The response's headers.
 * @param nowMs The current time (epoch ms), for dates.
 * @returns Milliseconds (≥ 0), or undefined when the response asks for nothing.
 *
 * @example
 * ```ts
 * import { retryAfterMs } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(retryAfterMs(new Headers({ "retry-after": "3" }), 0), 3_000);
 * assert.equal(retryAfterMs(new Headers(), 0), undefined);
 * ```
 */
export function retryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const text = headers.get("retry-after")?.trim();
  if (text) {
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  const reset = headers.get("x-ratelimit-reset");
  if (headers.get("x-ratelimit-remaining") === "0" && reset && /^\d+$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - nowMs);
  }
  return undefined;
}

/**
 * Whether an answer is worth another attempt: 408, 429, 5xx, and a 403 that is a rate limit.
 *
 * @param status The HTTP status.
 * @param headers Its headers.
 * @returns True to retry.
 *
 * @example
 * ```ts
 * import { retryableStatus } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(retryableStatus(503, new Headers()), true);
 * assert.equal(retryableStatus(403, new Headers()), false);
 * assert.equal(retryableStatus(403, new Headers({ "retry-after": "60" })), true);
 * assert.equal(retryableStatus(422, new Headers()), false);
 * ```
 */
export function retryableStatus(status: number, headers: Headers): boolean {
  if (status === 408 || status === 429 || status >= 500) return true;
  return status === 403 &&
    (headers.has("retry-after") || headers.get("x-ratelimit-remaining") === "0");
}

/**
 * Options of {@linkcode deliver}.
 *
 * @example
 * ```ts
 * import type { DeliverOptions } from "./retry.ts";
 * const o: DeliverOptions = { policy: { attempts: 2 } };
 * ```
 */
export interface DeliverOptions {
  /** The policy (default {@linkcode DEFAULT_RETRY}; fields left out keep theirs). */
  readonly policy?: Partial<RetryPolicy> | undefined;
  /** The clock the waits are on (default real time); each attempt is tracked on it. */
  readonly clock?: Clock | undefined;
  /** The fetch (default the global one). */
  readonly fetch?: typeof fetch | undefined;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: (() => number) | undefined;
  /** Cancels the delivery (an attempt in flight, or the wait). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * What a delivery came to. The response's body has been read whole (within the attempt's
 * deadline), so `response` can be read again by anyone.
 *
 * @example
 * ```ts
 * import type { Delivery } from "./retry.ts";
 * const failed: Delivery = { ok: false, attempts: 4, error: "timed out after 10000 ms" };
 * ```
 */
export interface Delivery {
  /** A 2xx arrived. */
  readonly ok: boolean;
  /** The last answer, when one arrived (its body already read into it). */
  readonly response?: Response | undefined;
  /** The last answer's body, as text (at most 64 KiB). */
  readonly body?: string | undefined;
  /** Attempts made. */
  readonly attempts: number;
  /** Why the last attempt failed (no answer, or `HTTP <status>: <body start>`). */
  readonly error?: string | undefined;
}

/** Statuses whose response may not have a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** One attempt under a real-time deadline; the body read whole. */
async function attemptOnce(
  doFetch: typeof fetch,
  input: string | URL | Request,
  init: RequestInit,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): Promise<{ response: Response; body: string }> {
  const controller = new AbortController();
  const cancel = realClock.schedule(
    timeoutMs,
    () => controller.abort(timeoutError(timeoutMs)),
    { persistent: false },
  );
  const signal = outer ? AbortSignal.any([controller.signal, outer]) : controller.signal;
  try {
    const answer = await doFetch(input instanceof Request ? input.clone() : input, {
      ...init,
      signal,
    });
    const bytes = new Uint8Array(await answer.arrayBuffer());
    const response = new Response(NULL_BODY.has(answer.status) ? null : bytes, {
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers,
    });
    return { response, body: new TextDecoder().decode(bytes.subarray(0, 65_536)) };
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    cancel();
  }
}

/**
 * Sends one request, retrying as the module says, and says how it went. Never throws,
 * except when `signal` aborted (its reason).
 *
 * @param input Where (and, for a `Request`, what: it is cloned per attempt).
 * @param init The request (its body must be replayable: a string or bytes).
 * @param options Policy, clock, fetch, jitter, signal.
 * @returns The last attempt's verdict.
 *
 * @example
 * ```ts
 * import { deliver } from "./retry.ts";
 * import assert from "node:assert/strict";
 * const d = await deliver("http://127.0.0.1:1/hook", { method: "POST", body: "{}" }, {
 *   policy: { attempts: 2, baseDelayMs: 1 },
 * });
 * assert.equal(d.ok, false);
 * assert.equal(d.attempts, 2);
 * ```
 */
export async function deliver(
  input: string | URL | Request,
  init: RequestInit,
  options: DeliverOptions = {},
): Promise<Delivery> {
  const policy = { ...DEFAULT_RETRY, ...options.policy };
  const attempts = Math.max(1, Math.floor(policy.attempts));
  const clock = options.clock ?? realClock;
  const doFetch = options.fetch ?? fetch;
  const random = options.random ?? Math.random;
  let last: Delivery = { ok: false, attempts: 0, error: "not sent" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait: number | undefined;
    try {
      const { response, body } = await clock.track(
        "an outside delivery",
        attemptOnce(doFetch, input, init, policy.timeoutMs, options.signal),
      );
      if (response.ok) return { ok: true, response, body, attempts: attempt };
      const said = body.replace(/\s+/g, " ").trim().slice(0, 300);
      last = {
        ok: false,
        response,
        body,
        attempts: attempt,
        error: `HTTP ${response.status}${said ? `: ${said}` : ""}`,
      };
      if (!retryableStatus(response.status, response.headers)) return last;
      const asked = retryAfterMs(response.headers, clock.now());
      if (asked !== undefined && asked > policy.maxRetryAfterMs) {
        return { ...last, error: `${last.error} (asked to retry after ${asked} ms: not waited)` };
      }
      wait = asked;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      last = { ok: false, attempts: attempt, error: describeError(err, policy.timeoutMs) };
    }
    if (attempt < attempts) {
      const ms = Math.max(wait ?? 0, backoffDelay(attempt, policy, random()));
      await backoffClock(clock).sleep(ms, { signal: options.signal });
    }
  }
  return last;
}

/**
 * The clock to wait on between attempts: `clock` itself, except a virtual clock, on which
 * a wait inside a call the runner holds whole would never end — its waits are real time.
 *
 * @param clock The run's clock.
 * @returns The clock to sleep on.
 *
 * @example
 * ```ts
 * import { backoffClock } from "./retry.ts";
 * import { realClock, virtualClock } from "../clock/mod.ts";
 * console.assert(backoffClock(virtualClock({ startMs: 0 })) === realClock);
 * ```
 */
export function backoffClock(clock: Clock): Clock {
  return clock.kind === "virtual" ? realClock : clock;
}
