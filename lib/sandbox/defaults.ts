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

function podSpecDefaults(spec: JsonMap, restartPolicy: string | undefined): void {
  if (restartPolicy) spec.restartPolicy ??= restartPolicy;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
    if (!isMap(c)) continue;
    const image = String(c.image ?? "");
    c.imagePullPolicy ??= image.endsWith(":latest") || !image.includes(":")
      ? "Always"
      : "IfNotPresent";
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.resources ??= {};
    for (const p of Array.isArray(c.ports) ? c.ports : []) if (isMap(p)) p.protocol ??= "TCP";
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
      break;
    case "Pod":
      if (spec) podSpecDefaults(spec, "Always");
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
