/**
 * The Grafana dashboard of a target: a row per declared metric with a time-series panel per
 * service (a line per slot, from the metric's own query in its unit, the alert's bound drawn as
 * a threshold line), a row of pod restarts per service, and deploy annotations from the deploy
 * record's metrics (`deploy_record_run_info`: a region per run, titled with its version; failed
 * runs in red). The data source is a dashboard variable (`${datasource}`, any Prometheus).
 * Every `expr` is plain PromQL (the window is rendered, not Grafana's `$__rate_interval`), so a
 * Prometheus can check each one.
 * @module
 */
import type { KubeTarget } from "../kubernetes/target.ts";
import { SLOTS } from "../kubernetes/slots.ts";
import { DEPLOY_FAILED_METRIC, DEPLOY_RUN_METRIC } from "./deploy_metrics.ts";
import { metricExpr } from "./rules.ts";
import { DEFAULT_WINDOW, type MonitoringSpec, promDuration } from "./spec.ts";

/** A JSON object (a Grafana dashboard model, or part of one). */
// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** Grafana's unit for a metric unit. */
const UNITS: Readonly<Record<string, string>> = {
  "%": "percent",
  ms: "ms",
  s: "s",
  "req/s": "reqps",
  "": "short",
};

/**
 * The dashboard's `uid` for a target: `<app>-<environment>`, within Grafana's 40 characters.
 *
 * @param target The target.
 * @returns The uid.
 *
 * @example
 * ```ts
 * import { dashboardUid } from "./grafana.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * const target = { name: "staging", app: "shop" } as KubeTarget;
 * console.assert(dashboardUid(target) === "shop-staging");
 * ```
 */
export function dashboardUid(target: KubeTarget): string {
  return `${target.app}-${target.name}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40);
}

/**
 * Every PromQL expression of a dashboard (its panels' targets and its annotations), with where
 * it is: what a test hands a Prometheus to check.
 *
 * @param dashboard A dashboard from {@linkcode grafanaDashboard}.
 * @returns `[where, expr]` pairs.
 *
 * @example
 * ```ts
 * import { dashboardExprs } from "./grafana.ts";
 * const pairs = dashboardExprs({ panels: [{ title: "a", targets: [{ refId: "A", expr: "up" }] }] });
 * console.assert(pairs[0]![1] === "up");
 * ```
 */
export function dashboardExprs(dashboard: Json): [string, string][] {
  const out: [string, string][] = [];
  for (const p of dashboard.panels ?? []) {
    for (const t of p.targets ?? []) out.push([`panel "${p.title}" ${t.refId}`, t.expr]);
  }
  for (const a of dashboard.annotations?.list ?? []) {
    if (typeof a.expr === "string") out.push([`annotation "${a.name}"`, a.expr]);
  }
  return out;
}

/**
 * The target's dashboard (see the module's description).
 *
 * @param target The deploy target.
 * @param spec The metrics, their alert bounds and the window.
 * @returns The dashboard JSON model (Grafana's schema 39).
 * @throws {RangeError} For a malformed window.
 *
 * @example
 * ```ts
 * import { grafanaDashboard } from "./grafana.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const d = grafanaDashboard(target, {
 *   metrics: { error_rate: { unit: "%", query: 'e{service="{{service}}",slot="{{slot}}"}', scale: 100 } },
 *   bounds: { error_rate: { operator: "<", threshold: 1 } },
 * });
 * const web = d.panels.find((p: { title: string }) => p.title === "web: error_rate");
 * assert.equal(web.targets.length, 2);
 * assert.equal(web.fieldConfig.defaults.unit, "percent");
 * ```
 */
export function grafanaDashboard(target: KubeTarget, spec: MonitoringSpec): Json {
  const window = promDuration(spec.window ?? DEFAULT_WINDOW, "the window");
  const ns = target.namespace;
  const services = Object.keys(target.services);
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  const row = (title: string) => {
    panels.push({
      id: id++,
      type: "row",
      title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
  };
  const grid = (i: number) => ({ h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 });
  const endRow = () => {
    y += Math.ceil(services.length / 2) * 8;
  };
  for (const [name, def] of Object.entries(spec.metrics)) {
    const bound = spec.bounds[name];
    row(`${name}${def.description ? `: ${def.description}` : ""}`);
    services.forEach((service, i) => {
      const steps: Json[] = [{ color: "green", value: null }];
      if (bound) steps.push({ color: "red", value: bound.threshold });
      panels.push({
        id: id++,
        type: "timeseries",
        title: `${service}: ${name}`,
        description: `${def.description ?? name}, per slot, over ${window}` +
          (bound ? `; the alert fires beyond "${bound.source ?? bound.threshold}"` : ""),
        datasource: DATASOURCE,
        gridPos: grid(i),
        fieldConfig: {
          defaults: {
            unit: UNITS[def.unit] ?? "short",
            thresholds: { mode: "absolute", steps },
            custom: { thresholdsStyle: { mode: bound ? "line" : "off" } },
          },
          overrides: [],
        },
        options: { legend: { displayMode: "list", placement: "bottom" } },
        targets: SLOTS.map((slot, k) => ({
          refId: String.fromCharCode(65 + k),
          datasource: DATASOURCE,
          expr: metricExpr(def.query, def.scale, { namespace: ns, service, slot, window }),
          legendFormat: slot,
        })),
      });
    });
    endRow();
  }
  row("Pod restarts");
  services.forEach((service, i) => {
    panels.push({
      id: id++,
      type: "timeseries",
      title: `${service}: restarts`,
      description: `Container restarts of ${service}'s pods over ${window} (kube-state-metrics)`,
      datasource: DATASOURCE,
      gridPos: grid(i),
      fieldConfig: { defaults: { unit: "short", decimals: 0 }, overrides: [] },
      options: { legend: { displayMode: "list", placement: "bottom" } },
      targets: [{
        refId: "A",
        datasource: DATASOURCE,
        expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total{namespace="${ns}",` +
          `pod=~"${service.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")}-.+"}[${window}]))`,
        legendFormat: "{{pod}}",
      }],
    });
  });
  endRow();
  const record = `namespace="${ns}",app="${target.app}"`;
  return {
    uid: dashboardUid(target),
    title: `${target.app} (${target.name})`,
    description: `Generated from the declared metrics and the canary's gates: ${ns}.`,
    tags: [target.app, target.name, "generated"],
    timezone: "browser",
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [{
        name: "datasource",
        label: "Prometheus",
        type: "datasource",
        query: "prometheus",
        current: {},
        hide: 0,
      }],
    },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
        {
          name: "Deploys",
          datasource: DATASOURCE,
          enable: true,
          iconColor: "blue",
          expr: `${DEPLOY_RUN_METRIC}{${record}}`,
          step: "1m",
          titleFormat: "deploy {{version}}",
          textFormat: "{{state}} (run {{run_id}})",
          tagKeys: "state,version",
        },
        {
          name: "Failed deploys",
          datasource: DATASOURCE,
          enable: true,
          iconColor: "red",
          expr: `${DEPLOY_FAILED_METRIC}{${record}} == 1`,
          step: "1m",
          titleFormat: "failed: {{version}}",
          textFormat: "rolled back (run {{run_id}})",
          tagKeys: "version",
        },
      ],
    },
    panels,
  };
}
