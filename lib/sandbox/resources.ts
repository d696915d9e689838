/**
 * The resource types the sandbox serves (group, version, kind, plural, scope,
 * subresources, short names) and lookups over them.
 * @module
 */
/** A JSON object as the API stores it. */
export type KObject = Record<string, unknown>;

/** One resource type the sandbox serves. */
export interface ResourceType {
  /** API group ("" for core). */
  group: string;
  /** API version inside the group. */
  version: string;
  /** Kind, e.g. `Deployment`. */
  kind: string;
  /** Plural resource name, e.g. `deployments`. */
  plural: string;
  /** Singular name. */
  singular: string;
  /** Whether objects live in a namespace. */
  namespaced: boolean;
  /** Short names for kubectl. */
  shortNames: string[];
  /** Whether `metadata.generation` moves with spec changes. */
  generation: boolean;
  /** Subresources served (`status`, `scale`). */
  subresources: string[];
  /** A custom resource (strategic merge patch refused with 415). */
  custom: boolean;
  /** Read-only (computed) resources such as metrics. */
  readOnly: boolean;
  /** kubectl categories, e.g. `all`. */
  categories: string[];
}

function rt(
  group: string,
  version: string,
  kind: string,
  plural: string,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    generation: false,
    subresources: [],
    custom: false,
    readOnly: false,
    categories: [],
    ...extra,
  };
}

/** Every resource type the sandbox serves. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  rt("", "v1", "Namespace", "namespaces", {
    namespaced: false,
    shortNames: ["ns"],
    subresources: ["status"],
  }),
  rt("", "v1", "Pod", "pods", {
    shortNames: ["po"],
    subresources: ["status", "log"],
    categories: ["all"],
  }),
  rt("", "v1", "Service", "services", {
    shortNames: ["svc"],
    subresources: ["status"],
    categories: ["all"],
  }),
  rt("", "v1", "Endpoints", "endpoints", { shortNames: ["ep"], singular: "endpoints" }),
  rt("", "v1", "ConfigMap", "configmaps", { shortNames: ["cm"] }),
  rt("", "v1", "Secret", "secrets"),
  rt("", "v1", "Event", "events", { shortNames: ["ev"] }),
  rt("", "v1", "Node", "nodes", {
    namespaced: false,
    shortNames: ["no"],
    subresources: ["status"],
  }),
  rt("", "v1", "ServiceAccount", "serviceaccounts", { shortNames: ["sa"] }),
  rt("apps", "v1", "Deployment", "deployments", {
    shortNames: ["deploy"],
    generation: true,
    subresources: ["status", "scale"],
    categories: ["all"],
  }),
  rt("apps", "v1", "ReplicaSet", "replicasets", {
    shortNames: ["rs"],
    generation: true,
    subresources: ["status", "scale"],
    categories: ["all"],
  }),
  rt("batch", "v1", "Job", "jobs", {
    generation: true,
    subresources: ["status"],
    categories: ["all"],
  }),
  rt("batch", "v1", "CronJob", "cronjobs", {
    shortNames: ["cj"],
    generation: true,
    subresources: ["status"],
    categories: ["all"],
  }),
  rt("coordination.k8s.io", "v1", "Lease", "leases"),
  rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
  rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", {
    shortNames: ["netpol"],
    generation: true,
  }),
  rt("rbac.authorization.k8s.io", "v1", "Role", "roles"),
  rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
  rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", { namespaced: false }),
  rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", {
    namespaced: false,
  }),
  rt("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", {
    generation: true,
    subresources: ["status"],
    custom: true,
    categories: ["gateway-api"],
  }),
  rt("gateway.networking.k8s.io", "v1", "Gateway", "gateways", {
    shortNames: ["gtw"],
    generation: true,
    subresources: ["status"],
    custom: true,
    categories: ["gateway-api"],
  }),
  // The Prometheus Operator's CRDs (no status subresource; names as its CRDs give them).
  rt("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", {
    shortNames: ["smon"],
    generation: true,
    custom: true,
    categories: ["prometheus-operator"],
  }),
  rt("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", {
    shortNames: ["promrule"],
    generation: true,
    custom: true,
    categories: ["prometheus-operator"],
  }),
  rt("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", {
    namespaced: false,
    readOnly: true,
    singular: "",
  }),
  rt("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", { readOnly: true, singular: "" }),
];

/** The `apiVersion` string of a resource type (`apps/v1`, `v1`). */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Find a resource type by group, version and plural. */
export function findResource(
  group: string,
  version: string,
  plural: string,
): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) =>
    t.group === group && t.version === version && t.plural === plural
  );
}

/** The groups the sandbox serves, each with its single version. */
export function apiGroups(): { group: string; version: string }[] {
  const seen = new Map<string, string>();
  for (const t of RESOURCE_TYPES) if (t.group && !seen.has(t.group)) seen.set(t.group, t.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}
