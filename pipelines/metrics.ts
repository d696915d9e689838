/**
 * Tracktion's metrics, declared in code: gate strings are type-checked against these
 * names and units (`"eror_rate < 1%"` fails `deno check`). The PromQL starts from the
 * runbook's two queries, narrowed to one service and slot.
 * @module
 */
import { defineMetrics, type MetricsOf } from "../mod.ts";

/**
 * The metrics gates may use. `{{namespace}}`, `{{service}}`, `{{slot}}` and `{{window}}`
 * (the measurement interval) are filled in.
 */
export const metrics = defineMetrics({
  error_rate: {
    unit: "%",
    description: "share of requests answered with a 5xx status over the measurement window",
    query:
      'sum(rate(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}",status=~"5.."}[{{window}}])) / sum(rate(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[{{window}}]))',
    scale: 100,
    measurement: { field: "errorRate", scale: 100 },
    evidence: {
      kind: "error_ratio",
      requests:
        'sum(increase(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[{{window}}]))',
      errors:
        'sum(increase(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}",status=~"5.."}[{{window}}]))',
    },
  },
  p95_latency: {
    unit: "ms",
    description: "95th percentile request duration over the measurement window",
    query:
      'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[{{window}}])))',
    scale: 1000,
    measurement: { field: "p95Ms" },
    // "p95 < T" is tested as "under 5% of requests slower than T": T must be a bucket bound.
    evidence: {
      kind: "quantile",
      quantile: 0.95,
      requests:
        'sum(increase(http_request_duration_seconds_count{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[{{window}}]))',
      over:
        'sum(increase(http_request_duration_seconds_count{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[{{window}}])) - sum(increase(http_request_duration_seconds_bucket{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}",le="{{le}}"}[{{window}}]))',
    },
  },
});

type TracktionMetrics = MetricsOf<typeof metrics>;

declare module "../mod.ts" {
  interface MetricRegistry extends TracktionMetrics {}
}
