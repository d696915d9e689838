/**
 * Applying a target's monitoring objects (`manifests_monitoring.ts`) with server-side apply; a
 * cluster without the Prometheus Operator's CRDs is told what to install instead of a 404.
 * @module
 */
import type { KubernetesCapability } from "./capability.ts";
import type { KubeTarget } from "./target.ts";
import {
  type AlertThresholds,
  monitoringManifests,
  type MonitoringOptions,
} from "./manifests_monitoring.ts";

/**
 * Applies the target's ServiceMonitor and PrometheusRule.
 *
 * @param k The capability (`apply`, and `namespaced` to see that the kinds are served).
 * @param target The deploy target.
 * @param thresholds When the alerts fire.
 * @param options Selection labels, scrape interval, and `dryRun` (the server checks, nothing is kept).
 * @returns What was applied, as `Kind/name`.
 * @throws {Error} When the cluster does not serve a kind (naming what to install), or an apply fails.
 *
 * @example
 * ```ts ignore
 * const applied = await applyMonitoring(k, target, { errorRatePercent: 1, p95LatencyMs: 2000 });
 * // ["ServiceMonitor/shop", "PrometheusRule/shop-alerts"]
 * ```
 */
export async function applyMonitoring(
  k: Pick<KubernetesCapability, "apply" | "namespaced">,
  target: KubeTarget,
  thresholds: AlertThresholds,
  options: MonitoringOptions & { readonly dryRun?: boolean } = {},
): Promise<string[]> {
  const manifests = monitoringManifests(target, thresholds, options);
  for (const m of manifests) {
    if (await k.namespaced({ apiVersion: m.apiVersion, kind: m.kind }) === undefined) {
      throw new Error(
        `Cannot apply ${m.kind} ${target.namespace}/${m.metadata.name}: the cluster serves no ` +
          `${m.apiVersion} ${m.kind}: install the Prometheus Operator's CRDs in the cluster`,
      );
    }
  }
  const applied: string[] = [];
  for (const m of manifests) {
    await k.apply(m, { dryRun: options.dryRun === true });
    applied.push(`${m.kind}/${m.metadata.name}`);
  }
  return applied;
}
