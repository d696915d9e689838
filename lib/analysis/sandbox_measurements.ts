/**
 * Measurements from the sandbox's own record of the requests that really reached its
 * pods (`/apis/<SANDBOX_API_GROUP>/v1/namespaces/<ns>/measurements`). A metric reads
 * the field named in its `measurement`; `null` (no requests) is inconclusive. Every
 * value carries its evidence: the answer's `requests`, `errors`, `over` (slower than the
 * `over=<ms>` asked for), `latencies` (at most `samples=<n>`) and window.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import { type Clock, realClock } from "../clock/mod.ts";
import {
  type Evidence,
  type Measurement,
  type MeasureOptions,
  type MetricsProvider,
  type NamedMetric,
  type Target,
  windowEndingNow,
} from "./provider.ts";

/**
 * Options of {@linkcode sandboxMeasurementsProvider}.
 *
 * @example
 * ```ts
 * import type { SandboxMeasurementsOptions } from "./sandbox_measurements.ts";
 * const o: SandboxMeasurementsOptions = { url: "http://127.0.0.1:6443", timeoutMs: 5_000 };
 * ```
 */
export interface SandboxMeasurementsOptions {
  /** The sandbox API server's URL. */
  readonly url: string;
  /** Bearer token from the sandbox kubeconfig. */
  readonly token?: string;
  /** Per-request time limit in real ms (default 5 s). */
  readonly timeoutMs?: number;
  /** The run's clock: requests are tracked on it, windows stamped by it. */
  readonly clock?: Clock;
  /**
   * Sends a request (default: `fetch` over the network). A sandbox started in this process
   * answers in it (its `handle`): the same endpoint, routing and authentication, no socket —
   * on a virtual clock a measurement then costs no real I/O and cannot arrive out of order.
   */
  readonly fetch?: (request: Request) => Promise<Response>;
  /**
   * The endpoint's answer in this process (a sandbox started here: `Sandbox.measure`), its
   * status and body as the endpoint would send them: no request to build, no JSON to
   * encode and decode. Used instead of `fetch` when given.
   */
  readonly measure?: (
    namespace: string,
    params: URLSearchParams,
  ) => { status: number; body: Record<string, unknown> };
}

const count = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;

const stamp = (v: unknown): string | undefined => {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v).toISOString();
  if (typeof v === "string" && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString();
  return undefined;
};

/**
 * The evidence in a measurements answer, or `undefined` when it has no request count.
 *
 * @param body The endpoint's JSON answer.
 * @param o What was asked (window, over, samples) and the clock, for a window it omits.
 * @returns The evidence.
 *
 * @example
 * ```ts
 * import { evidenceOf } from "./sandbox_measurements.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const e = evidenceOf({ requests: 30, errors: 1, over: 2 }, {
 *   windowMs: 10_000, overMs: 2000, clock: virtualClock({ startMs: 10_000 }),
 * });
 * console.assert(e?.requests === 30 && e.over === 2 && e.from === "1970-01-01T00:00:00.000Z");
 * ```
 */
export function evidenceOf(
  body: Record<string, unknown>,
  o: MeasureOptions & { clock: Clock },
): Evidence | undefined {
  const requests = count(body.requests);
  if (requests === undefined) return undefined;
  const windowMs = count(body.windowMs) ?? o.windowMs;
  const fallback = windowEndingNow(o.clock, windowMs);
  const errors = count(body.errors);
  const over = o.overMs !== undefined ? count(body.over) : undefined;
  const latencies = Array.isArray(body.latencies)
    ? body.latencies.filter((v): v is number => typeof v === "number" && Number.isFinite(v))
    : undefined;
  return {
    requests,
    ...(errors !== undefined ? { errors: Math.min(errors, requests) } : {}),
    ...(over !== undefined ? { over: Math.min(over, requests), overMs: o.overMs! } : {}),
    windowMs,
    from: stamp(body.from) ?? fallback.from,
    to: stamp(body.to) ?? fallback.to,
    ...(latencies && o.samples ? { latencies } : {}),
  };
}

/**
 * A provider reading the sandbox's measurements. `target.namespace` picks the
 * namespace; the other labels become the label selector.
 *
 * @example
 * ```ts ignore
 * const p = sandboxMeasurementsProvider({ url: sandbox.url, token, clock });
 * const m = await p.measure(metric, { namespace: "shop", service: "api" }, { windowMs: 10_000 });
 * ```
 */
export function sandboxMeasurementsProvider(options: SandboxMeasurementsOptions): MetricsProvider {
  const base = options.url.replace(/\/+$/, "");
  const clock = options.clock ?? realClock;
  return {
    name: `sandbox measurements ${base}`,
    async measure(metric: NamedMetric, target: Target, o: MeasureOptions): Promise<Measurement> {
      if (!metric.measurement) {
        return { kind: "error", detail: `metric ${metric.name} has no sandbox measurement field` };
      }
      const { namespace, ...labels } = target;
      if (!namespace) return { kind: "error", detail: "the target has no namespace" };
      const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
      const params = new URLSearchParams({
        labelSelector: selector,
        window: `${Math.max(1, Math.round(o.windowMs / 1000))}s`,
        ...(o.overMs !== undefined ? { over: String(o.overMs) } : {}),
        ...(o.samples ? { samples: String(o.samples) } : {}),
      });
      const url =
        `${base}/apis/${SANDBOX_API_GROUP}/v1/namespaces/${namespace}/measurements?${params}`;
      try {
        const direct = options.measure?.(namespace, params);
        const body = direct
          ? (direct.status === 200 ? direct.body : direct.status)
          : await clock.track(
            `measure ${metric.name}`,
            (async () => {
              const request = new Request(url, {
                headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
                // Real I/O gets a real time limit, whatever the run's clock.
                ...(options.fetch ? {} : { signal: realClock.timeout(options.timeoutMs ?? 5_000) }),
              });
              const res = await (options.fetch ?? fetch)(request);
              if (!res.ok) {
                await res.body?.cancel();
                return res.status;
              }
              return await res.json() as Record<string, unknown>;
            })(),
          );
        if (typeof body === "number") {
          return { kind: "error", detail: `the sandbox's measurements answered ${body}` };
        }
        const evidence = evidenceOf(body, { ...o, clock });
        const raw = body[metric.measurement.field];
        if (raw === null || raw === undefined) {
          return {
            kind: "inconclusive",
            detail: `no requests in the window (${body.window ?? ""})`,
            ...(evidence ? { evidence } : {}),
          };
        }
        const value = Number(raw);
        if (!Number.isFinite(value)) return { kind: "inconclusive", detail: `no value (${raw})` };
        return {
          kind: "value",
          value: value * (metric.measurement.scale ?? 1),
          ...(evidence ? { evidence } : {}),
        };
      } catch (err) {
        return {
          kind: "error",
          detail: `cannot reach the sandbox's measurements: ${(err as Error).message}`,
        };
      }
    },
  };
}
