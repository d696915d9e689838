/**
 * Measurements from the sandbox's own record of the requests that really reached its
 * pods (`/apis/<SANDBOX_API_GROUP>/v1/namespaces/<ns>/measurements`). A metric reads
 * the field named in its `measurement`; `null` (no requests) is inconclusive.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Measurement, MetricsProvider, NamedMetric, Target } from "./provider.ts";

/** Options of {@linkcode sandboxMeasurementsProvider}. */
export interface SandboxMeasurementsOptions {
  /** The sandbox API server's URL. */
  readonly url: string;
  /** Bearer token from the sandbox kubeconfig. */
  readonly token?: string;
  /** Per-request time limit in ms (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * A provider reading the sandbox's measurements. `target.namespace` picks the
 * namespace; the other labels become the label selector.
 */
export function sandboxMeasurementsProvider(options: SandboxMeasurementsOptions): MetricsProvider {
  const base = options.url.replace(/\/+$/, "");
  return {
    name: `sandbox measurements ${base}`,
    async measure(metric: NamedMetric, target: Target, { windowMs }): Promise<Measurement> {
      if (!metric.measurement) {
        return { kind: "error", detail: `metric ${metric.name} has no sandbox measurement field` };
      }
      const { namespace, ...labels } = target;
      if (!namespace) return { kind: "error", detail: "the target has no namespace" };
      const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
      const url = `${base}/apis/${SANDBOX_API_GROUP}/v1/namespaces/${namespace}/measurements` +
        `?labelSelector=${encodeURIComponent(selector)}&window=${
          Math.max(1, Math.round(windowMs / 1000))
        }s`;
      try {
        const res = await fetch(url, {
          headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
          signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        });
        if (!res.ok) {
          await res.body?.cancel();
          return { kind: "error", detail: `the sandbox's measurements answered ${res.status}` };
        }
        const body = await res.json() as Record<string, unknown>;
        const raw = body[metric.measurement.field];
        if (raw === null || raw === undefined) {
          return {
            kind: "inconclusive",
            detail: `no requests in the window (${body.window ?? ""})`,
          };
        }
        const value = Number(raw);
        if (!Number.isFinite(value)) return { kind: "inconclusive", detail: `no value (${raw})` };
        return { kind: "value", value: value * (metric.measurement.scale ?? 1) };
      } catch (err) {
        return {
          kind: "error",
          detail: `cannot reach the sandbox's measurements: ${(err as Error).message}`,
        };
      }
    },
  };
}
