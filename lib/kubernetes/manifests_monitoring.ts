/**
 * The monitoring objects of a deploy target, for the Prometheus Operator: a `ServiceMonitor`
 * that has Prometheus scrape every pod of the target's services (through their slot Services,
 * each pod once, port `http`, path `/metrics`), labelling the samples `namespace`, `service`,
 * `slot`, `version` and `pod` — the labels gate queries use — and a `PrometheusRule` with the
 * alerts a service's on-call needs: errors above a share, p95 latency above a bound (both
 * over 5 minutes, from the pods' `http_requests_total` and `http_request_duration_seconds`),
 * and a container crash-looping (kube-state-metrics). Both are named after the target's app.
 * @module
 */
import type { KubeObject } from "./capability.ts";
import type { KubeTarget } from "./target.ts";

/** The Prometheus Operator's API version. */
export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/** When the alerts fire. */
export interface AlertThresholds {
  /** A service's (and slot's) share of 5xx answers over 5 minutes above this, in percent. */
  readonly errorRatePercent: number;
  /** A service's (and slot's) p95 request duration over 5 minutes above this, in ms. */
  readonly p95LatencyMs: number;
  /** How long a condition must hold before its alert fires (default `5m`). */
  readonly for?: string;
}

/** Options of the monitoring manifests. */
export interface MonitoringOptions {
  /** Labels a Prometheus selects these objects by (e.g. `{ release: "prometheus" }`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The scrape interval (default `30s`). */
  readonly interval?: string;
}

const DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

function duration(value: string, what: string): string {
  if (value === "" || !DURATION.test(value)) {
    throw new RangeError(
      `Cannot use ${what} ${JSON.stringify(value)}: expected a duration such as 30s or 5m`,
    );
  }
  return value;
}

/** The target's services as a PromQL regular expression (`a|b`). */
function servicesRegex(target: KubeTarget): string {
  const names = Object.keys(target.services);
  if (names.length === 0) {
    throw new RangeError(`Cannot monitor ${target.namespace}: the target has no services`);
  }
  return names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|");
}

/**
 * The `ServiceMonitor` `<app>`: the slot Services (`app=<app>`, with a `slot` label) of the
 * target, port `http`, path `/metrics`; each sample gets the Service's `service` label and the
 * pod's `slot` and `version` labels.
 *
 * @param target The deploy target.
 * @param options Selection labels and the scrape interval.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { serviceMonitorManifest } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target: KubeTarget = {
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 * };
 * const monitor = serviceMonitorManifest(target);
 * assert.equal(monitor.metadata.name, "shop");
 * assert.equal(monitor.kind, "ServiceMonitor");
 * ```
 */
export function serviceMonitorManifest(
  target: KubeTarget,
  options: MonitoringOptions = {},
): KubeObject {
  servicesRegex(target);
  const relabel = (source: string, label: string) => ({
    sourceLabels: [source],
    targetLabel: label,
    regex: "(.+)",
    replacement: "$1",
    action: "replace",
  });
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "ServiceMonitor",
    metadata: {
      name: target.app,
      namespace: target.namespace,
      labels: { ...options.labels, app: target.app },
    },
    spec: {
      // The slot Services: each pod is behind exactly one (the live Service selects the same pods).
      selector: {
        matchLabels: { app: target.app },
        matchExpressions: [{ key: "slot", operator: "Exists" }],
      },
      namespaceSelector: { matchNames: [target.namespace] },
      endpoints: [{
        port: "http",
        path: "/metrics",
        scheme: "http",
        interval: duration(options.interval ?? "30s", "the scrape interval"),
        relabelings: [
          relabel("__meta_kubernetes_service_label_service", "service"),
          relabel("__meta_kubernetes_pod_label_slot", "slot"),
          relabel("__meta_kubernetes_pod_label_version", "version"),
        ],
      }],
    },
  };
}

/**
 * The `PrometheusRule` `<app>-alerts`: one group `<app>.rules` with `HighErrorRate`
 * (critical), `HighLatencyP95` (warning) and `PodCrashLooping` (critical), each per
 * service and slot of the target's namespace, labelled `app` and `severity`. Its `spec` is a
 * Prometheus rule file (`promtool check rules` reads it).
 *
 * @param target The deploy target.
 * @param thresholds When the error and latency alerts fire.
 * @param options Selection labels.
 * @returns The manifest.
 * @throws {RangeError} For a threshold out of range or a malformed duration.
 *
 * @example
 * ```ts
 * import { prometheusRuleManifest } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target: KubeTarget = {
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 * };
 * const rule = prometheusRuleManifest(target, { errorRatePercent: 1, p95LatencyMs: 2000 });
 * const spec = rule.spec as { groups: { rules: { alert: string }[] }[] };
 * assert.deepEqual(spec.groups[0]!.rules.map((r) => r.alert), [
 *   "HighErrorRate",
 *   "HighLatencyP95",
 *   "PodCrashLooping",
 * ]);
 * ```
 */
export function prometheusRuleManifest(
  target: KubeTarget,
  thresholds: AlertThresholds,
  options: MonitoringOptions = {},
): KubeObject {
  const { errorRatePercent, p95LatencyMs } = thresholds;
  if (!(errorRatePercent > 0 && errorRatePercent <= 100)) {
    throw new RangeError(
      `Cannot alert on an error rate above ${errorRatePercent}%: use a share in (0, 100]`,
    );
  }
  if (!(p95LatencyMs > 0 && Number.isFinite(p95LatencyMs))) {
    throw new RangeError(
      `Cannot alert on a p95 latency above ${p95LatencyMs} ms: use a positive number`,
    );
  }
  const wait = duration(thresholds.for ?? "5m", "the alerts' duration");
  const ns = target.namespace;
  const services = servicesRegex(target);
  const by = "namespace, service, slot";
  const requests = (extra = "") =>
    `sum by (${by}) (rate(http_requests_total{namespace="${ns}",service=~"${services}"${extra}}[5m]))`;
  const labels = (severity: string) => ({ severity, app: target.app });
  const where = "{{ $labels.service }} ({{ $labels.slot }}) in {{ $labels.namespace }}";
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "PrometheusRule",
    metadata: {
      name: `${target.app}-alerts`,
      namespace: ns,
      labels: { ...options.labels, app: target.app },
    },
    spec: {
      groups: [{
        name: `${target.app}.rules`,
        rules: [
          {
            alert: "HighErrorRate",
            expr: `${requests(',status=~"5.."')}\n  /\n${requests()}\n  > ${
              errorRatePercent / 100
            }`,
            for: wait,
            labels: labels("critical"),
            annotations: {
              summary: `${where} answers {{ $value | humanizePercentage }} of requests with 5xx`,
              description: `More than ${errorRatePercent}% of requests failed for ${wait}.`,
            },
          },
          {
            alert: "HighLatencyP95",
            expr:
              `histogram_quantile(0.95, sum by (${by}, le) (rate(http_request_duration_seconds_bucket{namespace="${ns}",service=~"${services}"}[5m])))\n  > ${
                p95LatencyMs / 1000
              }`,
            for: wait,
            labels: labels("warning"),
            annotations: {
              summary: `${where}: p95 latency {{ $value | humanizeDuration }}`,
              description:
                `The 95th percentile request took longer than ${p95LatencyMs} ms for ${wait}.`,
            },
          },
          {
            alert: "PodCrashLooping",
            expr:
              `max_over_time(kube_pod_container_status_waiting_reason{namespace="${ns}",pod=~"(${services})-.+",reason="CrashLoopBackOff"}[5m]) >= 1`,
            for: wait,
            labels: labels("critical"),
            annotations: {
              summary:
                "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
              description:
                `A container has been in CrashLoopBackOff for ${wait}: see kubectl logs --previous.`,
            },
          },
        ],
      }],
    },
  };
}

/**
 * Both monitoring objects of a target: the ServiceMonitor, then the PrometheusRule.
 *
 * @param target The deploy target.
 * @param thresholds When the alerts fire.
 * @param options Selection labels and the scrape interval.
 * @returns The manifests.
 *
 * @example
 * ```ts
 * import { monitoringManifests } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target: KubeTarget = {
 *   name: "staging", namespace: "shop-staging", app: "shop", services: { web: { replicas: 2 } },
 *   strategy: "canary", imageRegistry: "registry.local/shop", logLevel: "INFO",
 *   resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
 *   rolloutDeadlineMs: 600_000, rollbackWindowMs: 86_400_000,
 *   healthCheck: { retries: 10, intervalMs: 10_000, timeoutMs: 5_000 },
 * };
 * const names = monitoringManifests(target, { errorRatePercent: 1, p95LatencyMs: 2000 })
 *   .map((m) => m.metadata.name);
 * assert.deepEqual(names, ["shop", "shop-alerts"]);
 * ```
 */
export function monitoringManifests(
  target: KubeTarget,
  thresholds: AlertThresholds,
  options: MonitoringOptions = {},
): KubeObject[] {
  return [
    serviceMonitorManifest(target, options),
    prometheusRuleManifest(target, thresholds, options),
  ];
}
