/**
 * Retries of Kubernetes API requests, in one place: the HTTP library every client-node API
 * class of a {@linkcode KubeClient} sends through (a real cluster's and the in-process
 * sandbox's alike, so `client.coordination.*` Lease calls get them too). A request is
 * abandoned after a per-attempt timeout on the client's clock and retried with jittered
 * exponential backoff (capped), waiting at least what a 429's `Retry-After` asks. What is
 * retried depends on what a repeat could do (see {@linkcode retryDecision}): reads, server-side
 * apply, merge patches and deletes are repeated; a POST is repeated only when its object is
 * named, and a 409 AlreadyExists after an answer that never came is re-read and compared
 * (ours: success; someone else's: the 409); a 409 Conflict on an update is re-read: unchanged
 * since the caller read it, the update is sent again; changed to what we sent, it is done;
 * changed otherwise, the caller gets the 409. A JSON Patch is not idempotent (`add` to an
 * array, `test`): it is repeated only when the server said it did nothing (429, 409).
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import { type Random, seededRandom } from "../random/mod.ts";

/** One HTTP request as sent (the credentials are in `headers`: never logged). */
export interface HttpAttempt {
  /** The method, e.g. `GET`. */
  readonly method: string;
  /** The full URL. */
  readonly url: string;
  /** The headers (with credentials). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, if any. */
  readonly body?: string | undefined;
}

/** One HTTP answer, read whole. */
export interface HttpAnswer {
  /** The status. */
  readonly status: number;
  /** The headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** The body. */
  readonly body: Uint8Array;
}

/** Sends one request; must end (reject) when `signal` aborts. */
export type HttpSend = (attempt: HttpAttempt, signal: AbortSignal) => Promise<HttpAnswer>;

/**
 * The numbers of the retry policy.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
 * const fast: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attempts: 3 };
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The first backoff's cap (target ms); each next one doubles, up to `maxMs`. */
  readonly baseMs: number;
  /** The largest backoff (target ms). */
  readonly maxMs: number;
  /** An attempt with no answer after this (target ms) is abandoned. */
  readonly timeoutMs: number;
  /**
   * On a scaled clock an attempt is never abandoned before this much real time (×240,
   * 20 s is 83 real ms: a busy machine would abandon healthy answers; one abandoned anyway
   * is only retried).
   */
  readonly minRealTimeoutMs: number;
  /**
   * On a virtual clock (time stands still while a request is in flight) an attempt is
   * abandoned after this much real time.
   */
  readonly virtualRealTimeoutMs: number;
  /** The longest `Retry-After` honoured (target ms); a longer one is cut to this. */
  readonly maxRetryAfterMs: number;
  /**
   * Attempts in all when the server cannot be reached at all (refused, no route: not a
   * timeout): a cluster that is not there is said so soon.
   */
  readonly unreachableAttempts: number;
}

/**
 * 8 attempts; backoff 250 ms doubling to 8 s, each drawn from [cap/2, cap) ("equal jitter");
 * at least `Retry-After` (at most 60 s); 20 s per attempt (at least 5 real s: beside a CPU hog on
 * our 2-core machine healthy sandbox answers took over 0.5 s; 30 real s on a
 * virtual clock); a server that cannot be reached at all, 3 attempts. A call that keeps
 * failing gives up after about 18 s of backoff.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 8,
  baseMs: 250,
  maxMs: 8_000,
  timeoutMs: 20_000,
  minRealTimeoutMs: 5_000,
  virtualRealTimeoutMs: 30_000,
  maxRetryAfterMs: 60_000,
  unreachableAttempts: 3,
});

/** One retry, as told to {@linkcode RetryOptions.onRetry}. */
export interface RetryEvent {
  /** `GET /api/v1/namespaces/x/configmaps/y` (no query, no credentials). */
  readonly call: string;
  /** The attempt that failed (1 = the first). */
  readonly attempt: number;
  /** Its status (0: no answer). */
  readonly status: number;
  /** Why it is retried, e.g. `429 (Retry-After 2 s)`, `timed out after 20000 ms`. */
  readonly reason: string;
  /** The wait before the next attempt (target ms). */
  readonly delayMs: number;
}

/** Options of {@linkcode retrying}. */
export interface RetryOptions {
  /** The clock of timeouts and waits. */
  readonly clock: Clock;
  /** The numbers (default {@linkcode DEFAULT_RETRY_POLICY}). */
  readonly policy?: Partial<RetryPolicy> | undefined;
  /** The jitter's draws (default seeded: the same calls wait the same). */
  readonly random?: Random | undefined;
  /**
   * Releases the caller's hold on the clock for a wait (a virtual clock cannot move while
   * held) and returns what takes it again.
   */
  readonly pause?: (() => () => void) | undefined;
  /** Told each retry. */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** The header a sandbox on a virtual clock tells a slow answer's delay with (target ms). */
const DELAY_HEADER = "x-simulated-delay-ms";
/** The header a given-up answer carries: how many attempts it took. */
export const ATTEMPTS_HEADER = "x-retry-attempts";

/** What to do after an outcome. */
export type RetryDecision = "retry" | "reconcile" | "final";

/** A write's outcome is unknown: no answer, or a 5xx that may come after the write. */
function ambiguous(status: number): boolean {
  return status === 0 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * What to do after an attempt's outcome (`status` 0: no answer in time).
 *
 * @param attempt The request.
 * @param status Its outcome.
 * @returns `retry` (send again), `reconcile` (a 409 on an update: re-read and compare) or
 *   `final` (the caller gets it).
 *
 * @example
 * ```ts
 * import { retryDecision } from "./retry.ts";
 * import assert from "node:assert/strict";
 * const get = { method: "GET", url: "http://k/api/v1/namespaces", headers: {} };
 * assert.equal(retryDecision(get, 503), "retry");
 * assert.equal(retryDecision(get, 404), "final");
 * const jsonPatch = { ...get, method: "PATCH", headers: { "Content-Type": "application/json-patch+json" } };
 * assert.equal(retryDecision(jsonPatch, 504), "final");
 * ```
 */
export function retryDecision(attempt: HttpAttempt, status: number): RetryDecision {
  const url = new URL(attempt.url);
  // A proxied answer is the pod's: only an answer that never came is the API's to retry.
  if (/\/proxy(\/|$)/.test(url.pathname)) return status === 0 ? "retry" : "final";
  if (status === 429) return "retry";
  const type = Object.entries(attempt.headers)
    .find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "";
  switch (attempt.method.toUpperCase()) {
    case "GET":
    case "HEAD":
    case "DELETE":
      return ambiguous(status) ? "retry" : "final";
    case "PUT":
      return ambiguous(status) ? "retry" : status === 409 ? conflicted(attempt) : "final";
    case "PATCH":
      if (type.startsWith("application/json-patch+json")) return status === 409 ? "retry" : "final";
      if (type.startsWith("application/apply-patch")) {
        return ambiguous(status) || status === 409 ? "retry" : "final";
      }
      // merge and strategic: the same patch again sets the same fields
      return ambiguous(status) ? "retry" : status === 409 ? conflicted(attempt) : "final";
    case "POST":
      return ambiguous(status) && nameOf(attempt.body) !== undefined ? "retry" : "final";
  }
  return "final";
}

/** A 409 on an update: re-read when it was conditional (a resourceVersion), else again. */
function conflicted(attempt: HttpAttempt): RetryDecision {
  return metaOf(parse(attempt.body)).resourceVersion === undefined ? "retry" : "reconcile";
}

function parse(body: string | Uint8Array | undefined): Record<string, unknown> | undefined {
  try {
    const text = typeof body === "string" ? body : new TextDecoder().decode(body);
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function metaOf(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const m = o?.metadata;
  return m && typeof m === "object" ? m as Record<string, unknown> : {};
}

function nameOf(body: string | undefined): string | undefined {
  const name = metaOf(parse(body)).name;
  return typeof name === "string" && name !== "" ? name : undefined;
}

/** Metadata the server sets: not what a writer asked for. */
const SERVER_SET = new Set([
  "resourceVersion",
  "uid",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
]);

/** Whether `actual` holds everything `expected` says (times compared as instants). */
export function holds(actual: unknown, expected: unknown, path = ""): boolean {
  if (expected === null || typeof expected !== "object") {
    if (actual === expected) return true;
    const [a, e] = [Date.parse(String(actual)), Date.parse(String(expected))];
    return typeof expected === "string" && /\d{4}-\d\d-\d\dT/.test(expected) && a === e &&
      !Number.isNaN(a);
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => holds(actual[i], e, path));
  }
  if (!actual || typeof actual !== "object") return false;
  return Object.entries(expected as Record<string, unknown>).every(([k, v]) =>
    (path === "metadata" && SERVER_SET.has(k)) ||
    holds((actual as Record<string, unknown>)[k], v, path === "" ? k : `${path}.${k}`)
  );
}

function callOf(attempt: HttpAttempt): string {
  return `${attempt.method.toUpperCase()} ${new URL(attempt.url).pathname}`;
}

function objectUrl(attempt: HttpAttempt, name?: string): string {
  const url = new URL(attempt.url);
  url.search = "";
  if (name !== undefined) {
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/${encodeURIComponent(name)}`;
  }
  return url.toString();
}

function readHeaders(attempt: HttpAttempt): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attempt.headers).filter(([k]) => k.toLowerCase() !== "content-type"),
  );
}

/** `Retry-After` in ms (seconds or an HTTP date), or 0. */
export function retryAfterMs(headers: Record<string, string>, nowMs: number): number {
  const value = headers["retry-after"];
  if (value === undefined) return 0;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}

function answerOf(status: number, headers: Record<string, string>, body: unknown): HttpAnswer {
  return {
    status,
    headers: { ...headers, "content-type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
}

/**
 * A sender that retries `send` by the policy. A request that keeps failing ends with its
 * last answer (carrying {@linkcode ATTEMPTS_HEADER}) or, when none came, an Error naming
 * the call, the attempts and the last failure (never a header: credentials stay out).
 *
 * @param send Sends one attempt.
 * @param options Clock, policy, jitter, hold release, retry callback.
 * @returns The retrying sender.
 *
 * @example
 * ```ts
 * import { retrying } from "./retry.ts";
 * import { scaledClock } from "../clock/mod.ts";
 * import assert from "node:assert/strict";
 * let n = 0;
 * const send = retrying(() => Promise.resolve({
 *   status: ++n < 3 ? 503 : 200, headers: {}, body: new Uint8Array(),
 * }), { clock: scaledClock(1_000), policy: { minRealTimeoutMs: 0 } });
 * assert.equal((await send({ method: "GET", url: "http://k/api", headers: {} })).status, 200);
 * assert.equal(n, 3);
 * ```
 */
export function retrying(
  send: HttpSend,
  options: RetryOptions,
): (attempt: HttpAttempt) => Promise<HttpAnswer> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const clock = options.clock;
  const random = options.random ?? seededRandom("kubernetes retry");
  const wait = async (ms: number) => {
    const resume = options.pause?.() ?? (() => {});
    try {
      await clock.sleep(ms);
    } finally {
      resume();
    }
  };
  const once = async (attempt: HttpAttempt): Promise<HttpAnswer | Error> => {
    const limit = clock.kind === "virtual"
      ? realClock.timeout(policy.virtualRealTimeoutMs)
      : clock.timeout(Math.max(policy.timeoutMs, policy.minRealTimeoutMs * clock.scale));
    let answer: HttpAnswer;
    try {
      answer = await raced(send(attempt, limit), limit);
    } catch (error) {
      if (limit.aborted) return new Error(`timed out after ${policy.timeoutMs} ms`);
      return Object.assign(error instanceof Error ? error : new Error(String(error)), {
        unreachable: true,
      });
    }
    const delay = Number(answer.headers[DELAY_HEADER] ?? 0);
    if (!(delay > 0)) return answer;
    delete answer.headers[DELAY_HEADER];
    if (delay < policy.timeoutMs) {
      await wait(delay);
      return answer;
    }
    await wait(policy.timeoutMs);
    return new Error(`timed out after ${policy.timeoutMs} ms`);
  };
  const run = async (attempt: HttpAttempt): Promise<HttpAnswer> => {
    let unsure = false; // an earlier attempt may have been done
    for (let n = 1;; n++) {
      const outcome = await once(attempt);
      const status = outcome instanceof Error ? 0 : outcome.status;
      let decision = retryDecision(attempt, status);
      if (!(outcome instanceof Error)) {
        const settled = await settle(attempt, outcome, decision, unsure, run);
        if (settled === "again") decision = "retry";
        else if (settled) return settled;
      }
      const unreachable = outcome instanceof Error && "unreachable" in outcome;
      const limit = unreachable ? policy.unreachableAttempts : policy.attempts;
      if (decision !== "retry" || n >= limit) {
        if (outcome instanceof Error) {
          throw new Error(
            `${callOf(attempt)}: no answer after ${n} attempt${
              n > 1 ? "s" : ""
            } (last: ${outcome.message})`,
            { cause: outcome },
          );
        }
        if (n > 1) outcome.headers[ATTEMPTS_HEADER] = String(n);
        return outcome;
      }
      unsure ||= ambiguous(status);
      const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
      const after = outcome instanceof Error
        ? 0
        : Math.min(policy.maxRetryAfterMs, retryAfterMs(outcome.headers, clock.now()));
      const delayMs = Math.max(after, Math.round(cap / 2 + random.next() * cap / 2));
      options.onRetry?.({
        call: callOf(attempt),
        attempt: n,
        status,
        reason: outcome instanceof Error
          ? outcome.message
          : `${status}${after ? ` (Retry-After ${after / 1000} s)` : ""}`,
        delayMs,
      });
      await wait(delayMs);
    }
  };
  return run;
}

/**
 * An answer that needs a re-read: a 409 on an update (unchanged since read: send again;
 * now what we sent: done), a 409 AlreadyExists or a 404 after an attempt that may have
 * been done (ours: done). Undefined: the answer stands as the decision says.
 */
async function settle(
  attempt: HttpAttempt,
  answer: HttpAnswer,
  decision: RetryDecision,
  unsure: boolean,
  read: (attempt: HttpAttempt) => Promise<HttpAnswer>,
): Promise<HttpAnswer | "again" | undefined> {
  const method = attempt.method.toUpperCase();
  if (method === "DELETE" && answer.status === 404 && unsure) {
    return answerOf(200, answer.headers, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
    });
  }
  const sent = parse(attempt.body);
  const create = method === "POST" && answer.status === 409 && unsure;
  if (!(create || decision === "reconcile") || !sent) return undefined;
  let now: HttpAnswer;
  try {
    now = await read({
      method: "GET",
      url: objectUrl(attempt, create ? nameOf(attempt.body) : undefined),
      headers: readHeaders(attempt),
    });
  } catch {
    return undefined; // the 409 stands
  }
  if (now.status !== 200) return undefined;
  const current = parse(now.body);
  const sentRv = metaOf(sent).resourceVersion;
  if (!create && sentRv !== undefined && metaOf(current).resourceVersion === sentRv) {
    return "again"; // nothing changed since the caller read it
  }
  if (create && parse(answer.body)?.reason !== "AlreadyExists") return undefined;
  return holds(current, sent) ? { ...now, status: create ? 201 : 200 } : undefined;
}

function raced<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
