/**
 * The `api-chaos` scenario: a flaky API server. A seeded share of the Kubernetes API's
 * requests (`/api`, `/apis`) get a fault instead of (or after) their answer: 500 and 503
 * before anything is done, 504 after the write was done, 409 Conflict on updates, 429 with
 * `Retry-After`, an answer slower than a client's timeout (the write done), and watches that
 * end early or answer 410 Expired. Its text is `api-chaos[:<rate>][/<fault>[+<fault>...]]`
 * (default rate 5%; every fault kind unless some are named), e.g. `api-chaos:30%`,
 * `api-chaos:100%/throttle`. The same seed and the same requests draw the same faults.
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import { type Random, seededRandom } from "../random/mod.ts";
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import { ApiError } from "./errors.ts";
import { queryBool } from "./query.ts";

/** The scenario's name. */
export const API_CHAOS = "api-chaos";

/** The scenario's default rate: the share of API requests that get a fault. */
export const DEFAULT_API_CHAOS_RATE = 0.05;

/**
 * The header a sandbox on a virtual clock answers a slow request with, instead of waiting:
 * virtual time stands still while a request is in flight, so the delay is told (target ms)
 * and the client waits it on its clock (see `lib/kubernetes/retry.ts`).
 */
export const SIMULATED_DELAY_HEADER = "x-simulated-delay-ms";

/** How long a slow answer takes (target ms; on a wall clock at least 5 s of real time). */
export const SLOW_ANSWER_MS = 60_000;

/** One fault kind of {@linkcode API_FAULTS}. */
export type ApiFault =
  | "internal"
  | "unavailable"
  | "timeout"
  | "conflict"
  | "throttle"
  | "slow"
  | "watch-drop"
  | "watch-expired";

/** The fault kinds, with what each does. */
export const API_FAULTS: Readonly<Record<ApiFault, string>> = Object.freeze({
  internal: "500 InternalError, before anything is done",
  unavailable: "503 ServiceUnavailable, before anything is done",
  timeout: "504 Timeout after the write was done (POST, PUT, PATCH, DELETE)",
  conflict: "409 Conflict on an update (PUT, PATCH), nothing done",
  throttle: "429 TooManyRequests with Retry-After (1-3 s), nothing done",
  slow: "the answer comes 60 s late (the request was done)",
  "watch-drop": "a watch stream ends early (after 0-2 events or 10 s)",
  "watch-expired": "a watch from a resourceVersion answers 410 Expired (an ERROR event)",
});

/** The scenario's one-line description (for `SCENARIOS`). */
export const API_CHAOS_TEXT = "a flaky Kubernetes API: 5% of /api and /apis requests fail " +
  "(500, 503, 504 after the write, 409 Conflict on updates, 429 with Retry-After, answers " +
  "60 s late, watches dropped or 410 Expired); api-chaos:30% for another rate, " +
  `api-chaos:100%/throttle+slow for some faults only (${Object.keys(API_FAULTS).join(", ")})`;

/**
 * A parsed `api-chaos` part.
 *
 * @example
 * ```ts
 * import type { ApiChaosSpec } from "./api_chaos.ts";
 * const spec: ApiChaosSpec = { rate: 0.3, faults: ["throttle"] };
 * ```
 */
export interface ApiChaosSpec {
  /** The share of API requests that get a fault (0..1]. */
  readonly rate: number;
  /** The fault kinds drawn from (all of them when omitted). */
  readonly faults?: readonly ApiFault[];
}

function refuse(text: string, why: string): never {
  throw new RangeError(
    `Cannot use scenario "${text}": ${why}. Valid form: ${API_CHAOS}[:<rate>][/<fault>[+<fault>...]], ` +
      `e.g. "${API_CHAOS}:30%" or "${API_CHAOS}:100%/throttle+slow"; faults: ${
        Object.keys(API_FAULTS).join(", ")
      }`,
  );
}

/**
 * Reads one `api-chaos` part of a scenario.
 *
 * @param part The part, e.g. `api-chaos:30%`.
 * @param text The whole scenario (for the message).
 * @returns The spec.
 * @throws {RangeError} For a bad rate or an unknown fault kind.
 *
 * @example
 * ```ts
 * import { parseApiChaos } from "./api_chaos.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseApiChaos("api-chaos"), { rate: 0.05 });
 * assert.deepEqual(parseApiChaos("api-chaos:30%/slow"), { rate: 0.3, faults: ["slow"] });
 * assert.throws(() => parseApiChaos("api-chaos:0%"), /rate/);
 * ```
 */
export function parseApiChaos(part: string, text: string = part): ApiChaosSpec {
  const m = /^api-chaos(?::([^/@]*))?(?:\/(.*))?$/.exec(part.trim());
  if (!m) refuse(text, `"${part}" takes a rate and fault kinds, not an onset`);
  let rate = DEFAULT_API_CHAOS_RATE;
  if (m[1] !== undefined) {
    const r = /^(\d+(?:\.\d+)?)%$/.exec(m[1]);
    rate = r ? Number(r[1]) / 100 : NaN;
    if (!(rate > 0 && rate <= 1)) {
      refuse(text, `the rate of ${API_CHAOS} is a percentage above 0% up to 100% like "5%"`);
    }
  }
  if (m[2] === undefined) return { rate };
  const faults = m[2].split("+");
  for (const f of faults) {
    if (!Object.hasOwn(API_FAULTS, f)) refuse(text, `unknown ${API_CHAOS} fault "${f}"`);
  }
  return { rate, faults: faults as ApiFault[] };
}

/**
 * Splits a scenario's `api-chaos` part from the rest.
 *
 * @param text The scenario as written.
 * @returns The spec (undefined when there is none) and the other parts, joined by ",".
 * @throws {RangeError} For a malformed or repeated `api-chaos` part.
 *
 * @example
 * ```ts
 * import { splitApiChaos } from "./api_chaos.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitApiChaos("canary-errors,api-chaos:30%"), {
 *   chaos: { rate: 0.3 },
 *   rest: "canary-errors",
 * });
 * ```
 */
export function splitApiChaos(
  text: string | undefined,
): { chaos: ApiChaosSpec | undefined; rest: string } {
  const whole = (text ?? "").trim();
  let chaos: ApiChaosSpec | undefined;
  const rest: string[] = [];
  for (const raw of whole === "" ? [] : whole.split(",")) {
    const part = raw.trim();
    if (!/^api-chaos(?![a-z-])/.test(part)) {
      rest.push(part);
      continue;
    }
    if (chaos) refuse(whole, `${API_CHAOS} is given twice`);
    chaos = parseApiChaos(part, whole);
  }
  return { chaos, rest: rest.join(",") };
}

/** How many requests were seen and which faults they got (for tests and the bench). */
export interface ApiChaosStats {
  /** API requests seen (the exempt ones not counted). */
  requests: number;
  /** Faults injected, by kind. */
  faults: Record<ApiFault, number>;
}

type RequestClass = "read" | "update" | "write" | "watch";

/** The weights of each fault per kind of request (a kind absent from a class never hits it). */
const WEIGHTS: Readonly<Record<RequestClass, Partial<Record<ApiFault, number>>>> = {
  read: { internal: 2, unavailable: 2, throttle: 3, slow: 2 },
  update: { internal: 1, unavailable: 2, timeout: 1, conflict: 3, throttle: 2, slow: 1 },
  write: { internal: 1, unavailable: 2, timeout: 2, throttle: 2, slow: 1 },
  watch: { "watch-drop": 3, "watch-expired": 1 },
};

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      ...headers,
    },
  });
}

/** Which requests are the Kubernetes API's, and of which class. */
function classify(request: Request, url: URL): RequestClass | undefined {
  const path = url.pathname.replace(/\/+$/, "");
  if (!/^\/apis?(\/|$)/.test(path)) return undefined;
  // The sandbox's measurements are its metrics source (a Prometheus stand-in): their fault
  // is `metrics-down`, not the API's.
  if (path.startsWith(`/apis/${SANDBOX_API_GROUP}/`)) return undefined;
  // A proxied answer is the pod's (pod traffic): its status is not the API server's.
  if (/\/(pods|services)\/[^/]+\/proxy(\/|$)/.test(path)) return undefined;
  // A request without a client's User-Agent (none, as a `new Request` handed to the sandbox
  // in-process has, or a bare `fetch`'s `Deno/...`) is the harness around the run, not a
  // Kubernetes client: it seeds the history a real cluster would have (backup Jobs), publishes
  // the companions' addresses, reads sandbox-info, or observes a simulation. Its faults would
  // fail the setup, not test the tool. Every Kubernetes client names itself (client-go and
  // kubectl, client-node, this tool's client in-process too).
  const agent = request.headers.get("user-agent") ?? "";
  if (agent === "" || agent.startsWith("Deno/")) return undefined;
  if (request.method === "GET" && queryBool(url.searchParams, "watch")) return "watch";
  if (request.method === "GET" || request.method === "HEAD") return "read";
  if (request.method === "PUT" || request.method === "PATCH") return "update";
  return "write";
}

/** The object a path names, for a Conflict's message. */
function objectOf(url: URL): { plural: string; name: string; group: string } {
  const s = url.pathname.split("/").filter(Boolean);
  const group = s[0] === "apis" ? s[1] ?? "" : "";
  const rest = s.slice(s[0] === "apis" ? 3 : 2);
  const at = rest[0] === "namespaces" && rest.length >= 4 ? 2 : 0;
  return { plural: rest[at] ?? "", name: rest[at + 1] ?? "", group };
}

/**
 * The fault injector of one sandbox: wraps its request handler.
 *
 * @example
 * ```ts
 * import { ApiChaos } from "./api_chaos.ts";
 * import { realClock } from "../clock/mod.ts";
 * const chaos = new ApiChaos({ rate: 1, faults: ["unavailable"] }, { clock: realClock, seed: 1 });
 * const handle = chaos.wrap(() => Promise.resolve(new Response("{}")));
 * const res = await handle(
 *   new Request("http://x/api/v1/namespaces", { headers: { "user-agent": "kubectl/v1.30" } }),
 * );
 * console.assert(res.status === 503 && chaos.stats.faults.unavailable === 1);
 * ```
 */
export class ApiChaos {
  /** What it has done so far. */
  readonly stats: ApiChaosStats;
  readonly #spec: ApiChaosSpec;
  readonly #clock: Clock;
  readonly #random: Random;

  /**
   * @param spec The rate and fault kinds.
   * @param options The sandbox's clock (slow answers and dropped watches) and seed.
   */
  constructor(spec: ApiChaosSpec, options: { clock: Clock; seed?: number | string | undefined }) {
    this.#spec = spec;
    this.#clock = options.clock;
    this.#random = seededRandom(`${options.seed ?? 0}|${API_CHAOS}`);
    const faults = Object.fromEntries(Object.keys(API_FAULTS).map((k) => [k, 0]));
    this.stats = { requests: 0, faults: faults as Record<ApiFault, number> };
  }

  /**
   * A handler that answers as `handle` does, but with the scenario's faults.
   *
   * @param handle The sandbox's own handler.
   * @returns The faulty one.
   */
  wrap(handle: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
    return (request) => this.#answer(request, handle);
  }

  /** Draws whether the request gets a fault, and which. */
  #draw(kind: RequestClass, url: URL): ApiFault | undefined {
    this.stats.requests++;
    const hit = this.#random.next() < this.#spec.rate;
    const pick = this.#random.next();
    if (!hit) return undefined;
    const allowed = this.#spec.faults;
    const fromRv = (url.searchParams.get("resourceVersion") ?? "0") !== "0";
    const weights = Object.entries(WEIGHTS[kind]).filter(([f]) =>
      (!allowed || allowed.includes(f as ApiFault)) && (f !== "watch-expired" || fromRv)
    ) as [ApiFault, number][];
    const total = weights.reduce((sum, [, w]) => sum + w, 0);
    let at = pick * total;
    for (const [fault, w] of weights) {
      if ((at -= w) < 0) return fault;
    }
    return undefined;
  }

  async #answer(
    request: Request,
    handle: (request: Request) => Promise<Response>,
  ): Promise<Response> {
    const url = new URL(request.url);
    const kind = classify(request, url);
    const fault = kind ? this.#draw(kind, url) : undefined;
    if (!fault) return await handle(request);
    this.stats.faults[fault]++;
    const status = (code: number, reason: string, message: string, headers = {}) =>
      json(new ApiError(code, message, { reason }).toStatus(), code, headers);
    switch (fault) {
      case "internal":
        return status(500, "InternalError", `Internal error occurred: ${API_CHAOS} (injected)`);
      case "unavailable":
        return status(
          503,
          "ServiceUnavailable",
          `the server is currently unable to handle the request (${API_CHAOS})`,
        );
      case "throttle": {
        const seconds = 1 + Math.floor(this.#random.next() * 3);
        const body = new ApiError(
          429,
          "the server has received too many requests and has asked us to try again later",
          { reason: "TooManyRequests" },
        ).toStatus();
        body.details = { retryAfterSeconds: seconds };
        return json(body, 429, { "retry-after": String(seconds) });
      }
      case "conflict": {
        const o = objectOf(url);
        return json(ApiError.conflict(o.plural, o.name, o.group).toStatus(), 409);
      }
      case "timeout": {
        const done = await handle(request);
        await done.body?.cancel();
        return status(
          504,
          "Timeout",
          "Timeout: request did not complete within the allotted timeout",
        );
      }
      case "slow":
        return await this.#slow(await handle(request));
      case "watch-expired": {
        const rv = url.searchParams.get("resourceVersion");
        const error = new ApiError(410, `too old resource version: ${rv} (${API_CHAOS})`, {
          reason: "Expired",
        }).toStatus();
        return new Response(JSON.stringify({ type: "ERROR", object: error }) + "\n", {
          headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
        });
      }
      case "watch-drop":
        return this.#drop(await handle(request));
    }
  }

  /** The answer, late: told on a virtual clock, waited on a wall clock (≥ 5 real s). */
  async #slow(answer: Response): Promise<Response> {
    const clock = this.#clock;
    if (clock.kind === "virtual") {
      const headers = new Headers(answer.headers);
      headers.set(SIMULATED_DELAY_HEADER, String(SLOW_ANSWER_MS));
      return new Response(answer.body, { status: answer.status, headers });
    }
    await clock.sleep(Math.max(SLOW_ANSWER_MS, 5_000 * clock.scale));
    return answer;
  }

  /** A watch stream that ends after a few events, or after 10 s of the clock. */
  #drop(answer: Response): Response {
    if (!answer.ok || !answer.body) return answer;
    const after = Math.floor(this.#random.next() * 3);
    const reader = answer.body.getReader();
    const decoder = new TextDecoder();
    let lines = 0;
    // A non-persistent timer: it never moves a virtual clock on by itself.
    const limit = this.#clock.timeout(10_000);
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const end = () => {
          reader.cancel().catch(() => {});
          try {
            controller.close();
          } catch { /* already closed */ }
        };
        limit.addEventListener("abort", end, { once: true });
        if (after === 0) return end();
        (async () => {
          while (true) {
            const { value, done } = await reader.read();
            if (done) return end();
            controller.enqueue(value);
            lines += (decoder.decode(value, { stream: true }).match(/\n/g) ?? []).length;
            if (lines >= after) return end();
          }
        })().catch(end);
      },
      cancel: () => reader.cancel().catch(() => {}),
    });
    return new Response(body, { status: answer.status, headers: answer.headers });
  }
}
