/**
 * Discovery documents: `/version`, `/api`, `/apis`, each group version's resource list and
 * a minimal `/openapi/v3`, so `kubectl` and `@kubernetes/client-node` find what the sandbox serves.
 * @module
 */
import { SANDBOX_CLUSTER } from "../product/mod.ts";
import { apiGroups, apiVersionOf, RESOURCE_TYPES, type ResourceType } from "./resources.ts";

type JsonMap = Record<string, unknown>;

/** The Kubernetes version the sandbox reports. */
export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: `v1.32.0-${SANDBOX_CLUSTER}`,
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.4",
  compiler: "gc",
  platform: "linux/amd64",
};

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

function resourceEntries(type: ResourceType): JsonMap[] {
  const out: JsonMap[] = [{
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: type.readOnly ? ["get", "list"] : ALL_VERBS,
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {}),
  }];
  for (const sub of type.subresources) {
    if (sub === "status") {
      out.push({
        name: `${type.plural}/status`,
        singularName: "",
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: ["get", "patch", "update"],
      });
    } else if (sub === "scale") {
      out.push({
        name: `${type.plural}/scale`,
        singularName: "",
        namespaced: type.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    } else if (sub === "log") {
      out.push({
        name: `${type.plural}/log`,
        singularName: "",
        namespaced: true,
        kind: "Pod",
        verbs: ["get"],
      });
    }
  }
  return out;
}

/** `/api/v1` or `/apis/<group>/<version>`: an APIResourceList, or undefined. */
export function resourceList(group: string, version: string): JsonMap | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap(resourceEntries),
  };
}

/** The aggregated discovery versions the sandbox answers (`apidiscovery.k8s.io`). */
export type AggregatedVersion = "v2" | "v2beta1";

/**
 * Which aggregated discovery document an `Accept` header asks for: the first of its media
 * ranges that is `application/json;g=apidiscovery.k8s.io;v=v2|v2beta1;as=APIGroupDiscoveryList`,
 * or undefined when a plain one (`application/json` or the wildcard) comes first.
 *
 * @param accept The request's `Accept` header.
 * @returns `v2`, `v2beta1`, or undefined for the legacy documents.
 *
 * @example
 * ```ts
 * import { aggregatedVersion } from "./discovery.ts";
 * import assert from "node:assert/strict";
 * const kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
 *   "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
 * assert.equal(aggregatedVersion(kubectl), "v2");
 * assert.equal(aggregatedVersion("application/json"), undefined);
 * ```
 */
export function aggregatedVersion(accept: string): AggregatedVersion | undefined {
  for (const range of accept.split(",")) {
    const [base, ...rest] = range.split(";").map((p) => p.trim());
    const params = new Map(rest.map((p) => {
      const at = p.indexOf("=");
      return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
    }));
    if (base !== "application/json" && base !== "*/*") continue;
    if (!params.has("g")) return undefined;
    const v = params.get("v");
    if (
      params.get("g") === "apidiscovery.k8s.io" && params.get("as") === "APIGroupDiscoveryList" &&
      (v === "v2" || v === "v2beta1")
    ) return v;
  }
  return undefined;
}

/** The `Content-Type` of an aggregated discovery answer. */
export function aggregatedContentType(version: AggregatedVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

function resourceDiscovery(type: ResourceType): JsonMap {
  const gvk = { group: type.group, version: type.version, kind: type.kind };
  const subresources = type.subresources.map((sub) => ({
    subresource: sub,
    responseKind: sub === "scale"
      ? { group: "autoscaling", version: "v1", kind: "Scale" }
      : sub === "log"
      ? { group: "", version: "v1", kind: "Pod" }
      : gvk,
    verbs: sub === "log" ? ["get"] : ["get", "patch", "update"],
  }));
  return {
    resource: type.plural,
    responseKind: gvk,
    scope: type.namespaced ? "Namespaced" : "Cluster",
    singularResource: type.singular,
    verbs: type.readOnly ? ["get", "list"] : ALL_VERBS,
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {}),
    ...(subresources.length ? { subresources } : {}),
  };
}

/**
 * `/api` (`core: true`) or `/apis` as an aggregated `APIGroupDiscoveryList`: every group
 * with its versions and their resources in one document, so a client (kubectl 1.26+,
 * client-go) needs no request per group version.
 *
 * @param version `v2` or `v2beta1` (the same shape, a different apiVersion).
 * @param options `core` for `/api` (the legacy group, named ""), else the named groups.
 * @returns The document.
 *
 * @example
 * ```ts
 * import { aggregatedDiscovery } from "./discovery.ts";
 * import assert from "node:assert/strict";
 * const core = aggregatedDiscovery("v2", { core: true });
 * assert.equal(core.kind, "APIGroupDiscoveryList");
 * const items = core.items as { versions: { resources: { resource: string }[] }[] }[];
 * assert.ok(items[0]?.versions[0]?.resources.some((r) => r.resource === "pods"));
 * ```
 */
export function aggregatedDiscovery(
  version: AggregatedVersion,
  options: { core: boolean },
): JsonMap {
  const groups = options.core ? [{ group: "", version: "v1" }] : apiGroups();
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map(({ group, version: v }) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: [{
        version: v,
        resources: RESOURCE_TYPES.filter((t) => t.group === group && t.version === v)
          .map(resourceDiscovery),
        freshness: "Current",
      }],
    })),
  };
}

/** `/api`: APIVersions. */
export function coreVersions(serverAddress: string): JsonMap {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** `/apis`: APIGroupList. */
export function groupList(): JsonMap {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: apiGroups().map(({ group, version }) => groupEntry(group, version)),
  };
}

function groupEntry(group: string, version: string): JsonMap {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/** `/apis/<group>`: APIGroup, or undefined. */
export function groupInfo(group: string): JsonMap | undefined {
  const found = apiGroups().find((g) => g.group === group);
  if (!found) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(found.group, found.version) };
}

function openApiPath(type: ResourceType): string {
  const prefix = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  return type.namespaced
    ? `${prefix}/namespaces/{namespace}/${type.plural}/{name}`
    : `${prefix}/${type.plural}/{name}`;
}

/** `/openapi/v3`: the index of group-version documents. */
export function openApiV3Index(): JsonMap {
  const paths: JsonMap = { "api/v1": { serverRelativeURL: "/openapi/v3/api/v1?hash=SANDBOX" } };
  for (const { group, version } of apiGroups()) {
    paths[`apis/${group}/${version}`] = {
      serverRelativeURL: `/openapi/v3/apis/${group}/${version}?hash=SANDBOX`,
    };
  }
  return { paths };
}

/**
 * `/openapi/v3/<gv>`: a minimal OpenAPI 3 document. Each object path declares a PATCH
 * operation with its group-version-kind and the `fieldValidation` query parameter, so
 * kubectl leaves field validation to the server. No request-body schemas are given, so
 * kubectl's client-side apply computes strategic merge patches from its built-in types.
 */
export function openApiV3Document(gvPath: string): JsonMap | undefined {
  const types = RESOURCE_TYPES.filter((t) =>
    (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gvPath
  );
  if (types.length === 0) return undefined;
  const paths: JsonMap = {};
  for (const t of types) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const op = (action: string) => ({
      operationId: `${action}${t.kind}`,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      parameters: [
        { name: "dryRun", in: "query", schema: { type: "string" } },
        { name: "fieldManager", in: "query", schema: { type: "string" } },
        { name: "fieldValidation", in: "query", schema: { type: "string" } },
      ],
      responses: { "200": { description: "OK" } },
    });
    paths[openApiPath(t)] = {
      get: op("get"),
      put: op("put"),
      patch: op("patch"),
      delete: op("delete"),
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

/** The apiVersion of a resource type (re-exported for the server). */
export { apiVersionOf };
