/**
 * Kubernetes-side post-deployment validations (the seed's
 * `post_deployment_validation.sh`): pod readiness, Service endpoints, deployment labels,
 * no `:latest` images, resource usage against limits. Re-exported by `kubernetes.ts`.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef, KubeObject } from "../lib/kubernetes/capability.ts";
import { parseQuantity } from "../lib/config/quantity.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";

const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
const ENDPOINTS: KindRef = { apiVersion: "v1", kind: "Endpoints" };
const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };
const POD_METRICS: KindRef = { apiVersion: "metrics.k8s.io/v1beta1", kind: "PodMetrics" };

function rec(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

function arr(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(rec) : [];
}

function isReady(pod: KubeObject): boolean {
  return arr(rec(pod.status).conditions).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * The pods matching a label selector are Running and Ready: at least `minReady` of them,
 * and (by default) every pod that is not being deleted.
 *
 * @param namespace The namespace.
 * @param labelSelector e.g. `app=tracktion,service=web,slot=green`.
 * @param options `minReady` (default 1), `allReady` (default true), name, required.
 * @returns The check; evidence: selector, total, ready, notReady (name, phase, reason).
 *
 * @example
 * ```ts
 * import { podsReady } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * const check = podsReady("shop", "app=shop,slot=green", { minReady: 2 });
 * assert.equal(check.name, "Pod readiness");
 * ```
 */
export function podsReady(
  namespace: string,
  labelSelector: string,
  options: CommonCheckOptions & { minReady?: number; allReady?: boolean } = {},
): Check {
  const minReady = options.minReady ?? 1;
  return kubeCheck("Pod readiness", async (k) => {
    const pods = (await k.list(POD, namespace, { labelSelector }))
      .filter((p) => !p.metadata.deletionTimestamp);
    const ready = pods.filter(isReady);
    const notReady = pods.filter((p) => !isReady(p)).map((p) => {
      const waiting = arr(rec(p.status).containerStatuses)
        .map((c) => rec(rec(c.state).waiting).reason).find((r) => typeof r === "string");
      return {
        pod: p.metadata.name,
        phase: String(rec(p.status).phase ?? "Unknown"),
        ...(waiting ? { reason: String(waiting) } : {}),
      };
    });
    const evidence = {
      namespace,
      selector: labelSelector,
      total: pods.length,
      ready: ready.length,
      notReady,
    };
    if (ready.length < minReady) {
      return fail(
        `${ready.length} of ${pods.length} pods ready for ${labelSelector} (need ${minReady})`,
        evidence,
      );
    }
    if ((options.allReady ?? true) && notReady.length > 0) {
      return fail(
        `${notReady.length} of ${pods.length} pods not ready for ${labelSelector}`,
        evidence,
      );
    }
    return pass(`${ready.length} of ${pods.length} pods ready for ${labelSelector}`, evidence);
  }, options);
}

/**
 * The Service has ready endpoint addresses (traffic has somewhere to go).
 *
 * @param namespace The namespace.
 * @param service The Service's name.
 * @param options Name, required.
 * @returns The check; evidence: service, ready, notReady addresses.
 *
 * @example
 * ```ts
 * import { endpointsReady } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * const check = endpointsReady("shop", "web");
 * assert.equal(check.name, "Service endpoints");
 * ```
 */
export function endpointsReady(
  namespace: string,
  service: string,
  options: CommonCheckOptions = {},
): Check {
  return kubeCheck("Service endpoints", async (k) => {
    const ep = await k.get(ENDPOINTS, namespace, service);
    const where = `${namespace}/${service}`;
    if (!ep) {
      return fail(`Service ${where} has no Endpoints object`, {
        service: where,
        ready: 0,
        notReady: 0,
      });
    }
    const subsets = arr(ep.subsets);
    const ready = subsets.reduce((n, s) => n + arr(s.addresses).length, 0);
    const notReady = subsets.reduce((n, s) => n + arr(s.notReadyAddresses).length, 0);
    const evidence = { service: where, ready, notReady };
    if (ready === 0) return fail(`Service ${where} has no ready endpoints`, evidence);
    return pass(`Service ${where} has ${ready} ready endpoints`, evidence);
  }, options);
}

/**
 * Every Deployment matching a selector carries the required labels (and values), as the
 * seed checks `version=...,environment=<env>`.
 *
 * @param namespace The namespace.
 * @param labelSelector Which Deployments, e.g. `app=tracktion`.
 * @param required Label keys that must be present, with the value they must have or `true`.
 * @param options Name, required.
 * @returns The check; evidence: deployments checked, problems.
 *
 * @example
 * ```ts
 * import { deploymentLabels } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * const check = deploymentLabels("shop", "app=shop", { version: true, environment: "staging" });
 * assert.equal(check.name, "Deployment labels");
 * ```
 */
export function deploymentLabels(
  namespace: string,
  labelSelector: string,
  required: Readonly<Record<string, string | true>>,
  options: CommonCheckOptions = {},
): Check {
  return kubeCheck("Deployment labels", async (k) => {
    const deployments = await k.list(DEPLOYMENT, namespace, { labelSelector });
    const problems: string[] = [];
    for (const d of deployments) {
      const labels = d.metadata.labels ?? {};
      for (const [key, want] of Object.entries(required)) {
        const have = labels[key];
        if (have === undefined) problems.push(`${d.metadata.name}: no label ${key}`);
        else if (want !== true && have !== want) {
          problems.push(`${d.metadata.name}: ${key}=${have}, expected ${want}`);
        }
      }
    }
    const evidence = {
      namespace,
      selector: labelSelector,
      deployments: deployments.map((d) => d.metadata.name),
      problems,
    };
    if (deployments.length === 0) {
      return fail(`no Deployments match ${labelSelector} in ${namespace}`, evidence);
    }
    if (problems.length > 0) {
      return fail(
        `${problems.length} label problems: ${problems.slice(0, 3).join("; ")}`,
        evidence,
      );
    }
    return pass(
      `${deployments.length} Deployments carry ${Object.keys(required).join(", ")}`,
      evidence,
    );
  }, options);
}

/**
 * Whether an image reference floats: tag `latest`, or no tag and no digest.
 *
 * @param image An image reference.
 * @returns True for `r/x:latest`, `r/x`, `localhost:5000/x`; false for `r/x:1.2.3` and digests.
 *
 * @example
 * ```ts
 * import { isFloatingImage } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isFloatingImage("localhost:5000/web"), true);
 * assert.equal(isFloatingImage("ghcr.io/x/web:1.2.4"), false);
 * ```
 */
export function isFloatingImage(image: string): boolean {
  if (image.includes("@sha256:")) return false;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  if (colon < 0) return true;
  return last.slice(colon + 1) === "latest";
}

/**
 * No container (or init container) of a Deployment matching the selector runs a
 * floating image (`:latest` or untagged).
 *
 * @param namespace The namespace.
 * @param options `labelSelector` (default: all Deployments), name, required.
 * @returns The check; evidence: images by Deployment, floating.
 *
 * @example
 * ```ts
 * import { noLatestImages } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * const check = noLatestImages("shop");
 * assert.equal(check.name, "Image tags correct");
 * ```
 */
export function noLatestImages(
  namespace: string,
  options: CommonCheckOptions & { labelSelector?: string } = {},
): Check {
  return kubeCheck("Image tags correct", async (k) => {
    const deployments = await k.list(
      DEPLOYMENT,
      namespace,
      options.labelSelector ? { labelSelector: options.labelSelector } : {},
    );
    const images: Record<string, string[]> = {};
    const floating: string[] = [];
    for (const d of deployments) {
      const pod = rec(rec(rec(d.spec).template).spec);
      const list = [...arr(pod.initContainers), ...arr(pod.containers)].map((c) =>
        String(c.image ?? "")
      );
      images[d.metadata.name] = list;
      for (const image of list) {
        if (isFloatingImage(image)) floating.push(`${d.metadata.name}: ${image}`);
      }
    }
    const evidence = { namespace, images, floating };
    if (floating.length > 0) return fail(`floating image tags: ${floating.join(", ")}`, evidence);
    return pass(`${deployments.length} Deployments use pinned image tags`, evidence);
  }, options);
}

/** Limits of {@linkcode resourceUsage}. */
export interface ResourceUsageOptions extends CommonCheckOptions {
  /** Which pods (default all in the namespace). */
  labelSelector?: string;
  /** Highest use as a percentage of the container's limit (default 90). */
  maxPercentOfLimit?: number;
  /** Highest CPU per pod in cores, e.g. 0.5 (the seed: 500m). */
  maxPodCpu?: number;
  /** Highest memory per pod in bytes (the seed: 1000Mi). */
  maxPodMemory?: number;
}

/**
 * Pods' CPU and memory use (metrics.k8s.io pod metrics) against their containers' limits
 * and optional per-pod ceilings (the seed: `kubectl top pods`, memory < 1000Mi, CPU < 500m).
 *
 * @param namespace The namespace.
 * @param options Selector, percentage of limit, per-pod ceilings, name, required.
 * @returns The check; evidence: pods measured, highest percentages, problems.
 *
 * @example
 * ```ts
 * import { resourceUsage } from "./kubernetes_workloads.ts";
 * import assert from "node:assert/strict";
 * const check = resourceUsage("shop", { maxPodMemory: 1000 * 2 ** 20 });
 * assert.equal(check.name, "Resource usage within limits");
 * ```
 */
export function resourceUsage(namespace: string, options: ResourceUsageOptions = {}): Check {
  const maxPercent = options.maxPercentOfLimit ?? 90;
  return kubeCheck("Resource usage within limits", async (k) => {
    const selector = options.labelSelector ? { labelSelector: options.labelSelector } : {};
    const [pods, metrics] = await Promise.all([
      k.list(POD, namespace, selector),
      k.list(POD_METRICS, namespace, selector),
    ]);
    const byName = new Map(pods.map((p) => [p.metadata.name, p]));
    const problems: string[] = [];
    let highestCpu = 0;
    let highestMemory = 0;
    let measured = 0;
    for (const m of metrics) {
      const pod = byName.get(m.metadata.name);
      if (!pod) continue;
      measured++;
      const limits = new Map(
        arr(rec(pod.spec).containers).map((c) => [String(c.name), rec(rec(c.resources).limits)]),
      );
      let podCpu = 0;
      let podMemory = 0;
      for (const c of arr(m.containers)) {
        const usage = rec(c.usage);
        const cpu = parseQuantity(String(usage.cpu ?? "0")) ?? 0;
        const memory = parseQuantity(String(usage.memory ?? "0")) ?? 0;
        podCpu += cpu;
        podMemory += memory;
        const limit = limits.get(String(c.name)) ?? {};
        for (const [resource, used] of [["cpu", cpu], ["memory", memory]] as const) {
          const cap = parseQuantity(String(limit[resource] ?? ""));
          if (!cap) continue;
          const percent = Math.round((used / cap) * 1000) / 10;
          if (resource === "cpu") highestCpu = Math.max(highestCpu, percent);
          else highestMemory = Math.max(highestMemory, percent);
          if (percent > maxPercent) {
            problems.push(`${m.metadata.name}/${c.name}: ${resource} at ${percent}% of its limit`);
          }
        }
      }
      if (options.maxPodCpu !== undefined && podCpu > options.maxPodCpu) {
        problems.push(
          `${m.metadata.name}: CPU ${Math.round(podCpu * 1000)}m above ${
            Math.round(options.maxPodCpu * 1000)
          }m`,
        );
      }
      if (options.maxPodMemory !== undefined && podMemory > options.maxPodMemory) {
        problems.push(
          `${m.metadata.name}: memory ${Math.round(podMemory / 2 ** 20)}Mi above ${
            Math.round(options.maxPodMemory / 2 ** 20)
          }Mi`,
        );
      }
    }
    const evidence = {
      namespace,
      podsMeasured: measured,
      highestCpuPercentOfLimit: highestCpu,
      highestMemoryPercentOfLimit: highestMemory,
      maxPercentOfLimit: maxPercent,
      problems,
    };
    if (measured === 0) {
      return fail(`no pod metrics in ${namespace} (is metrics.k8s.io served?)`, evidence);
    }
    if (problems.length > 0) {
      return fail(
        `${problems.length} resource problems: ${problems.slice(0, 3).join("; ")}`,
        evidence,
      );
    }
    return pass(
      `${measured} pods within limits (highest CPU ${highestCpu}%, memory ${highestMemory}% of limit)`,
      evidence,
    );
  }, options);
}
