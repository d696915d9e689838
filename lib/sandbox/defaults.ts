/**
 * The defaults the real API server fills in on create and update (Deployment strategy,
 * Pod and container fields, Service cluster IPs and node ports, Job selectors), and the
 * address allocation they need.
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";

type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function map(parent: JsonMap, key: string): JsonMap {
  if (!isMap(parent[key])) parent[key] = {};
  return parent[key] as JsonMap;
}

function list(v: unknown): JsonMap[] {
  return Array.isArray(v) ? v.filter(isMap) : [];
}

/** An HTTP GET action's defaults (a probe's or a lifecycle hook's): path `/`, scheme HTTP. */
function httpGetDefaults(handler: unknown): void {
  if (!isMap(handler) || !isMap(handler.httpGet)) return;
  handler.httpGet.path ??= "/";
  handler.httpGet.scheme ??= "HTTP";
}

/** A probe's defaults (SetDefaults_Probe), which `kubectl describe` prints. */
function probeDefaults(probe: unknown): void {
  if (!isMap(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  httpGetDefaults(probe);
}

function containerDefaults(c: JsonMap): void {
  const image = String(c.image ?? "");
  const tag = image.split("@")[0]?.split("/").at(-1) ?? "";
  c.imagePullPolicy ??= image.includes("@")
    ? "IfNotPresent"
    : tag.endsWith(":latest") || !tag.includes(":")
    ? "Always"
    : "IfNotPresent";
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.resources ??= {};
  const resources = c.resources;
  // Requests default to the limits a container sets without them.
  if (isMap(resources) && isMap(resources.limits)) {
    const requests = map(resources, "requests");
    for (const [k, v] of Object.entries(resources.limits)) requests[k] ??= v;
  }
  for (const p of list(c.ports)) p.protocol ??= "TCP";
  for (const e of list(c.env)) {
    const from = e.valueFrom;
    if (isMap(from) && isMap(from.fieldRef)) from.fieldRef.apiVersion ??= "v1";
  }
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) probeDefaults(c[probe]);
  if (isMap(c.lifecycle)) {
    httpGetDefaults(c.lifecycle.postStart);
    httpGetDefaults(c.lifecycle.preStop);
  }
}

function volumeDefaults(v: JsonMap): void {
  const sources = Object.keys(v).filter((k) => k !== "name");
  if (sources.length === 0) v.emptyDir = {};
  for (const key of ["secret", "configMap", "downwardAPI", "projected"]) {
    if (isMap(v[key])) (v[key] as JsonMap).defaultMode ??= 420;
  }
  if (isMap(v.hostPath)) v.hostPath.type ??= "";
  if (isMap(v.projected)) {
    for (const src of list(v.projected.sources)) {
      if (isMap(src.serviceAccountToken)) src.serviceAccountToken.expirationSeconds ??= 3600;
    }
  }
}

function podSpecDefaults(spec: JsonMap, restartPolicy: string | undefined): void {
  if (restartPolicy) spec.restartPolicy ??= restartPolicy;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) containerDefaults(c);
  for (const v of list(spec.volumes)) volumeDefaults(v);
}

/** What admission adds to a Pod itself (not to a template): service account, priority, tolerations. */
function podAdmission(spec: JsonMap): void {
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= typeof spec.serviceAccount === "string"
    ? spec.serviceAccount
    : "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const has = tolerations.some((t) =>
      isMap(t) && (t.key === key || (t.key === undefined && t.operator === "Exists")) &&
      (t.effect === undefined || t.effect === "NoExecute")
    );
    if (!has) {
      tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

/**
 * A Pod's quality-of-service class as the API server computes it: `Guaranteed` when every
 * container limits cpu and memory and requests what it limits, `BestEffort` when none
 * requests or limits anything, else `Burstable`.
 *
 * @param pod The pod (its defaults applied: requests filled from limits).
 * @returns Its `status.qosClass`.
 *
 * @example
 * ```ts
 * import { podQosClass } from "./defaults.ts";
 * import assert from "node:assert/strict";
 * assert.equal(podQosClass({ spec: { containers: [{ name: "a" }] } }), "BestEffort");
 * const r = { cpu: "1", memory: "1Gi" };
 * const guaranteed = { spec: { containers: [{ name: "a", resources: { limits: r, requests: r } }] } };
 * assert.equal(podQosClass(guaranteed), "Guaranteed");
 * ```
 */
export function podQosClass(pod: KObject): "Guaranteed" | "Burstable" | "BestEffort" {
  const spec = isMap(pod.spec) ? pod.spec : {};
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  let any = false, guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = isMap(c.resources) ? c.resources : {};
    const limits = isMap(r.limits) ? r.limits : {};
    const requests = isMap(r.requests) ? r.requests : {};
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const k of ["cpu", "memory"]) {
      if (limits[k] === undefined || String(requests[k] ?? limits[k]) !== String(limits[k])) {
        guaranteed = false;
      }
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/**
 * The status a new object of a kind with a status starts with, as the API server answers a
 * create (clients read `status` fields without checking it exists): `{}` for most kinds.
 *
 * @param type The resource type.
 * @param obj The object being created (its defaults applied).
 * @returns The status, or undefined for a kind the server keeps no status for on create.
 *
 * @example
 * ```ts
 * import { initialStatus } from "./defaults.ts";
 * import { findResource, type ResourceType } from "./resources.ts";
 * import assert from "node:assert/strict";
 * const deployments = findResource("apps", "v1", "deployments") as ResourceType;
 * assert.deepEqual(initialStatus(deployments, { spec: {} }), {});
 * ```
 */
export function initialStatus(type: ResourceType, obj: KObject): JsonMap | undefined {
  if (type.custom || !type.subresources.includes("status")) return undefined;
  switch (type.kind) {
    case "Pod":
      return { phase: "Pending", qosClass: podQosClass(obj) };
    case "Service":
      return { loadBalancer: {} };
    case "ReplicaSet":
      return { replicas: 0 };
    case "Namespace":
      return { phase: "Active" };
    case "Node":
      return undefined;
    default:
      return {};
  }
}

function templateDefaults(spec: JsonMap, restartPolicy: string): void {
  const template = map(spec, "template");
  map(template, "metadata");
  podSpecDefaults(map(template, "spec"), restartPolicy);
}

let serviceIpCounter = 10;

/** Cluster IPs and node ports already taken (so a new Service never reuses one). */
export interface Allocated {
  /** Cluster IPs in use. */
  ips: Set<string>;
  /** Node ports in use. */
  nodePorts: Set<number>;
}

function nextClusterIp(used: Set<string>): string {
  for (let i = 0; i < 60000; i++) {
    serviceIpCounter = (serviceIpCounter % 60000) + 1;
    const ip = `10.96.${Math.floor(serviceIpCounter / 250)}.${(serviceIpCounter % 250) + 2}`;
    if (!used.has(ip)) return ip;
  }
  throw new RangeError("Cannot allocate a cluster IP: the service range is full");
}

/** Fill in the defaults the real API server sets, for the kinds whose defaults matter. */
export function applyDefaults(
  type: ResourceType,
  obj: KObject,
  allocated: Allocated = { ips: new Set(), nodePorts: new Set() },
): void {
  const spec = isMap(obj.spec) ? obj.spec : undefined;
  switch (type.kind) {
    case "Deployment": {
      if (!spec) return;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      const strategy = map(spec, "strategy");
      strategy.type ??= "RollingUpdate";
      if (strategy.type === "RollingUpdate") {
        const ru = map(strategy, "rollingUpdate");
        ru.maxSurge ??= "25%";
        ru.maxUnavailable ??= "25%";
      }
      templateDefaults(spec, "Always");
      break;
    }
    case "ReplicaSet":
      if (!spec) return;
      spec.replicas ??= 1;
      templateDefaults(spec, "Always");
      break;
    case "Job": {
      if (!spec) return;
      spec.backoffLimit ??= 6;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.completionMode ??= "NonIndexed";
      spec.suspend ??= false;
      spec.manualSelector ??= false;
      spec.podReplacementPolicy ??= "TerminatingOrFailed";
      const template = map(spec, "template");
      podSpecDefaults(map(template, "spec"), undefined);
      break;
    }
    case "CronJob":
      if (!spec) return;
      spec.concurrencyPolicy ??= "Allow";
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      if (isMap(spec.jobTemplate) && isMap(spec.jobTemplate.spec)) {
        const template = spec.jobTemplate.spec.template;
        if (isMap(template) && isMap(template.spec)) podSpecDefaults(template.spec, undefined);
      }
      break;
    case "Pod":
      if (spec) {
        podSpecDefaults(spec, "Always");
        podAdmission(spec);
      }
      break;
    case "Service": {
      const s = spec ?? (obj.spec = {}) as JsonMap;
      s.type ??= "ClusterIP";
      s.sessionAffinity ??= "None";
      if (s.type !== "ExternalName" && s.clusterIP === undefined) {
        s.clusterIP = nextClusterIp(allocated.ips);
        s.clusterIPs = [s.clusterIP];
      }
      s.ipFamilies ??= ["IPv4"];
      s.ipFamilyPolicy ??= "SingleStack";
      s.internalTrafficPolicy ??= "Cluster";
      for (const p of Array.isArray(s.ports) ? s.ports : []) {
        if (!isMap(p)) continue;
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      if (s.type === "LoadBalancer" || s.type === "NodePort") {
        s.externalTrafficPolicy ??= "Cluster";
        let next = 30000 + (serviceIpCounter % 2000);
        for (const p of Array.isArray(s.ports) ? s.ports : []) {
          if (!isMap(p) || p.nodePort !== undefined) continue;
          while (allocated.nodePorts.has(next)) next = next >= 32767 ? 30000 : next + 1;
          allocated.nodePorts.add(next);
          p.nodePort = next++;
        }
      }
      break;
    }
    case "Secret":
      obj.type ??= "Opaque";
      if (isMap(obj.stringData)) {
        const data = map(obj, "data");
        for (const [k, v] of Object.entries(obj.stringData)) {
          data[k] = btoa(String.fromCharCode(...new TextEncoder().encode(String(v))));
        }
        delete obj.stringData;
      }
      break;
    case "Namespace": {
      const m = obj.metadata as JsonMap;
      const labels = map(m, "labels");
      labels["kubernetes.io/metadata.name"] = String(m.name);
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status ??= { phase: "Active" };
      break;
    }
    case "HTTPRoute":
      for (const rule of Array.isArray(spec?.rules) ? spec.rules as unknown[] : []) {
        if (!isMap(rule)) continue;
        rule.matches ??= [{ path: { type: "PathPrefix", value: "/" } }];
        for (const b of Array.isArray(rule.backendRefs) ? rule.backendRefs : []) {
          if (isMap(b)) {
            b.group ??= "";
            b.kind ??= "Service";
            b.weight ??= 1;
          }
        }
      }
      break;
  }
}

/** Give a new Job its controller-uid selector and template labels, as the API server does. */
export function jobSelectorDefaults(job: KObject): void {
  const m = (job.metadata ?? {}) as JsonMap;
  const spec = job.spec as JsonMap;
  if (spec.selector) return;
  const uid = String(m.uid);
  const labels = {
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": String(m.name),
    "controller-uid": uid,
    "job-name": String(m.name),
  };
  spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
  const template = (spec.template ??= {}) as JsonMap;
  const tm = (template.metadata ??= {}) as JsonMap;
  tm.labels = { ...(tm.labels as JsonMap ?? {}), ...labels };
}

/** A Service's clusterIP and node ports are immutable: an update that omits them keeps them. */
export function keepServiceAddresses(current: KObject, next: KObject): void {
  const was = (current.spec ?? {}) as JsonMap;
  const spec = (next.spec ??= {}) as JsonMap;
  if (spec.clusterIP === undefined && was.clusterIP !== undefined) {
    spec.clusterIP = was.clusterIP;
    spec.clusterIPs = was.clusterIPs;
  }
  const oldPorts = (was.ports ?? []) as JsonMap[];
  for (const p of (spec.ports ?? []) as JsonMap[]) {
    if (p.nodePort !== undefined) continue;
    const same = oldPorts.find((o) =>
      o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP")
    );
    if (same?.nodePort !== undefined) p.nodePort = same.nodePort;
  }
}

/** No addresses taken. */
export function emptyAllocation(): Allocated {
  return { ips: new Set(), nodePorts: new Set() };
}

/** The cluster IPs and node ports the given Services hold. */
export function allocatedAddresses(services: KObject[]): Allocated {
  const allocated = emptyAllocation();
  for (const svc of services) {
    const spec = (svc.spec ?? {}) as JsonMap;
    if (typeof spec.clusterIP === "string") allocated.ips.add(spec.clusterIP);
    for (const p of (spec.ports ?? []) as JsonMap[]) {
      if (typeof p.nodePort === "number") allocated.nodePorts.add(p.nodePort);
    }
  }
  return allocated;
}
