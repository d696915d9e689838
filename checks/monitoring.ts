/**
 * Monitoring stack checks: Prometheus, Grafana and Alertmanager answer their health
 * endpoints (a stage needs net to each host; `uses("metrics")` covers Prometheus); and the
 * monitoring objects a deploy generated are in the cluster as generated (`uses("kubernetes")`).
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KubeObject } from "../lib/kubernetes/capability.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";
import { excerpt, get, type HttpCheckOptions, joinUrl } from "./_http.ts";

/**
 * Prometheus answers `GET /-/healthy` with 200 and "Healthy" (or `/-/ready` with
 * `ready: true`).
 *
 * @param baseUrl The Prometheus URL, e.g. the environment's `monitoring.prometheus_url`.
 * @param options `ready`, deadline, headers, name, required.
 * @returns The check; evidence: url, status, latencyMs, body excerpt.
 *
 * @example
 * ```ts
 * import { prometheusHealthy } from "./monitoring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(prometheusHealthy("http://127.0.0.1:9090").name, "Prometheus accessible");
 * ```
 */
export function prometheusHealthy(
  baseUrl: string,
  options: HttpCheckOptions & { readonly ready?: boolean } = {},
): Check {
  const url = joinUrl(baseUrl, options.ready ? "/-/ready" : "/-/healthy", "Prometheus accessible");
  return {
    name: options.name ?? "Prometheus accessible",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) {
        return fail(`Prometheus at ${url} unreachable: ${r.error}`, { url, error: r.error });
      }
      const evidence = { url, status: r.status, latencyMs: r.latencyMs, body: excerpt(r.body) };
      const word = options.ready ? /ready/i : /healthy/i;
      if (r.status !== 200 || !word.test(r.body)) {
        return fail(`Prometheus at ${url} is not healthy: HTTP ${r.status}`, evidence);
      }
      return pass(`Prometheus is ${options.ready ? "ready" : "healthy"}`, evidence);
    },
  };
}

/**
 * Grafana answers `GET /api/health` with JSON whose `database` is `"ok"`.
 *
 * @param baseUrl The Grafana URL (the environment's `monitoring.grafana_url`).
 * @param options Deadline, headers, name, required.
 * @returns The check; evidence: url, status, database, version.
 *
 * @example
 * ```ts
 * import { grafanaHealthy } from "./monitoring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(grafanaHealthy("http://127.0.0.1:3000").name, "Grafana accessible");
 * ```
 */
export function grafanaHealthy(baseUrl: string, options: HttpCheckOptions = {}): Check {
  const url = joinUrl(baseUrl, "/api/health", "Grafana accessible");
  return {
    name: options.name ?? "Grafana accessible",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) return fail(`Grafana at ${url} unreachable: ${r.error}`, { url, error: r.error });
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(r.body);
      } catch {
        return fail(`Grafana at ${url} did not answer JSON: HTTP ${r.status}`, {
          url,
          status: r.status,
          body: excerpt(r.body),
        });
      }
      const evidence = {
        url,
        status: r.status,
        latencyMs: r.latencyMs,
        database: body.database,
        version: body.version,
      };
      if (r.status !== 200 || body.database !== "ok") {
        return fail(
          `Grafana at ${url} reports database ${JSON.stringify(body.database)} (HTTP ${r.status})`,
          evidence,
        );
      }
      return pass("Grafana is healthy (database ok)", evidence);
    },
  };
}

/**
 * Alertmanager answers `GET /-/healthy` with 200.
 *
 * @param baseUrl The Alertmanager URL (the environment's `monitoring.alertmanager_url`).
 * @param options Deadline, headers, name, required.
 * @returns The check; evidence: url, status, latencyMs.
 *
 * @example
 * ```ts
 * import { alertmanagerHealthy } from "./monitoring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(alertmanagerHealthy("http://127.0.0.1:9093").name, "Alertmanager accessible");
 * ```
 */
export function alertmanagerHealthy(baseUrl: string, options: HttpCheckOptions = {}): Check {
  const url = joinUrl(baseUrl, "/-/healthy", "Alertmanager accessible");
  return {
    name: options.name ?? "Alertmanager accessible",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) {
        return fail(`Alertmanager at ${url} unreachable: ${r.error}`, { url, error: r.error });
      }
      const evidence = { url, status: r.status, latencyMs: r.latencyMs, body: excerpt(r.body) };
      if (r.status !== 200) {
        return fail(`Alertmanager at ${url} is not healthy: HTTP ${r.status}`, evidence);
      }
      return pass("Alertmanager is healthy", evidence);
    },
  };
}

/** The first path where `actual` lacks or differs from `expected` (a subset match), or null. */
function difference(actual: unknown, expected: unknown, path: string): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return path;
    for (const [i, e] of expected.entries()) {
      const d = difference(actual[i], e, `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return path;
    for (const [k, e] of Object.entries(expected)) {
      const d = difference((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : path;
}

/**
 * The monitoring objects a deploy generated are in the cluster as generated: each exists, and
 * its labels, `spec` (ServiceMonitor, PrometheusRule) and `data` (the dashboard's ConfigMap)
 * hold what was generated (fields the server adds are allowed) — the alert rules Prometheus
 * loads are the rendered ones, not an older or hand-edited copy.
 *
 * @param manifests The objects as generated (e.g. `monitoringManifests(target, spec)`).
 * @param options Name (default "Monitoring objects applied"), required.
 * @returns The check; evidence: objects, missing, different (`Kind/name at <path>`).
 *
 * @example
 * ```ts
 * import { monitoringObjectsApplied } from "./monitoring.ts";
 * import assert from "node:assert/strict";
 * const check = monitoringObjectsApplied([]);
 * assert.equal(check.name, "Monitoring objects applied");
 * ```
 */
export function monitoringObjectsApplied(
  manifests: readonly KubeObject[],
  options: CommonCheckOptions = {},
): Check {
  const name = options.name ?? "Monitoring objects applied";
  return kubeCheck(name, async (k) => {
    const objects = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    const missing: string[] = [];
    const different: string[] = [];
    for (const m of manifests) {
      const found = await k.get(
        { apiVersion: m.apiVersion, kind: m.kind },
        m.metadata.namespace ?? null,
        m.metadata.name,
      );
      const id = `${m.kind}/${m.metadata.name}`;
      if (!found) {
        missing.push(id);
        continue;
      }
      const expected = {
        metadata: { labels: m.metadata.labels ?? {} },
        ...("spec" in m ? { spec: m.spec } : {}),
        ...("data" in m ? { data: m.data } : {}),
      };
      const at = difference(found, expected, "");
      if (at) different.push(`${id} at ${at.slice(1)}`);
    }
    const evidence = { objects, missing, different };
    if (missing.length > 0 || different.length > 0) {
      const parts = [
        ...(missing.length > 0 ? [`missing ${missing.join(", ")}`] : []),
        ...(different.length > 0 ? [`not as generated: ${different.join(", ")}`] : []),
      ];
      return fail(`Monitoring objects ${parts.join("; ")}`, evidence);
    }
    return pass(`${objects.length} monitoring object(s) as generated`, evidence);
  }, { ...options, name });
}
