/**
 * Message definitions for apps/v1 Deployment and ReplicaSet and batch/v1 Job and CronJob,
 * written from the field numbers in `k8s.io/api/apps/v1/generated.proto` and
 * `k8s.io/api/batch/v1/generated.proto` (kubernetes/kubernetes `staging/src/k8s.io/api/`).
 * The options `(keep)` and `(inline)` are explained in `meta_proto.ts`.
 * @module
 */

const META = ".k8s.io.apimachinery.pkg.apis.meta.v1";
const INTSTR = ".k8s.io.apimachinery.pkg.util.intstr";
const CORE = ".k8s.io.api.core.v1";

const APPS_PROTO = `
syntax = "proto2";
package k8s.io.api.apps.v1;

message RollingUpdateDeployment {
  optional ${INTSTR}.IntOrString maxUnavailable = 1;
  optional ${INTSTR}.IntOrString maxSurge = 2;
}

message DeploymentStrategy {
  optional string type = 1;
  optional RollingUpdateDeployment rollingUpdate = 2;
}

message DeploymentSpec {
  optional int32 replicas = 1 [(keep) = true];
  optional ${META}.LabelSelector selector = 2;
  optional ${CORE}.PodTemplateSpec template = 3;
  optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5;
  optional int32 revisionHistoryLimit = 6 [(keep) = true];
  optional bool paused = 7;
  optional int32 progressDeadlineSeconds = 9 [(keep) = true];
  optional string podReplacementPolicy = 10 [(keep) = true];
}

message DeploymentCondition {
  optional string type = 1;
  optional string status = 2;
  optional ${META}.Time lastUpdateTime = 6;
  optional ${META}.Time lastTransitionTime = 7;
  optional string reason = 4;
  optional string message = 5;
}

message DeploymentStatus {
  optional int64 observedGeneration = 1;
  optional int32 replicas = 2;
  optional int32 updatedReplicas = 3;
  optional int32 readyReplicas = 7;
  optional int32 availableReplicas = 4;
  optional int32 unavailableReplicas = 5;
  optional int32 terminatingReplicas = 9 [(keep) = true];
  repeated DeploymentCondition conditions = 6;
  optional int32 collisionCount = 8 [(keep) = true];
}

message Deployment {
  optional ${META}.ObjectMeta metadata = 1;
  optional DeploymentSpec spec = 2;
  optional DeploymentStatus status = 3;
}

message ReplicaSetSpec {
  optional int32 replicas = 1 [(keep) = true];
  optional int32 minReadySeconds = 4;
  optional ${META}.LabelSelector selector = 2;
  optional ${CORE}.PodTemplateSpec template = 3;
}

message ReplicaSetCondition {
  optional string type = 1;
  optional string status = 2;
  optional ${META}.Time lastTransitionTime = 3;
  optional string reason = 4;
  optional string message = 5;
}

message ReplicaSetStatus {
  optional int32 replicas = 1 [(keep) = true];
  optional int32 fullyLabeledReplicas = 2;
  optional int32 readyReplicas = 4;
  optional int32 availableReplicas = 5;
  optional int32 terminatingReplicas = 7 [(keep) = true];
  optional int64 observedGeneration = 3;
  repeated ReplicaSetCondition conditions = 6;
}

message ReplicaSet {
  optional ${META}.ObjectMeta metadata = 1;
  optional ReplicaSetSpec spec = 2;
  optional ReplicaSetStatus status = 3;
}
`;

const BATCH_PROTO = `
syntax = "proto2";
package k8s.io.api.batch.v1;

message PodFailurePolicyOnExitCodesRequirement {
  optional string containerName = 1 [(keep) = true];
  optional string operator = 2;
  repeated int32 values = 3;
}

message PodFailurePolicyOnPodConditionsPattern {
  optional string type = 1;
  optional string status = 2;
}

message PodFailurePolicyRule {
  optional string action = 1;
  optional PodFailurePolicyOnExitCodesRequirement onExitCodes = 2;
  repeated PodFailurePolicyOnPodConditionsPattern onPodConditions = 3;
}

message PodFailurePolicy {
  repeated PodFailurePolicyRule rules = 1;
}

message SuccessPolicyRule {
  optional string succeededIndexes = 1 [(keep) = true];
  optional int32 succeededCount = 2 [(keep) = true];
}

message SuccessPolicy {
  repeated SuccessPolicyRule rules = 1;
}

message JobSpec {
  optional int32 parallelism = 1 [(keep) = true];
  optional int32 completions = 2 [(keep) = true];
  optional int64 activeDeadlineSeconds = 3 [(keep) = true];
  optional PodFailurePolicy podFailurePolicy = 11;
  optional SuccessPolicy successPolicy = 16;
  optional int32 backoffLimit = 7 [(keep) = true];
  optional int32 backoffLimitPerIndex = 12 [(keep) = true];
  optional int32 maxFailedIndexes = 13 [(keep) = true];
  optional ${META}.LabelSelector selector = 4;
  optional bool manualSelector = 5 [(keep) = true];
  optional ${CORE}.PodTemplateSpec template = 6;
  optional int32 ttlSecondsAfterFinished = 8 [(keep) = true];
  optional string completionMode = 9 [(keep) = true];
  optional bool suspend = 10 [(keep) = true];
  optional string podReplacementPolicy = 14 [(keep) = true];
  optional string managedBy = 15 [(keep) = true];
}

message JobCondition {
  optional string type = 1;
  optional string status = 2;
  optional ${META}.Time lastProbeTime = 3;
  optional ${META}.Time lastTransitionTime = 4;
  optional string reason = 5;
  optional string message = 6;
}

message UncountedTerminatedPods {
  repeated string succeeded = 1;
  repeated string failed = 2;
}

message JobStatus {
  repeated JobCondition conditions = 1;
  optional ${META}.Time startTime = 2;
  optional ${META}.Time completionTime = 3;
  optional int32 active = 4;
  optional int32 succeeded = 5;
  optional int32 failed = 6;
  optional int32 terminating = 11 [(keep) = true];
  optional string completedIndexes = 7;
  optional string failedIndexes = 10 [(keep) = true];
  optional UncountedTerminatedPods uncountedTerminatedPods = 8;
  optional int32 ready = 9 [(keep) = true];
}

message Job {
  optional ${META}.ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
  optional JobStatus status = 3;
}

message JobTemplateSpec {
  optional ${META}.ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
}

message CronJobSpec {
  optional string schedule = 1;
  optional string timeZone = 8 [(keep) = true];
  optional int64 startingDeadlineSeconds = 2 [(keep) = true];
  optional string concurrencyPolicy = 3;
  optional bool suspend = 4 [(keep) = true];
  optional JobTemplateSpec jobTemplate = 5;
  optional int32 successfulJobsHistoryLimit = 6 [(keep) = true];
  optional int32 failedJobsHistoryLimit = 7 [(keep) = true];
}

message CronJobStatus {
  repeated ${CORE}.ObjectReference active = 1;
  optional ${META}.Time lastScheduleTime = 4;
  optional ${META}.Time lastSuccessfulTime = 5;
}

message CronJob {
  optional ${META}.ObjectMeta metadata = 1;
  optional CronJobSpec spec = 2;
  optional CronJobStatus status = 3;
}
`;

/**
 * The `.proto` texts of apps/v1 (Deployment, ReplicaSet) and batch/v1 (Job, CronJob).
 *
 * @example
 * ```ts
 * import { WORKLOAD_PROTOS } from "./workload_proto.ts";
 * console.assert(WORKLOAD_PROTOS.some((text) => text.includes("message DeploymentSpec")));
 * ```
 */
export const WORKLOAD_PROTOS: readonly string[] = [APPS_PROTO, BATCH_PROTO];
