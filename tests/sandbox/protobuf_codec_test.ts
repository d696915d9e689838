import assert from "node:assert/strict";
import { decodeObject, encodeObject } from "../../lib/sandbox/protobuf/mod.ts";

const meta = (name: string) => ({
  name,
  namespace: "tracktion-dev",
  uid: "8f0c0a8e-6a4e-4a47-9a0f-1d2c3b4a5f60",
  resourceVersion: "42",
  generation: 3,
  creationTimestamp: "2026-12-02T15:15:24Z",
  labels: { app: "web", "app.kubernetes.io/name": "web" },
  annotations: { "deployment.kubernetes.io/revision": "1" },
  ownerReferences: [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web-5d8f",
    uid: "11111111-2222-3333-4444-555555555555",
    controller: true,
    blockOwnerDeletion: true,
  }],
  finalizers: ["example.com/keep"],
  managedFields: [{
    manager: "kubectl-create",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-12-02T15:15:24Z",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:data": { ".": {}, "f:a": {} } },
  }],
});

const podSpec = {
  volumes: [
    { name: "config", configMap: { name: "web-config", defaultMode: 420, optional: false } },
    {
      name: "tls",
      secret: { secretName: "tls", items: [{ key: "tls.crt", path: "crt", mode: 256 }] },
    },
    { name: "scratch", emptyDir: { sizeLimit: "1Gi" } },
    {
      name: "projected",
      projected: {
        sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3600 } }, {
          downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
        }],
      },
    },
  ],
  initContainers: [{ name: "migrate", image: "registry.local/web:1.2", command: ["migrate"] }],
  containers: [{
    name: "web",
    image: "registry.local/web:1.2",
    args: ["--port", "8000"],
    ports: [{ name: "http", containerPort: 8000, protocol: "TCP" }],
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "EMPTY" },
      { name: "DB", valueFrom: { secretKeyRef: { name: "db", key: "password", optional: true } } },
      { name: "POD", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
      {
        name: "MEM",
        valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
      },
    ],
    envFrom: [{ configMapRef: { name: "web-env" } }, { prefix: "S_", secretRef: { name: "s" } }],
    resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m" } },
    volumeMounts: [{ name: "config", mountPath: "/etc/web", readOnly: true }],
    livenessProbe: {
      httpGet: { path: "/health", port: 8000, scheme: "HTTP" },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 5 },
    startupProbe: { exec: { command: ["cat", "/tmp/ready"] }, terminationGracePeriodSeconds: 0 },
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    imagePullPolicy: "IfNotPresent",
  }],
  restartPolicy: "Always",
  terminationGracePeriodSeconds: 0,
  dnsPolicy: "ClusterFirst",
  nodeSelector: { "kubernetes.io/os": "linux" },
  serviceAccountName: "deployer",
  automountServiceAccountToken: false,
  securityContext: { fsGroup: 2000, supplementalGroups: [3000, 4000] },
  imagePullSecrets: [{ name: "registry" }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] },
          topologyKey: "kubernetes.io/hostname",
        },
      }],
    },
  },
  tolerations: [{
    key: "dedicated",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 0,
  }],
  schedulerName: "default-scheduler",
  topologySpreadConstraints: [{
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: { app: "web" } },
  }],
  enableServiceLinks: true,
};

/** One object per kind, in the JSON shape the API server writes (zero values only where Go keeps them). */
const OBJECTS: Record<string, Record<string, unknown>> = {
  ConfigMap: {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta("web-config"),
    data: { "app.yaml": "port: 8000\n", empty: "" },
    binaryData: { "logo.png": "iVBORw0KGgo=" },
    immutable: false,
  },
  Secret: {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta("db"),
    type: "Opaque",
    data: { password: "aHVudGVyMg==", binary: "AP8A/w==", empty: "" },
    immutable: true,
  },
  Namespace: {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "pb", labels: { "kubernetes.io/metadata.name": "pb" } },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  },
  Service: {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("web"),
    spec: {
      ports: [
        { name: "http", protocol: "TCP", port: 80, targetPort: 8000 },
        { name: "metrics", protocol: "TCP", port: 9090, targetPort: "metrics", nodePort: 30090 },
      ],
      selector: { app: "web", slot: "blue" },
      clusterIP: "10.96.0.15",
      clusterIPs: ["10.96.0.15"],
      type: "LoadBalancer",
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
      allocateLoadBalancerNodePorts: false,
    },
    status: {
      loadBalancer: { ingress: [{ ip: "127.0.0.1", ipMode: "VIP" }] },
      conditions: [{
        type: "Ready",
        status: "True",
        lastTransitionTime: "2026-12-02T15:15:24Z",
        reason: "Ok",
        message: "ok",
      }],
    },
  },
  Pod: {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta("web-5d8f-abcde"),
    spec: podSpec,
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-12-02T15:15:30Z" }],
      hostIP: "127.0.0.1",
      podIP: "10.244.0.7",
      podIPs: [{ ip: "10.244.0.7" }],
      startTime: "2026-12-02T15:15:24Z",
      containerStatuses: [{
        name: "web",
        state: { running: { startedAt: "2026-12-02T15:15:26Z" } },
        lastState: { terminated: { exitCode: 0, reason: "Completed" } },
        ready: false,
        restartCount: 0,
        image: "registry.local/web:1.2",
        imageID: "",
        started: false,
      }],
      qosClass: "Burstable",
    },
  },
  Deployment: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta("web"),
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: podSpec },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 1,
      conditions: [{
        type: "Progressing",
        status: "True",
        lastUpdateTime: "2026-12-02T15:15:24Z",
        lastTransitionTime: "2026-12-02T15:15:24Z",
        reason: "NewReplicaSetAvailable",
        message: 'ReplicaSet "web-5d8f" has successfully progressed.',
      }],
    },
  },
  Job: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta("migrate"),
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 0,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 0,
      suspend: false,
      completionMode: "NonIndexed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "x" } },
      manualSelector: false,
      template: {
        metadata: { labels: { job: "migrate" } },
        spec: { ...podSpec, restartPolicy: "Never" },
      },
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }],
      },
    },
    status: {
      startTime: "2026-12-02T15:15:24Z",
      completionTime: "2026-12-02T15:16:24Z",
      succeeded: 1,
      ready: 0,
      terminating: 0,
      conditions: [{ type: "Complete", status: "True", lastProbeTime: "2026-12-02T15:16:24Z" }],
      uncountedTerminatedPods: {},
    },
  },
  CronJob: {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta("nightly"),
    spec: {
      schedule: "*/5 * * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: {},
        spec: { template: { spec: { ...podSpec, restartPolicy: "OnFailure" } } },
      },
    },
    status: { lastScheduleTime: "2026-12-02T15:15:00Z" },
  },
  ServiceAccount: {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta("deployer"),
    imagePullSecrets: [{ name: "registry" }],
    automountServiceAccountToken: false,
  },
  Role: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta("reader"),
    rules: [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }],
  },
  ClusterRoleBinding: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "deployers" },
    subjects: [
      { kind: "ServiceAccount", name: "deployer", namespace: "tracktion-dev" },
      { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "ops" },
    ],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
  },
  Status: {
    apiVersion: "v1",
    kind: "Status",
    metadata: {},
    status: "Failure",
    message: 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1',
    reason: "Invalid",
    details: {
      name: "web",
      group: "apps",
      kind: "deployments",
      causes: [{ reason: "FieldValueInvalid", message: "must be >= 0", field: "spec.replicas" }],
    },
    code: 422,
  },
};

for (const [kind, object] of Object.entries(OBJECTS)) {
  Deno.test(`encodeObject()/decodeObject() round-trip a ${kind} (JSON -> protobuf -> JSON)`, () => {
    const bytes = encodeObject(object);
    assert.deepEqual([...bytes.slice(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
    assert.deepEqual(decodeObject(bytes), object);
  });
}

Deno.test("decodeObject() reads the bytes kubectl 1.32 sends for `create deployment --replicas=0`", () => {
  // Captured from kubectl 1.32 against the sandbox: Go writes every non-pointer field, empty
  // strings and zero Times included. The JSON is what Go's JSON of the same object is
  // (`kubectl create deployment -o json --dry-run=client`): replicas 0 kept (a pointer), empty
  // structs as {}, zero strings and times dropped.
  const bytes = Uint8Array.from(
    atob(
      "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EtUBCiwKA3dlYhIAGg10cmFja3Rpb24tZGV2IgAqADIAOABCAFoKCgNhcHASA3dlYhKWAQgAEgwKCgoDYXBwEgN3ZWIafAocCgASABoAIgAqADIAOABCAFoKCgNhcHASA3dlYhJcEj4KA3dlYhIWcmVnaXN0cnkubG9jYWwvd2ViOjEuMioAMgsKABAAGMA+IgAqAEIAagByAIABAIgBAJABAKIBABoAMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAiAgoAKAA4ABoMCAAQABgAIAAoADgAGgAiAA==",
    ),
    (c) => c.charCodeAt(0),
  );
  assert.deepEqual(decodeObject(bytes), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "tracktion-dev", labels: { app: "web" } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [{
            name: "web",
            image: "registry.local/web:1.2",
            ports: [{ containerPort: 8000 }],
            resources: {},
          }],
        },
      },
      strategy: {},
    },
    status: {},
  });
});

Deno.test("decodeObject() reads kubectl's `create service clusterip --tcp=80:http` (a named targetPort)", () => {
  const bytes = Uint8Array.from(
    atob(
      "azhzAAoNCgJ2MRIHU2VydmljZRJ5CiwKA3N2YxIAGg10cmFja3Rpb24tZGV2IgAqADIAOABCAFoKCgNhcHASA3N2YxJFCh4KBzgwLWh0dHASA1RDUBhQIgoIARAAGgRodHRwKAASCgoDYXBwEgNzdmMaACIJQ2x1c3RlcklQOgBCAFIAWgBgAGgAGgIKABoAIgA=",
    ),
    (c) => c.charCodeAt(0),
  );
  const svc = decodeObject(bytes) as { spec: Record<string, unknown>; status: unknown };
  assert.deepEqual(svc.spec.ports, [{
    name: "80-http",
    protocol: "TCP",
    port: 80,
    targetPort: "http",
  }]);
  assert.equal(svc.spec.type, "ClusterIP");
  assert.deepEqual(svc.status, { loadBalancer: {} });
});

Deno.test("encodeObject()/decodeObject() round-trip a PodList; items lose only their TypeMeta, as on the wire", () => {
  const pod = OBJECTS.Pod!;
  const list = {
    apiVersion: "v1",
    kind: "PodList",
    metadata: { resourceVersion: "77", continue: "next", remainingItemCount: 0 },
    items: [pod, { ...pod, metadata: { name: "second" } }],
  };
  const { apiVersion: _v, kind: _k, ...item } = pod;
  assert.deepEqual(decodeObject(encodeObject(list)), {
    ...list,
    items: [item, { ...item, metadata: { name: "second" } }],
  });
  const empty = {
    apiVersion: "apps/v1",
    kind: "DeploymentList",
    metadata: { resourceVersion: "1" },
  };
  assert.deepEqual(decodeObject(encodeObject({ ...empty, items: [] })), empty);
});
