/**
 * The monitoring objects of a deploy target, generated from one `MonitoringSpec`
 * (`lib/monitoring/`): for the Prometheus Operator, a `ServiceMonitor` `<app>-<service>` per
 * service (its slot Services, so each pod is scraped once, port `http`, path `/metrics`, the
 * samples labelled `namespace`, `service`, `slot`, `version` and `pod` — the labels gate queries
 * use) and the `PrometheusRule` `<app>-alerts` (the rule file of `lib/monitoring/rules.ts`); and
 * the Grafana dashboard as a ConfigMap `<app>-dashboard` labelled `grafana_dashboard: "1"` (what
 * Grafana's dashboard sidecar loads). Every object is labelled `app` and
 * `app.kubernetes.io/managed-by`, so a later deploy can prune what it no longer generates.
 * @module
 */
import { TOOL_NAME } from "../product/mod.ts";
import type { KubeObject } from "./capability.ts";
import type { KubeTarget } from "./target.ts";
import { alertRuleFile, type RuleOptions } from "../monitoring/rules.ts";
import { grafanaDashboard } from "../monitoring/grafana.ts";
import { type MonitoringSpec, promDuration } from "../monitoring/spec.ts";

export type { AlertBound, MonitoringSpec } from "../monitoring/spec.ts";
export type { RuleOptions } from "../monitoring/rules.ts";

/** The Prometheus Operator's API version. */
export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/** The label naming the tool that generated an object (`app.kubernetes.io/managed-by`). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/**
 * Two alert thresholds as a pipeline may state them (an error share and a p95 bound); a
 * `MonitoringSpec`'s `bounds` say the same per declared metric.
 */
export interface AlertThresholds {
  /** A service's (and slot's) share of 5xx answers above this, in percent. */
  readonly errorRatePercent: number;
  /** A service's (and slot's) p95 request duration above this, in ms. */
  readonly p95LatencyMs: number;
  /** How long a condition must hold before its alert fires (default `5m`). */
  readonly for?: string;
}

function labelsOf(target: KubeTarget, spec: MonitoringSpec, extra: Record<string, string> = {}) {
  return { ...spec.labels, ...extra, app: target.app, [MANAGED_BY_LABEL]: TOOL_NAME };
}

function servicesOf(target: KubeTarget): string[] {
  const names = Object.keys(target.services);
  if (names.length === 0) {
    throw new RangeError(`Cannot monitor ${target.namespace}: the target has no services`);
  }
  return names;
}

/**
 * The `ServiceMonitor`s `<app>-<service>`, one per service: the service's slot Services
 * (`app`, `service`, and a `slot` label), port `http`, path `/metrics`; each sample gets the
 * Service's `service` label and the pod's `slot` and `version` labels.
 *
 * @param target The deploy target.
 * @param spec The scrape interval and selection labels (the rest is unused here).
 * @returns The manifests, in the target's service order.
 * @throws {RangeError} For a malformed interval or a target without services.
 *
 * @example
 * ```ts
 * import { serviceMonitorManifests } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { namespace: "shop", app: "shop", services: { web: { replicas: 2 } } } as
 *   unknown as KubeTarget;
 * const [web] = serviceMonitorManifests(target, { metrics: {}, bounds: {} });
 * assert.equal(web!.metadata.name, "shop-web");
 * assert.equal(web!.kind, "ServiceMonitor");
 * ```
 */
export function serviceMonitorManifests(target: KubeTarget, spec: MonitoringSpec): KubeObject[] {
  const interval = promDuration(spec.interval ?? "30s", "the scrape interval");
  const relabel = (source: string, label: string) => ({
    sourceLabels: [source],
    targetLabel: label,
    regex: "(.+)",
    replacement: "$1",
    action: "replace",
  });
  return servicesOf(target).map((service) => ({
    apiVersion: MONITORING_API_VERSION,
    kind: "ServiceMonitor",
    metadata: {
      name: `${target.app}-${service}`,
      namespace: target.namespace,
      labels: labelsOf(target, spec, { service }),
    },
    spec: {
      // The slot Services: each pod is behind exactly one (the live Service selects the same pods).
      selector: {
        matchLabels: { app: target.app, service },
        matchExpressions: [{ key: "slot", operator: "Exists" }],
      },
      namespaceSelector: { matchNames: [target.namespace] },
      endpoints: [{
        port: "http",
        path: "/metrics",
        scheme: "http",
        interval,
        relabelings: [
          relabel("__meta_kubernetes_service_label_service", "service"),
          relabel("__meta_kubernetes_pod_label_slot", "slot"),
          relabel("__meta_kubernetes_pod_label_version", "version"),
        ],
      }],
    },
  }));
}

/**
 * The `PrometheusRule` `<app>-alerts`: its `spec` is the target's rule file
 * (`alertRuleFile`), which `promtool check rules` reads as it is.
 *
 * @param target The deploy target.
 * @param spec Metrics, bounds, window, `for`, labels.
 * @param options `restarts`.
 * @returns The manifest.
 * @throws {RangeError} For a bound on an undeclared metric or a malformed duration.
 *
 * @example
 * ```ts
 * import { prometheusRuleManifest } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { namespace: "shop", app: "shop", services: { web: { replicas: 2 } } } as
 *   unknown as KubeTarget;
 * const rule = prometheusRuleManifest(target, { metrics: {}, bounds: {} });
 * assert.equal(rule.metadata.name, "shop-alerts");
 * const spec = rule.spec as { groups: { rules: { alert: string }[] }[] };
 * assert.deepEqual(spec.groups[0]!.rules.map((r) => r.alert), [
 *   "PodRestarting",
 *   "PodCrashLooping",
 *   "DeployFailed",
 * ]);
 * ```
 */
export function prometheusRuleManifest(
  target: KubeTarget,
  spec: MonitoringSpec,
  options: RuleOptions = {},
): KubeObject {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "PrometheusRule",
    metadata: {
      name: `${target.app}-alerts`,
      namespace: target.namespace,
      labels: labelsOf(target, spec),
    },
    spec: structuredClone(alertRuleFile(target, spec, options)) as unknown as Record<
      string,
      unknown
    >,
  };
}

/**
 * The ConfigMap `<app>-dashboard` holding the dashboard as `<app>-<environment>.json`, labelled
 * `grafana_dashboard: "1"` for Grafana's dashboard sidecar.
 *
 * @param target The deploy target.
 * @param spec Metrics, bounds, window, labels.
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { dashboardConfigMapManifest } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const cm = dashboardConfigMapManifest(target, { metrics: {}, bounds: {} });
 * assert.equal(cm.metadata.labels?.grafana_dashboard, "1");
 * assert.equal(JSON.parse((cm.data as Record<string, string>)["shop-staging.json"]!).uid, "shop-staging");
 * ```
 */
export function dashboardConfigMapManifest(target: KubeTarget, spec: MonitoringSpec): KubeObject {
  const dashboard = grafanaDashboard(target, spec);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `${target.app}-dashboard`,
      namespace: target.namespace,
      labels: labelsOf(target, spec, { grafana_dashboard: "1" }),
    },
    data: { [`${dashboard.uid}.json`]: `${JSON.stringify(dashboard, null, 2)}\n` },
  };
}

/**
 * Every monitoring object of a target: the ServiceMonitors, the PrometheusRule, the dashboard's
 * ConfigMap.
 *
 * @param target The deploy target.
 * @param spec Metrics, bounds, windows, labels.
 * @param options `restarts`.
 * @returns The manifests.
 *
 * @example
 * ```ts
 * import { monitoringManifests } from "./manifests_monitoring.ts";
 * import type { KubeTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const names = monitoringManifests(target, { metrics: {}, bounds: {} }).map((m) => m.metadata.name);
 * assert.deepEqual(names, ["shop-web", "shop-alerts", "shop-dashboard"]);
 * ```
 */
export function monitoringManifests(
  target: KubeTarget,
  spec: MonitoringSpec,
  options: RuleOptions = {},
): KubeObject[] {
  return [
    ...serviceMonitorManifests(target, spec),
    prometheusRuleManifest(target, spec, options),
    dashboardConfigMapManifest(target, spec),
  ];
}
