/**
 * Monitoring as code: from the metrics a pipeline declares (their PromQL and unit) and the
 * bounds of its gates, a target's alert rules (a Prometheus rule file and a `PrometheusRule`),
 * a `ServiceMonitor` per service, and a Grafana dashboard (a panel per metric per service,
 * deploy annotations); and the deploy record as metrics, for the failed-deploy alert and the
 * dashboard's annotations.
 *
 * ```ts
 * import { boundsFromGates, renderMonitoring } from "./mod.ts";
 * import { parseGate } from "../dsl/gate.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const metrics = { error_rate: { unit: "%" as const, query: 'e{slot="{{slot}}"}', scale: 100 } };
 * const rendered = renderMonitoring(target, {
 *   metrics,
 *   bounds: boundsFromGates([parseGate("error_rate < 1%")]),
 *   window: "1m",
 *   for: "0s",
 * });
 * assert.equal(rendered.rules.groups[0]!.rules[0]!.alert, "HighErrorRate");
 * ```
 * @module
 */
export * from "./spec.ts";
export * from "./rules.ts";
export * from "./grafana.ts";
export * from "./deploy_metrics.ts";
export * from "./render.ts";
export type { KubeObject } from "../kubernetes/capability.ts";
export type * from "../kubernetes/target.ts";
export type { Slot } from "../kubernetes/slots.ts";
export type {
  DeploymentRecord,
  RunRecord,
  RunService,
  RunState,
  SlotVersion,
} from "../kubernetes/strategies/record.ts";
