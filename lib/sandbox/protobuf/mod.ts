/**
 * Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`) for the sandbox's API:
 * message definitions written from the Kubernetes API's published field numbers, parsed and
 * encoded with protobufjs, and converted to and from the JSON objects the sandbox stores.
 *
 * Kinds: v1 ConfigMap, Secret, Namespace, Service, ServiceAccount, Pod; apps/v1 Deployment,
 * ReplicaSet; batch/v1 Job, CronJob; rbac.authorization.k8s.io/v1 Role, ClusterRole,
 * RoleBinding, ClusterRoleBinding; their lists; Status and DeleteOptions in any group
 * version.
 *
 * ```ts
 * import { decodeObject, encodeObject } from "./mod.ts";
 * const bytes = encodeObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "a" } });
 * console.assert((decodeObject(bytes).metadata as { name: string }).name === "a");
 * ```
 * @module
 */
export * from "./envelope.ts";
export { ProtobufUnsupportedError } from "./convert.ts";
export { kindType, supportedKinds } from "./schema.ts";
