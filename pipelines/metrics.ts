/**
 * Tracktion's metrics, declared in code: gate strings are type-checked against these
 * names and units (`"eror_rate < 1%"` fails `deno check`). The PromQL starts from the
 * runbook's two queries, narrowed to one service and slot.
 * @module
 */
import { defineMetrics, type MetricsOf } from "../mod.ts";

/** The metrics gates may use. `{{namespace}}`, `{{service}}`, `{{slot}}` are filled in. */
export const metrics = defineMetrics({
  error_rate: {
    unit: "%",
    description: "share of requests answered with a 5xx status over the last minute",
    query:
      'sum(rate(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}",status=~"5.."}[1m])) / sum(rate(http_requests_total{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[1m]))',
    scale: 100,
  },
  p95_latency: {
    unit: "ms",
    description: "95th percentile request duration over the last minute",
    query:
      'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",service="{{service}}",slot="{{slot}}"}[1m])))',
    scale: 1000,
  },
});

type TracktionMetrics = MetricsOf<typeof metrics>;

declare module "../mod.ts" {
  interface MetricRegistry extends TracktionMetrics {}
}
