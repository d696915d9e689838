/**
 * The list kinds (`ConfigMapList`, `PodList`, `DeploymentList`, ...): in every Kubernetes
 * `generated.proto` a list is its `ListMeta` (field 1) and its items (field 2), as in
 * `k8s.io/api/core/v1`, `apps/v1` and `batch/v1` (kubernetes/kubernetes `staging/src/k8s.io/api/`).
 * @module
 */

const META = ".k8s.io.apimachinery.pkg.apis.meta.v1";

const CORE_LISTS = `
syntax = "proto2";
package k8s.io.api.core.v1;

message ConfigMapList {
  optional ${META}.ListMeta metadata = 1;
  repeated ConfigMap items = 2;
}

message SecretList {
  optional ${META}.ListMeta metadata = 1;
  repeated Secret items = 2;
}

message NamespaceList {
  optional ${META}.ListMeta metadata = 1;
  repeated Namespace items = 2;
}

message ServiceList {
  optional ${META}.ListMeta metadata = 1;
  repeated Service items = 2;
}

message ServiceAccountList {
  optional ${META}.ListMeta metadata = 1;
  repeated ServiceAccount items = 2;
}

message PodList {
  optional ${META}.ListMeta metadata = 1;
  repeated Pod items = 2;
}
`;

const APPS_LISTS = `
syntax = "proto2";
package k8s.io.api.apps.v1;

message DeploymentList {
  optional ${META}.ListMeta metadata = 1;
  repeated Deployment items = 2;
}

message ReplicaSetList {
  optional ${META}.ListMeta metadata = 1;
  repeated ReplicaSet items = 2;
}
`;

const BATCH_LISTS = `
syntax = "proto2";
package k8s.io.api.batch.v1;

message JobList {
  optional ${META}.ListMeta metadata = 1;
  repeated Job items = 2;
}

message CronJobList {
  optional ${META}.ListMeta metadata = 1;
  repeated CronJob items = 2;
}
`;

/**
 * The `.proto` texts of the list kinds of core/v1, apps/v1 and batch/v1.
 *
 * @example
 * ```ts
 * import { LIST_PROTOS } from "./list_proto.ts";
 * console.assert(LIST_PROTOS.some((text) => text.includes("message PodList")));
 * ```
 */
export const LIST_PROTOS: readonly string[] = [CORE_LISTS, APPS_LISTS, BATCH_LISTS];
