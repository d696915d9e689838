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
