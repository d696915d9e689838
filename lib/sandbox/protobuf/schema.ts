/**
 * The sandbox's protobuf schema: the message definitions parsed once with protobufjs, and
 * the registry from a Kubernetes `apiVersion`/`kind` to its message type.
 * @module
 */
import protobuf from "protobufjs";
import { APIMACHINERY_PROTOS } from "./meta_proto.ts";
import { CORE_PROTO } from "./core_proto.ts";
import { CORE_VOLUME_PROTO } from "./core_volume_proto.ts";
import { CORE_CONTAINER_PROTO } from "./core_container_proto.ts";
import { CORE_POD_PROTOS } from "./core_pod_proto.ts";
import { WORKLOAD_PROTOS } from "./workload_proto.ts";
import { LIST_PROTOS } from "./list_proto.ts";
import { RBAC_PROTO } from "./rbac_proto.ts";

const META = "k8s.io.apimachinery.pkg.apis.meta.v1";

/** The kinds whose bodies the sandbox reads and writes as protobuf: `[apiVersion, kind, message]`. */
const KINDS: readonly (readonly [string, string, string])[] = [
  ["v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"],
  ["v1", "Secret", "k8s.io.api.core.v1.Secret"],
  ["v1", "Namespace", "k8s.io.api.core.v1.Namespace"],
  ["v1", "Service", "k8s.io.api.core.v1.Service"],
  ["v1", "ServiceAccount", "k8s.io.api.core.v1.ServiceAccount"],
  ["v1", "Pod", "k8s.io.api.core.v1.Pod"],
  ["apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"],
  ["apps/v1", "ReplicaSet", "k8s.io.api.apps.v1.ReplicaSet"],
  ["batch/v1", "Job", "k8s.io.api.batch.v1.Job"],
  ["batch/v1", "CronJob", "k8s.io.api.batch.v1.CronJob"],
  ...["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].map((kind) =>
    ["rbac.authorization.k8s.io/v1", kind, `k8s.io.api.rbac.v1.${kind}`] as const
  ),
];

/** Kinds registered in every group version (the API server answers and accepts them anywhere). */
const SHARED_KINDS: Readonly<Record<string, string>> = {
  Status: `${META}.Status`,
  DeleteOptions: `${META}.DeleteOptions`,
};

let cached: protobuf.Root | undefined;

/**
 * The parsed schema (every definition in this folder, resolved), built on first use.
 *
 * @returns The protobufjs root holding the Kubernetes packages.
 *
 * @example
 * ```ts
 * import { schemaRoot } from "./schema.ts";
 * const type = schemaRoot().lookupType("k8s.io.api.core.v1.ConfigMap");
 * console.assert(type.fields.data?.id === 2);
 * ```
 */
export function schemaRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  const texts = [
    ...APIMACHINERY_PROTOS,
    CORE_PROTO,
    CORE_VOLUME_PROTO,
    CORE_CONTAINER_PROTO,
    ...CORE_POD_PROTOS,
    ...WORKLOAD_PROTOS,
    ...LIST_PROTOS,
    RBAC_PROTO,
  ];
  for (const text of texts) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

/**
 * The message type of a kind, when the sandbox has one.
 *
 * @param apiVersion The object's `apiVersion` (`v1`, `apps/v1`, ...).
 * @param kind The object's `kind`.
 * @returns The message type (a kind's list too: `PodList`), or `undefined` for a kind the
 * sandbox does not encode.
 *
 * @example
 * ```ts
 * import { kindType } from "./schema.ts";
 * console.assert(kindType("apps/v1", "Deployment")?.name === "Deployment");
 * console.assert(kindType("v1", "ConfigMapList")?.name === "ConfigMapList");
 * console.assert(kindType("v1", "EventList") === undefined);
 * ```
 */
export function kindType(apiVersion: string, kind: string): protobuf.Type | undefined {
  const shared = SHARED_KINDS[kind];
  const item = kind.endsWith("List") ? kind.slice(0, -4) : kind;
  const found = KINDS.find(([v, k]) => v === apiVersion && k === item)?.[2];
  const name = shared ?? (found && item !== kind ? `${found}List` : found);
  return name ? schemaRoot().lookupType(name) : undefined;
}

/**
 * The `runtime.Unknown` envelope every protobuf body is wrapped in.
 *
 * @returns The `k8s.io.apimachinery.pkg.runtime.Unknown` message type.
 *
 * @example
 * ```ts
 * import { unknownType } from "./schema.ts";
 * console.assert(unknownType().fields.raw?.id === 2);
 * ```
 */
export function unknownType(): protobuf.Type {
  return schemaRoot().lookupType("k8s.io.apimachinery.pkg.runtime.Unknown");
}

/**
 * The kinds the sandbox encodes, as `apiVersion/kind` (for messages and docs).
 *
 * @returns The supported kinds, e.g. `v1/ConfigMap`.
 *
 * @example
 * ```ts
 * import { supportedKinds } from "./schema.ts";
 * console.assert(supportedKinds().includes("batch/v1/Job"));
 * ```
 */
export function supportedKinds(): string[] {
  return [...KINDS.map(([v, k]) => `${v}/${k}`), ...Object.keys(SHARED_KINDS), "their lists"];
}
