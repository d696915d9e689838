/**
 * metrics.k8s.io for the sandbox: NodeMetrics and PodMetrics derived from the running pods
 * (a stable usage per pod, summed per node), stamped on the cluster's clock.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";

type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;

/**
 * NodeMetrics (for every node) or PodMetrics (for running pods, optionally in a namespace).
 *
 * @param api The sandbox's API (its store and clock).
 * @param type The metrics.k8s.io resource asked for (`nodes` or `pods`).
 * @param namespace The namespace (PodMetrics only), or undefined for all.
 * @returns The metrics objects.
 *
 * @example
 * ```ts
 * import { clusterMetrics } from "./node_metrics.ts";
 * import { Api } from "./api.ts";
 * import { Store } from "./store.ts";
 * import { findResource, RESOURCE_TYPES, type ResourceType } from "./resources.ts";
 * const api = new Api(new Store());
 * api.registerTypes(RESOURCE_TYPES);
 * const pods = findResource("metrics.k8s.io", "v1beta1", "pods") as ResourceType;
 * console.assert(clusterMetrics(api, pods, "dev").length === 0);
 * ```
 */
export function clusterMetrics(
  api: Api,
  type: ResourceType,
  namespace: string | undefined,
): KObject[] {
  const now = api.now();
  const pods = api.store.scan(PODS, namespace).filter((p) =>
    ((p.status ?? {}) as JsonMap).phase === "Running"
  );
  const usage = (p: KObject) => {
    const seed = [...String(meta(p).uid)].reduce((n, c) => n + c.charCodeAt(0), 0);
    return { cpu: 20 + (seed % 40), memory: 96 + (seed % 64) };
  };
  if (type.kind === "PodMetrics") {
    return pods.map((p) => ({
      kind: "PodMetrics",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: {
        name: meta(p).name,
        namespace: meta(p).namespace,
        labels: meta(p).labels ?? {},
        creationTimestamp: now,
      },
      timestamp: now,
      window: "30s",
      containers: (((p.spec as JsonMap).containers ?? []) as JsonMap[]).map((c) => ({
        name: c.name,
        usage: { cpu: `${usage(p).cpu}m`, memory: `${usage(p).memory}Mi` },
      })),
    }));
  }
  const nodes = api.store.scan(findResource("", "v1", "nodes") as ResourceType);
  return nodes.map((n) => {
    const name = String(meta(n).name);
    const mine = pods.filter((p) => (p.spec as JsonMap).nodeName === name);
    const cpu = 350 + mine.reduce((s, p) => s + usage(p).cpu, 0);
    const mem = 2048 + mine.reduce((s, p) => s + usage(p).memory, 0);
    return {
      kind: "NodeMetrics",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: { name, labels: meta(n).labels ?? {}, creationTimestamp: now },
      timestamp: now,
      window: "30s",
      usage: { cpu: `${cpu}m`, memory: `${mem}Mi` },
    };
  });
}
