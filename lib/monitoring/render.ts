/**
 * Monitoring as files: a target's objects rendered once and written as what each consumer
 * reads — `rules.yml` (a plain Prometheus rule file: `promtool check rules`, a Prometheus'
 * `rule_files`), `dashboard.json` (Grafana's import), and the Kubernetes objects, each kind in
 * its file and all of them in `monitoring.yml` (`kubectl apply -f`), the same multi-document
 * YAML `deno task monitoring render` prints without `--out`.
 * @module
 */
import { stringify } from "yaml";
import type { KubeObject } from "../kubernetes/capability.ts";
import type { KubeTarget } from "../kubernetes/target.ts";
import { monitoringManifests } from "../kubernetes/manifests_monitoring.ts";
import { alertRuleFile, type RuleFile, type RuleOptions } from "./rules.ts";
import { grafanaDashboard } from "./grafana.ts";
import type { MonitoringSpec } from "./spec.ts";

/** A target's monitoring, rendered. */
export interface RenderedMonitoring {
  /** The rule file (the PrometheusRule's spec). */
  readonly rules: RuleFile;
  /** The Grafana dashboard. */
  // deno-lint-ignore no-explicit-any
  readonly dashboard: Record<string, any>;
  /** The Kubernetes objects: ServiceMonitors, PrometheusRule, the dashboard's ConfigMap. */
  readonly manifests: readonly KubeObject[];
}

/**
 * Renders a target's monitoring.
 *
 * @param target The deploy target.
 * @param spec Metrics, bounds, windows, labels.
 * @param options `restarts`.
 * @returns The rule file, the dashboard and the objects.
 *
 * @example
 * ```ts
 * import { renderMonitoring } from "./render.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const r = renderMonitoring(target, { metrics: {}, bounds: {} });
 * assert.deepEqual(r.manifests.map((m) => m.kind), ["ServiceMonitor", "PrometheusRule", "ConfigMap"]);
 * ```
 */
export function renderMonitoring(
  target: KubeTarget,
  spec: MonitoringSpec,
  options: RuleOptions = {},
): RenderedMonitoring {
  return {
    rules: alertRuleFile(target, spec, options),
    dashboard: grafanaDashboard(target, spec),
    manifests: monitoringManifests(target, spec, options),
  };
}

const YAML_OPTIONS = { lineWidth: 0 } as const;

/**
 * Objects as multi-document YAML (`---` between them), a header comment first.
 *
 * @param manifests The objects.
 * @param header Comment lines (without `#`).
 * @returns The YAML.
 *
 * @example
 * ```ts
 * import { manifestsYaml } from "./render.ts";
 * import assert from "node:assert/strict";
 * const text = manifestsYaml([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }], ["hi"]);
 * assert.equal(text, "# hi\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
 * ```
 */
export function manifestsYaml(
  manifests: readonly KubeObject[],
  header: readonly string[] = [],
): string {
  const comments = header.map((line) => `# ${line}`.trimEnd() + "\n").join("");
  return comments + manifests.map((m) => `---\n${stringify(m, YAML_OPTIONS)}`).join("");
}

/**
 * The files of `--out`: name → content.
 *
 * @param rendered What {@linkcode renderMonitoring} made.
 * @param header Comment lines for the YAML files.
 * @returns `rules.yml`, `servicemonitors.yml`, `prometheusrule.yml`, `dashboard-configmap.yml`,
 *   `monitoring.yml` (every object) and `dashboard.json`.
 *
 * @example
 * ```ts
 * import { monitoringFiles, renderMonitoring } from "./render.ts";
 * import type { KubeTarget } from "../kubernetes/target.ts";
 * import assert from "node:assert/strict";
 * const target = { name: "staging", namespace: "shop", app: "shop", services: { web: { replicas: 1 } } } as
 *   unknown as KubeTarget;
 * const files = monitoringFiles(renderMonitoring(target, { metrics: {}, bounds: {} }));
 * assert.ok(files["rules.yml"]!.includes("groups:"));
 * assert.equal(JSON.parse(files["dashboard.json"]!).uid, "shop-staging");
 * ```
 */
export function monitoringFiles(
  rendered: RenderedMonitoring,
  header: readonly string[] = [],
): Record<string, string> {
  const of = (kind: string) => rendered.manifests.filter((m) => m.kind === kind);
  const comments = header.map((line) => `# ${line}`.trimEnd() + "\n").join("");
  return {
    "rules.yml": comments + stringify(rendered.rules, YAML_OPTIONS),
    "servicemonitors.yml": manifestsYaml(of("ServiceMonitor"), header),
    "prometheusrule.yml": manifestsYaml(of("PrometheusRule"), header),
    "dashboard-configmap.yml": manifestsYaml(of("ConfigMap"), header),
    "monitoring.yml": manifestsYaml(rendered.manifests, header),
    "dashboard.json": `${JSON.stringify(rendered.dashboard, null, 2)}\n`,
  };
}
