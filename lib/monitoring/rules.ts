/**
 * The alert rules of a target, as a Prometheus rule file (what `promtool check rules` reads, a
 * Prometheus' `rule_files` loads, and a `PrometheusRule`'s `spec` holds):
 *
 * - per gated metric, service and slot: `High<Metric>` (or `Low<Metric>` for a metric gated
 *   from below) — the metric's own declared query (the gate's PromQL, so the alert and the
 *   canary measure the same thing) over `window`, in its unit, beyond the loosest gate's bound;
 * - `PodRestarting`: a container of the target's pods restarted `restarts` times or more within
 *   `window` (kube-state-metrics' `kube_pod_container_status_restarts_total`);
 * - `PodCrashLooping`: a container in `CrashLoopBackOff` (kube-state-metrics);
 * - `DeployFailed`: the latest deploy run of the target was rolled back (the deploy record's
 *   `deploy_record_run_failed`, see `deploy_metrics.ts`); it stays until a deploy succeeds.
 * @module
 */
import { renderQuery } from "../analysis/provider.ts";
import type { KubeTarget } from "../kubernetes/target.ts";
import { SLOTS } from "../kubernetes/slots.ts";
import { DEPLOY_FAILED_METRIC } from "./deploy_metrics.ts";
import { breachOperator, DEFAULT_WINDOW, type MonitoringSpec, promDuration } from "./spec.ts";

/** One alerting rule of a rule file. */
export interface AlertingRule {
  /** The alert's name. */
  readonly alert: string;
  /** Its PromQL. */
  readonly expr: string;
  /** How long the expression holds before it fires. */
  readonly for: string;
  /** Labels of the alert. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its summary and description. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** A Prometheus rule file: `groups`, each with rules. */
export interface RuleFile {
  /** The groups. */
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertingRule[] }[];
}

/** Options beyond the spec. */
export interface RuleOptions {
  /** Restarts within the window that make `PodRestarting` fire (default 3). */
  readonly restarts?: number;
}

/** `error_rate` → `ErrorRate`. */
function pascal(name: string): string {
  return name.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

/** Escapes a name for a PromQL regular expression inside a string literal. */
function regexOf(names: readonly string[]): string {
  return names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|");
}

/** `1`, `0.5`, `2000` — and no float noise. */
function number(value: number): string {
  return String(Number(value.toPrecision(12)));
}

/**
 * The name of the alert on a metric: `High<Metric>` when the gate bounds it from above,
 * `Low<Metric>` from below.
 *
 * @param metric The metric's name, e.g. `error_rate`.
 * @param operator The gate's operator.
 * @returns The alert's name, e.g. `HighErrorRate`.
 *
 * @example
 * ```ts
 * import { metricAlertName } from "./rules.ts";
 * console.assert(metricAlertName("p95_latency", "<") === "HighP95Latency");
 * ```
 */
export function metricAlertName(metric: string, operator: string): string {
  return `${operator.startsWith("<") ? "High" : "Low"}${pascal(metric)}`;
}

/**
 * A metric's query for one service and slot, over `window`, in the metric's unit (the raw
 * query times its `scale`).
 *
 * @param query The metric's query template.
 * @param scale The metric's scale (1 when absent).
 * @param values `namespace`, `service`, `slot`, `window`.
 * @returns PromQL.
 *
 * @example
 * ```ts
 * import { metricExpr } from "./rules.ts";
 * console.assert(metricExpr("rate(x[{{window}}])", 100, { window: "1m" }) === "(rate(x[1m])) * 100");
 * ```
 */
export function metricExpr(
  query: string,
  scale: number | undefined,
  values: Readonly<Record<string, string>>,
): string {
  const q = renderQuery(query, values);
  return scale === undefined || scale === 1 ? `(${q})` : `(${q}) * ${number(scale)}`;
}

/**
 * The target's alert rules (see the module's description).
 *
 * @param target The deploy target (its namespace, app and services).
 * @param spec Metrics, bounds, window and `for`.
 * @param options `restarts`.
 * @returns The rule file: one group `<app>.rules`.
 * @throws {RangeError} For a bound on an undeclared metric, a non-finite threshold, a
 *   malformed duration or a target without services.
 *
 * @example
 * ```ts
 * import { alertRuleFile } from "./rules.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const target = { namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const file = alertRuleFile(target, {
 *   metrics: { error_rate: { unit: "%", query: 'errors{service="{{service}}",slot="{{slot}}"}', scale: 100 } },
 *   bounds: { error_rate: { operator: "<", threshold: 1 } },
 * });
 * assert.deepEqual(file.groups[0]!.rules.map((r) => r.alert), [
 *   "HighErrorRate", "HighErrorRate", "PodRestarting", "PodCrashLooping", "DeployFailed",
 * ]);
 * assert.equal(file.groups[0]!.rules[0]!.expr, '(errors{service="web",slot="blue"}) * 100 >= 1');
 * ```
 */
export function alertRuleFile(
  target: KubeTarget,
  spec: MonitoringSpec,
  options: RuleOptions = {},
): RuleFile {
  const services = Object.keys(target.services);
  if (services.length === 0) {
    throw new RangeError(`Cannot monitor ${target.namespace}: the target has no services`);
  }
  const window = promDuration(spec.window ?? DEFAULT_WINDOW, "the window");
  const wait = promDuration(spec.for ?? DEFAULT_WINDOW, "the alerts' duration");
  const restarts = options.restarts ?? 3;
  if (!(Number.isInteger(restarts) && restarts >= 1)) {
    throw new RangeError(`Cannot alert on ${restarts} restarts: use a whole number from 1`);
  }
  const ns = target.namespace;
  const app = target.app;
  const rules: AlertingRule[] = [];
  for (const [name, bound] of Object.entries(spec.bounds)) {
    const def = spec.metrics[name];
    if (!def) {
      throw new RangeError(
        `Cannot alert on ${name}: no such metric is declared (declared: ${
          Object.keys(spec.metrics).join(", ") || "none"
        })`,
      );
    }
    if (!Number.isFinite(bound.threshold)) {
      throw new RangeError(`Cannot alert on ${name} beyond ${bound.threshold}: not a number`);
    }
    const breach = breachOperator(bound.operator);
    const limit = `${number(bound.threshold)}${def.unit}`;
    const gate = bound.source ?? `${name} ${bound.operator} ${limit}`;
    for (const service of services) {
      for (const slot of SLOTS) {
        const expr = metricExpr(def.query, def.scale, { namespace: ns, service, slot, window });
        rules.push({
          alert: metricAlertName(name, bound.operator),
          expr: `${expr} ${breach} ${number(bound.threshold)}`,
          for: wait,
          labels: { severity: "critical", app, namespace: ns, service, slot, metric: name },
          annotations: {
            summary:
              `${service} (${slot}) in ${ns}: ${name} {{ $value | printf "%.2f" }}${def.unit}` +
              ` (the gate "${gate}" fails at ${breach} ${limit})`,
            description: `${def.description ?? name} (window ${window}) ${breach} ${limit} ` +
              `for ${wait}: the canary's gate "${gate}" would have rolled this version back.`,
          },
        });
      }
    }
  }
  const pods = `namespace="${ns}",pod=~"(${regexOf(services)})-.+"`;
  rules.push(
    {
      alert: "PodRestarting",
      expr: `increase(kube_pod_container_status_restarts_total{${pods}}[${window}]) >= ${restarts}`,
      for: wait,
      labels: { severity: "warning", app },
      annotations: {
        summary: "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) " +
          `restarted {{ $value | printf "%.0f" }} times in ${window}`,
        description: `A container restarted ${restarts} or more times within ${window}: see ` +
          "kubectl describe pod and kubectl logs --previous.",
      },
    },
    {
      alert: "PodCrashLooping",
      expr: `max_over_time(kube_pod_container_status_waiting_reason{${pods},` +
        `reason="CrashLoopBackOff"}[${window}]) >= 1`,
      for: wait,
      labels: { severity: "critical", app },
      annotations: {
        summary:
          "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
        description:
          `A container has been in CrashLoopBackOff for ${wait}: see kubectl logs --previous.`,
      },
    },
    {
      alert: "DeployFailed",
      expr: `max by (namespace, app, run_id, version) (${DEPLOY_FAILED_METRIC}{namespace="${ns}",` +
        `app="${app}"}) == 1`,
      for: "0s",
      labels: { severity: "warning", app },
      annotations: {
        summary: `The deploy of {{ $labels.version }} to ${ns} failed and was rolled back ` +
          "(run {{ $labels.run_id }})",
        description: "The deploy record's latest run was rolled back: the previous version " +
          "serves. deno task explain <run> says why; it resolves when a deploy succeeds.",
      },
    },
  );
  return { groups: [{ name: `${app}.rules`, rules }] };
}
