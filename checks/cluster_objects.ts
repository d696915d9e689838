/**
 * Post-deployment checks that objects other teams' controllers act on are in place: the
 * Prometheus Operator's `ServiceMonitor` (targets discovered) and `PrometheusRule` (alerts),
 * and the backup `CronJob` (the seed's "Prometheus target discovery", "Alert rules" and
 * "Backup system operational"). A cluster that does not serve the kind at all fails with
 * what to install, not with "not found".
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef } from "../lib/kubernetes/capability.ts";
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
