/**
 * Measurements from the Prometheus HTTP API (`/api/v1/query`). Sample values come as
 * strings; `"NaN"` (0/0 with no traffic, `histogram_quantile` with no observations)
 * and an empty result are inconclusive, never 0.
 * @module
 */
import {
  type Measurement,
  type MetricsProvider,
  type NamedMetric,
  renderQuery,
  type Target,
} from "./provider.ts";

/** Options of {@linkcode prometheusProvider}. */
export interface PrometheusOptions {
  /** Prometheus' base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Per-query time limit in ms (default 10 s). */
  readonly timeoutMs?: number;
  /** The shortest `{{window}}` to query, in seconds (default 60: 4 scrapes at 15 s). */
  readonly minWindowSeconds?: number;
  /** The fetch to use (tests). */
  readonly fetch?: typeof fetch;
}

/**
 * A provider querying Prometheus. Queries may use `{{window}}` (e.g. `[{{window}}]`),
 * filled with the measurement window in seconds (at least `minWindowSeconds`).
 *
 * @example
 * ```ts ignore
 * const p = prometheusProvider({ url: "http://127.0.0.1:9090" });
 * const m = await p.measure(metric, { service: "api", slot: "green" }, { windowMs: 60_000 });
 * ```
 */
export function prometheusProvider(options: PrometheusOptions): MetricsProvider {
  const doFetch = options.fetch ?? fetch;
  const base = options.url.replace(/\/+$/, "");
  return {
    name: `prometheus ${base}`,
    async measure(metric: NamedMetric, target: Target, { windowMs }): Promise<Measurement> {
      const windowS = Math.max(Math.round(windowMs / 1000), options.minWindowSeconds ?? 60);
      let query: string;
      try {
        query = renderQuery(metric.query, { ...target, window: `${windowS}s` });
      } catch (err) {
        return { kind: "error", detail: (err as Error).message };
      }
      let body: {
        status?: string;
        error?: string;
        data?: { resultType?: string; result?: { value?: [number, string] }[] };
      };
      try {
        const res = await doFetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, {
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        const text = await res.text();
        try {
          body = JSON.parse(text);
        } catch {
          return { kind: "error", detail: `Prometheus answered ${res.status} with no JSON` };
        }
        if (!res.ok || body.status !== "success") {
          return {
            kind: "error",
            detail: `Prometheus answered ${res.status}: ${
              body.error ?? body.status ?? "unknown error"
            }`,
          };
        }
      } catch (err) {
        return {
          kind: "error",
          detail: `cannot reach Prometheus at ${base}: ${(err as Error).message}`,
        };
      }
      const result = body.data?.result ?? [];
      if (body.data?.resultType !== "vector") {
        return { kind: "error", detail: `expected a vector, got ${body.data?.resultType}` };
      }
      if (result.length === 0) return { kind: "inconclusive", detail: "no data (empty result)" };
      if (result.length > 1) {
        return {
          kind: "error",
          detail: `the query returned ${result.length} series; it must aggregate to one`,
        };
      }
      const raw = result[0]!.value?.[1];
      const value = raw === undefined ? NaN : Number(raw);
      if (Number.isNaN(value)) {
        return { kind: "inconclusive", detail: `no value (${raw ?? "missing"})` };
      }
      return { kind: "value", value: value * (metric.scale ?? 1) };
    },
  };
}
