/**
 * Message definitions for rbac.authorization.k8s.io/v1 (Role, ClusterRole, RoleBinding,
 * ClusterRoleBinding and their lists), written from the field numbers in
 * `k8s.io/api/rbac/v1/generated.proto` (kubernetes/kubernetes
 * `staging/src/k8s.io/api/rbac/v1/generated.proto`), for `kubectl create role|clusterrole|
 * rolebinding|clusterrolebinding`.
 * @module
 */

const META = ".k8s.io.apimachinery.pkg.apis.meta.v1";

/**
 * The `.proto` text of rbac.authorization.k8s.io/v1.
 *
 * @example
 * ```ts
 * import { RBAC_PROTO } from "./rbac_proto.ts";
 * console.assert(RBAC_PROTO.includes("message RoleBinding"));
 * ```
 */
export const RBAC_PROTO = `
syntax = "proto2";
package k8s.io.api.rbac.v1;

message PolicyRule {
  repeated string verbs = 1;
  repeated string apiGroups = 2;
  repeated string resources = 3;
  repeated string resourceNames = 4;
  repeated string nonResourceURLs = 5;
}

message AggregationRule {
  repeated ${META}.LabelSelector clusterRoleSelectors = 1;
}

message Role {
  optional ${META}.ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
}

message ClusterRole {
  optional ${META}.ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
  optional AggregationRule aggregationRule = 3;
}

message RoleRef {
  optional string apiGroup = 1 [(keep) = true];
  optional string kind = 2 [(keep) = true];
  optional string name = 3 [(keep) = true];
}

message Subject {
  optional string kind = 1 [(keep) = true];
  optional string apiGroup = 2;
  optional string name = 3 [(keep) = true];
  optional string namespace = 4;
}

message RoleBinding {
  optional ${META}.ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}

message ClusterRoleBinding {
  optional ${META}.ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}

message RoleList {
  optional ${META}.ListMeta metadata = 1;
  repeated Role items = 2;
}

message ClusterRoleList {
  optional ${META}.ListMeta metadata = 1;
  repeated ClusterRole items = 2;
}

message RoleBindingList {
  optional ${META}.ListMeta metadata = 1;
  repeated RoleBinding items = 2;
}

message ClusterRoleBindingList {
  optional ${META}.ListMeta metadata = 1;
  repeated ClusterRoleBinding items = 2;
}
`;
