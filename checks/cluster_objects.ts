/**
 * Post-deployment checks that objects other teams' controllers act on are in place: the
 * Prometheus Operator's `ServiceMonitor` (that it selects Services with ready endpoints:
 * targets discovered) and `PrometheusRule` (that it holds alerts),
 * and the backup `CronJob` (the seed's "Prometheus target discovery", "Alert rules" and
 * "Backup system operational"). A cluster that does not serve the kind at all fails with
 * what to install, not with "not found".
 * @module
 */
import type { Check, CheckOutcome } from "../lib/dsl/types.ts";
import type { KindRef, KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { fail, pass } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";
import type { CommonCheckOptions } from "./options.ts";

/** The Prometheus Operator's ServiceMonitor. */
export const SERVICE_MONITOR: KindRef = {
  apiVersion: "monitoring.coreos.com/v1",
  kind: "ServiceMonitor",
};
/** The Prometheus Operator's PrometheusRule. */
export const PROMETHEUS_RULE: KindRef = {
  apiVersion: "monitoring.coreos.com/v1",
  kind: "PrometheusRule",
};
const CRONJOB: KindRef = { apiVersion: "batch/v1", kind: "CronJob" };
const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const ENDPOINTS: KindRef = { apiVersion: "v1", kind: "Endpoints" };

type Json = Record<string, unknown>;

function rec(value: unknown): Json {
  return value && typeof value === "object" && !Array.isArray(value) ? value as Json : {};
}

function arr(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(rec) : [];
}

/** A LabelSelector as a `labelSelector` query (`a=b,c in (d,e),f,!g`). */
function selectorQuery(selector: Json): string {
  const parts = Object.entries(rec(selector.matchLabels)).map(([k, v]) => `${k}=${v}`);
  for (const e of arr(selector.matchExpressions)) {
    const values = (Array.isArray(e.values) ? e.values : []).join(",");
    const op = String(e.operator);
    if (op === "In") parts.push(`${e.key} in (${values})`);
    else if (op === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (op === "Exists") parts.push(String(e.key));
    else if (op === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** The kind is served, else a failure naming what to install. */
async function served(
  k: KubernetesCapability,
  kind: KindRef,
  evidence: Json,
  install: string | undefined,
): Promise<CheckOutcome | undefined> {
  evidence.served = await k.namespaced(kind) !== undefined;
  if (evidence.served) return undefined;
  return fail(
    `The cluster serves no ${kind.apiVersion} ${kind.kind}${install ? `: install ${install}` : ""}`,
    evidence,
  );
}

/**
 * At least one object of a kind in the namespace whose name contains `nameContains` (the
 * seed's `kubectl get servicemonitor -n $NS | grep tracktion`).
 *
 * @param namespace The namespace.
 * @param kind The kind (e.g. {@linkcode SERVICE_MONITOR}).
 * @param nameContains A part of the name to look for (e.g. the app's name).
 * @param options `install`: what provides the kind (said when the cluster lacks it); name, required.
 * @returns The check; evidence: kind, namespace, served, found (names).
 *
 * @example
 * ```ts
 * import { objectsExist, SERVICE_MONITOR } from "./cluster_objects.ts";
 * import assert from "node:assert/strict";
 * const check = objectsExist("shop-prod", SERVICE_MONITOR, "shop");
 * assert.equal(check.name, "ServiceMonitor exists: *shop*");
 * ```
 */
export function objectsExist(
  namespace: string,
  kind: KindRef,
  nameContains: string,
  options: CommonCheckOptions & { readonly install?: string } = {},
): Check {
  const name = options.name ?? `${kind.kind} exists: *${nameContains}*`;
  return kubeCheck(name, async (k) => {
    const evidence: Record<string, unknown> = {
      kind: `${kind.apiVersion} ${kind.kind}`,
      namespace,
    };
    if (await k.namespaced(kind) === undefined) {
      evidence.served = false;
      return fail(
        `The cluster serves no ${kind.apiVersion} ${kind.kind}${
          options.install ? `: install ${options.install}` : ""
        }`,
        evidence,
      );
    }
    evidence.served = true;
    const all = await k.list(kind, namespace);
    const found = all.map((o) => o.metadata.name).filter((n) => n.includes(nameContains));
    evidence.found = found;
    return found.length > 0
      ? pass(`${found.length} ${kind.kind}(s) in ${namespace}: ${found.join(", ")}`, evidence)
      : fail(
        `No ${kind.kind} named *${nameContains}* in ${namespace} (${all.length} of that kind there)`,
        evidence,
      );
  }, { ...options, name });
}

/**
 * The named CronJob exists and is not suspended (the seed's "Backup system operational").
 *
 * @param namespace The namespace.
 * @param cronjob The CronJob's name (e.g. the environment's `backup.cronjob`).
 * @param options Name, required.
 * @returns The check; evidence: cronjob, schedule, suspended, lastScheduleTime.
 *
 * @example
 * ```ts
 * import { cronJobActive } from "./cluster_objects.ts";
 * import assert from "node:assert/strict";
 * assert.equal(cronJobActive("shop-prod", "database-backup").name, "CronJob database-backup active");
 * ```
 */
export function cronJobActive(
  namespace: string,
  cronjob: string,
  options: CommonCheckOptions = {},
): Check {
  const name = options.name ?? `CronJob ${cronjob} active`;
  return kubeCheck(name, async (k) => {
    const object = await k.get(CRONJOB, namespace, cronjob);
    if (!object) {
      return fail(`No CronJob ${namespace}/${cronjob}: backups are not being made`, { cronjob });
    }
    const spec = (object.spec ?? {}) as { schedule?: string; suspend?: boolean };
    const status = (object.status ?? {}) as { lastScheduleTime?: string };
    const evidence = {
      cronjob,
      schedule: spec.schedule ?? null,
      suspended: spec.suspend === true,
      lastScheduleTime: status.lastScheduleTime ?? null,
    };
    return spec.suspend === true
      ? fail(`CronJob ${namespace}/${cronjob} is suspended: no backups are made`, evidence)
      : pass(`CronJob ${namespace}/${cronjob} runs on "${spec.schedule}"`, evidence);
  }, { ...options, name });
}

/**
 * Prometheus target discovery: a ServiceMonitor named *`nameContains`* selects Services of its
 * namespace that have the port its endpoints name, and those Services have ready endpoint
 * addresses — the targets the Prometheus Operator would hand Prometheus (the seed's
 * `kubectl get servicemonitor -n $NS | grep tracktion`, and that it finds something to scrape).
 *
 * @param namespace The namespace.
 * @param nameContains A part of the ServiceMonitor's name (e.g. the app's name).
 * @param options `install`: what provides the kind (said when the cluster lacks it); name, required.
 * @returns The check; evidence: served, monitors, services (selected, with the port), targets.
 *
 * @example
 * ```ts
 * import { serviceMonitorTargets } from "./cluster_objects.ts";
 * import assert from "node:assert/strict";
 * assert.equal(serviceMonitorTargets("shop", "shop").name, "ServiceMonitor targets: *shop*");
 * ```
 */
export function serviceMonitorTargets(
  namespace: string,
  nameContains: string,
  options: CommonCheckOptions & { readonly install?: string } = {},
): Check {
  const name = options.name ?? `ServiceMonitor targets: *${nameContains}*`;
  return kubeCheck(name, async (k) => {
    const evidence: Json = { kind: "monitoring.coreos.com/v1 ServiceMonitor", namespace };
    const refused = await served(k, SERVICE_MONITOR, evidence, options.install);
    if (refused) return refused;
    const monitors = (await k.list(SERVICE_MONITOR, namespace))
      .filter((m) => m.metadata.name.includes(nameContains));
    evidence.monitors = monitors.map((m) => m.metadata.name);
    if (monitors.length === 0) {
      return fail(`No ServiceMonitor named *${nameContains}* in ${namespace}`, evidence);
    }
    const services = new Set<string>();
    for (const m of monitors) {
      const spec = rec(m.spec);
      const ports = arr(spec.endpoints).map((e) => e.port).filter((p): p is string =>
        typeof p === "string"
      );
      const selected = await k.list(SERVICE, namespace, {
        labelSelector: selectorQuery(rec(spec.selector)),
      });
      for (const svc of selected) {
        const named = arr(rec(svc.spec).ports).some((p) => ports.includes(String(p.name)));
        if (named) services.add(svc.metadata.name);
      }
    }
    evidence.services = [...services].sort();
    if (services.size === 0) {
      return fail(
        `ServiceMonitor ${monitors.map((m) => m.metadata.name).join(", ")} selects no Service ` +
          `of ${namespace} with the port its endpoints name: Prometheus discovers no target`,
        evidence,
      );
    }
    let targets = 0;
    for (const svc of services) {
      const ep = await k.get(ENDPOINTS, namespace, svc);
      targets += arr(ep?.subsets).reduce((n, s) => n + arr(s.addresses).length, 0);
    }
    evidence.targets = targets;
    return targets > 0
      ? pass(`${services.size} Service(s) selected, ${targets} target(s) to scrape`, evidence)
      : fail(
        `ServiceMonitor selects ${services.size} Service(s) in ${namespace} but none has a ready ` +
          "endpoint: Prometheus finds no target to scrape",
        evidence,
      );
  }, { ...options, name });
}

/**
 * Alert rules: a PrometheusRule named *`nameContains`* holds at least one alerting rule (the
 * seed's `kubectl get prometheusrule -n $NS | grep tracktion`, and that it alerts on something).
 *
 * @param namespace The namespace.
 * @param nameContains A part of the PrometheusRule's name.
 * @param options `install`, name, required.
 * @returns The check; evidence: served, rules (names), alerts (alert names).
 *
 * @example
 * ```ts
 * import { alertRules } from "./cluster_objects.ts";
 * import assert from "node:assert/strict";
 * assert.equal(alertRules("shop", "shop").name, "Alert rules: *shop*");
 * ```
 */
export function alertRules(
  namespace: string,
  nameContains: string,
  options: CommonCheckOptions & { readonly install?: string } = {},
): Check {
  const name = options.name ?? `Alert rules: *${nameContains}*`;
  return kubeCheck(name, async (k) => {
    const evidence: Json = { kind: "monitoring.coreos.com/v1 PrometheusRule", namespace };
    const refused = await served(k, PROMETHEUS_RULE, evidence, options.install);
    if (refused) return refused;
    const rules = (await k.list(PROMETHEUS_RULE, namespace))
      .filter((r) => r.metadata.name.includes(nameContains));
    evidence.rules = rules.map((r) => r.metadata.name);
    if (rules.length === 0) {
      return fail(`No PrometheusRule named *${nameContains}* in ${namespace}`, evidence);
    }
    const alerts = rules.flatMap((r) =>
      arr(rec(r.spec).groups).flatMap((g) => arr(g.rules)).map((rule) => rule.alert)
        .filter((a): a is string => typeof a === "string" && a !== "")
    );
    evidence.alerts = alerts;
    return alerts.length > 0
      ? pass(`${alerts.length} alert(s) in ${evidence.rules}: ${alerts.join(", ")}`, evidence)
      : fail(
        `PrometheusRule ${evidence.rules} in ${namespace} holds no alerting rule: nothing would page`,
        evidence,
      );
  }, { ...options, name });
}
