/**
 * Measurements from the Prometheus HTTP API (`/api/v1/query`). Sample values come as
 * strings; `"NaN"` (0/0 with no traffic, `histogram_quantile` with no observations)
 * and an empty result are inconclusive, never 0. A metric that declares `evidence`
 * queries gets its counts (requests, errors, requests over the threshold's histogram
 * bucket `{{le}}`) measured beside its value, over the same window.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import {
  type Evidence,
  type Measurement,
  type MeasureOptions,
  type MetricsProvider,
  type NamedMetric,
  renderQuery,
  type Target,
  windowEndingNow,
} from "./provider.ts";

/**
 * Options of {@linkcode prometheusProvider}.
 *
 * @example
 * ```ts
 * import type { PrometheusOptions } from "./prometheus.ts";
 * const o: PrometheusOptions = { url: "http://127.0.0.1:9090", minWindowSeconds: 60 };
 * ```
 */
export interface PrometheusOptions {
  /** Prometheus' base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Per-query time limit in real ms (default 10 s). */
  readonly timeoutMs?: number;
  /** The shortest `{{window}}` to query, in seconds (default 60: 4 scrapes at 15 s). */
  readonly minWindowSeconds?: number;
  /** The fetch to use (tests). */
  readonly fetch?: typeof fetch;
  /** The run's clock: queries are tracked on it, windows stamped by it. */
  readonly clock?: Clock;
}

type One = { value: number } | { inconclusive: string } | { error: string };

/** Runs one instant query that must aggregate to one series. */
async function queryOne(
  o: PrometheusOptions & { base: string; clock: Clock },
  query: string,
): Promise<One> {
  let body: {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: { value?: [number, string] }[] };
  };
  try {
    const res = await o.clock.track(
      "prometheus query",
      (o.fetch ?? fetch)(`${o.base}/api/v1/query?query=${encodeURIComponent(query)}`, {
        // Real I/O gets a real time limit, whatever the run's clock.
        signal: realClock.timeout(o.timeoutMs ?? 10_000),
      }),
    );
    const text = await o.clock.track("prometheus answer", res.text());
    try {
      body = JSON.parse(text);
    } catch {
      return { error: `Prometheus answered ${res.status} with no JSON` };
    }
    if (!res.ok || body.status !== "success") {
      return {
        error: `Prometheus answered ${res.status}: ${body.error ?? body.status ?? "unknown error"}`,
      };
    }
  } catch (err) {
    return { error: `cannot reach Prometheus at ${o.base}: ${(err as Error).message}` };
  }
  const result = body.data?.result ?? [];
  if (body.data?.resultType !== "vector") {
    return { error: `expected a vector, got ${body.data?.resultType}` };
  }
  if (result.length === 0) return { inconclusive: "no data (empty result)" };
  if (result.length > 1) {
    return { error: `the query returned ${result.length} series; it must aggregate to one` };
  }
  const raw = result[0]!.value?.[1];
  const value = raw === undefined ? NaN : Number(raw);
  if (Number.isNaN(value)) return { inconclusive: `no value (${raw ?? "missing"})` };
  return { value };
}

/** The counts a metric's evidence queries give, or why there are none. */
async function evidenceQueries(
  o: PrometheusOptions & { base: string; clock: Clock },
  metric: NamedMetric,
  values: Record<string, string>,
  m: MeasureOptions & { windowS: number },
): Promise<Evidence | string> {
  const e = metric.evidence;
  if (!e?.requests) return "the metric declares no evidence queries";
  const wanted: [string, string | undefined][] = [
    ["requests", e.requests],
    ["errors", e.kind === "error_ratio" ? e.errors : undefined],
    ["over", e.kind === "quantile" && m.overMs !== undefined ? e.over : undefined],
  ];
  const le = m.overMs !== undefined ? String(m.overMs / 1000) : "";
  const counts: Record<string, number> = {};
  for (const [name, template] of wanted) {
    if (!template) continue;
    let query: string;
    try {
      query = renderQuery(template, { ...values, le });
    } catch (err) {
      return (err as Error).message;
    }
    const r = await queryOne(o, query);
    if ("error" in r) return `${name}: ${r.error}`;
    // No error series is zero errors; no request count, or no bucket at the threshold
    // (`over`: the threshold must be a histogram bound), is no evidence at all.
    if ("inconclusive" in r && name !== "errors") return `${name}: ${r.inconclusive}`;
    counts[name] = "value" in r ? Math.max(0, Math.round(r.value)) : 0;
  }
  const requests = counts.requests!;
  return {
    requests,
    ...(counts.errors !== undefined ? { errors: Math.min(counts.errors, requests) } : {}),
    ...(counts.over !== undefined
      ? { over: Math.min(counts.over, requests), overMs: m.overMs! }
      : {}),
    windowMs: m.windowS * 1000,
    ...windowEndingNow(o.clock, m.windowS * 1000),
  };
}

/**
 * A provider querying Prometheus. Queries may use `{{window}}` (e.g. `[{{window}}]`),
 * filled with the measurement window in seconds (at least `minWindowSeconds`), and
 * evidence queries `{{le}}`, the threshold in seconds (a histogram bucket's bound).
 *
 * @example
 * ```ts ignore
 * const p = prometheusProvider({ url: "http://127.0.0.1:9090" });
 * const m = await p.measure(metric, { service: "api", slot: "green" }, { windowMs: 60_000 });
 * ```
 */
export function prometheusProvider(options: PrometheusOptions): MetricsProvider {
  const base = options.url.replace(/\/+$/, "");
  const o = { ...options, base, clock: options.clock ?? realClock };
  const minWindowSeconds = options.minWindowSeconds ?? 60;
  return {
    name: `prometheus ${base}`,
    minWindowMs: minWindowSeconds * 1000,
    async measure(metric: NamedMetric, target: Target, m: MeasureOptions): Promise<Measurement> {
      const windowS = Math.max(Math.round(m.windowMs / 1000), minWindowSeconds);
      const values = { ...target, window: `${windowS}s` };
      let query: string;
      try {
        query = renderQuery(metric.query, values);
      } catch (err) {
        return { kind: "error", detail: (err as Error).message };
      }
      const [r, evidence] = await Promise.all([
        queryOne(o, query),
        metric.evidence ? evidenceQueries(o, metric, values, { ...m, windowS }) : undefined,
      ]);
      if ("error" in r) return { kind: "error", detail: r.error };
      const ev = typeof evidence === "object" ? { evidence } : {};
      if ("inconclusive" in r) return { kind: "inconclusive", detail: r.inconclusive, ...ev };
      return { kind: "value", value: r.value * (metric.scale ?? 1), ...ev };
    },
  };
}
