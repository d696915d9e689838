/**
 * Field validation: the known fields of each kind, so `fieldValidation=Strict` refuses an
 * unknown field (400) and `Warn` drops it with a `Warning` header.
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";
import { ApiError } from "./errors.ts";

/** A shape: known keys (`{...}`), a list of a shape (`[shape]`), or anything (`true`). */
type Shape = true | { [key: string]: Shape } | [Shape];

function keys(names: string, extra: Record<string, Shape> = {}): { [key: string]: Shape } {
  const out: { [key: string]: Shape } = {};
  for (const n of names.split(/\s+/).filter(Boolean)) out[n] = true;
  return { ...out, ...extra };
}

const OBJECT_META = keys(
  "name generateName namespace selfLink uid resourceVersion generation creationTimestamp deletionTimestamp deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields",
);
const CONTAINER = keys(
  "name image command args workingDir envFrom resources resizePolicy restartPolicy volumeMounts volumeDevices livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy securityContext stdin stdinOnce tty",
  {
    env: [keys("name value valueFrom")],
    ports: [keys("name hostPort containerPort protocol hostIP")],
  },
);
const POD_SPEC = keys(
  "volumes ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources",
  { containers: [CONTAINER], initContainers: [CONTAINER] },
);
const POD_TEMPLATE = { metadata: OBJECT_META, spec: POD_SPEC };
const TOP = "apiVersion kind status";

const SHAPES: Record<string, Shape> = {
  Deployment: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys(
      "replicas selector minReadySeconds revisionHistoryLimit paused progressDeadlineSeconds",
      {
        template: POD_TEMPLATE,
        strategy: keys("type", { rollingUpdate: keys("maxUnavailable maxSurge") }),
      },
    ),
  }),
  Job: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys(
      "parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy backoffLimit backoffLimitPerIndex maxFailedIndexes selector manualSelector ttlSecondsAfterFinished completionMode suspend podReplacementPolicy managedBy",
      { template: POD_TEMPLATE },
    ),
  }),
  Pod: keys(TOP, { metadata: OBJECT_META, spec: POD_SPEC }),
  Service: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys(
      "selector clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP loadBalancerSourceRanges externalName externalTrafficPolicy healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig ipFamilies ipFamilyPolicy allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy trafficDistribution",
      { ports: [keys("name protocol appProtocol port targetPort nodePort")] },
    ),
  }),
  ConfigMap: keys(`${TOP} data binaryData immutable`, { metadata: OBJECT_META }),
  Secret: keys(`${TOP} data stringData type immutable`, { metadata: OBJECT_META }),
  Lease: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys(
      "holderIdentity leaseDurationSeconds acquireTime renewTime leaseTransitions strategy preferredHolder",
    ),
  }),
  HTTPRoute: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys("parentRefs hostnames", {
      rules: [keys("name matches filters timeouts retry sessionPersistence", {
        backendRefs: [keys("group kind name namespace port weight filters")],
      })],
    }),
  }),
  // The Prometheus Operator's CRDs (v0.73–0.84 fields): a structural schema prunes the rest.
  ServiceMonitor: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys(
      "attachMetadata bodySizeLimit fallbackScrapeProtocol jobLabel keepDroppedTargets labelLimit labelNameLengthLimit labelValueLengthLimit nativeHistogramBucketLimit nativeHistogramMinBucketFactor convertClassicHistogramsToNHCB podTargetLabels sampleLimit scrapeClass scrapeClassicHistograms scrapeProtocols selectMechanism serviceDiscoveryRole targetLabels targetLimit",
      {
        selector: keys("matchLabels", { matchExpressions: [keys("key operator values")] }),
        namespaceSelector: keys("any matchNames"),
        endpoints: [keys(
          "authorization basicAuth bearerTokenFile bearerTokenSecret enableHttp2 filterRunning followRedirects honorLabels honorTimestamps interval metricRelabelings noProxy oauth2 params path port proxyConnectHeader proxyFromEnvironment proxyUrl relabelings scheme scrapeTimeout targetPort tlsConfig trackTimestampsStaleness",
        )],
      },
    ),
  }),
  PrometheusRule: keys(TOP, {
    metadata: OBJECT_META,
    spec: keys("", {
      groups: [keys("name interval limit partial_response_strategy query_offset labels", {
        rules: [keys("alert annotations expr for keep_firing_for labels record")],
      })],
    }),
  }),
};

function walk(value: unknown, shape: Shape, path: string, out: string[], prune: boolean): void {
  if (shape === true || value === null || typeof value !== "object") return;
  if (Array.isArray(shape)) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, shape[0], `${path}[${i}]`, out, prune));
    }
    return;
  }
  if (Array.isArray(value)) return;
  const map = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(map)) {
    const next = shape[key];
    const p = path ? `${path}.${key}` : key;
    if (next === undefined) {
      out.push(p);
      if (prune) delete map[key];
    } else walk(child, next, p, out, prune);
  }
}

/**
 * Unknown fields of an object, for the kinds whose schema the sandbox knows (Deployment,
 * Job, Pod, Service, ConfigMap, Secret, Lease, HTTPRoute, ServiceMonitor, PrometheusRule);
 * other kinds are not checked.
 * With `prune`, they are also removed, as decoding into the real server's types drops them.
 *
 * @example
 * ```ts
 * import { unknownFields } from "./schema.ts";
 * import { findResource, type ResourceType } from "./resources.ts";
 * const t = findResource("apps", "v1", "deployments") as ResourceType;
 * console.assert(unknownFields(t, { spec: { replica: 3 } })[0] === "spec.replica");
 * ```
 */
export function unknownFields(
  type: ResourceType,
  obj: KObject,
  options: { prune?: boolean } = {},
): string[] {
  const shape = SHAPES[type.kind];
  if (!shape) return [];
  const out: string[] = [];
  walk(obj, shape, "", out, options.prune ?? false);
  return out;
}

/**
 * Apply `fieldValidation` to a decoded object: `Strict` refuses unknown fields with 400;
 * `Warn` and `Ignore` drop them (as decoding into the real server's types does), `Warn`
 * also reports them in `options.warnings`; unset does nothing (internal writes).
 */
export function checkFields(
  type: ResourceType,
  obj: KObject,
  options: { fieldValidation?: string; warnings?: string[] },
): void {
  const mode = options.fieldValidation;
  if (mode !== "Strict" && mode !== "Warn" && mode !== "Ignore") return;
  // Like decoding into the real server's types: unknown fields are dropped, and reported.
  const unknown = unknownFields(type, obj, { prune: mode !== "Strict" });
  if (unknown.length === 0 || mode === "Ignore") return;
  if (mode === "Strict") {
    throw ApiError.badRequest(
      `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${
        unknown.map((f) => `unknown field "${f}"`).join(", ")
      }`,
    );
  }
  options.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
}
