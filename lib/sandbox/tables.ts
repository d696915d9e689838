/**
 * Server-side printing: the `Table` rows and columns `kubectl get` shows for each kind
 * (`Accept: application/json;as=Table`).
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";
import { selectorString } from "./selectors.ts";

type JsonMap = Record<string, unknown>;
type Column = [name: string, type: string, priority?: number];

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split(".")) cur = isMap(cur) ? cur[p] : undefined;
  return cur;
}

/** Format a duration the way kubectl prints ages (`5m12s`, `3h`, `2d4h`). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (h < 24 * 365 * 8) return `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(obj: KObject, now: number): string {
  const t = get(obj, "metadata.creationTimestamp");
  return typeof t === "string" ? humanDuration(now - Date.parse(t)) : "<unknown>";
}

function podStatus(pod: KObject): { ready: string; reason: string; restarts: number } {
  const statuses = (get(pod, "status.containerStatuses") ?? []) as JsonMap[];
  const total = ((get(pod, "spec.containers") ?? []) as unknown[]).length;
  const ready = statuses.filter((s) => s.ready === true).length;
  let reason = String(get(pod, "status.phase") ?? "Pending");
  if (pod.metadata && get(pod, "metadata.deletionTimestamp")) reason = "Terminating";
  let restarts = 0;
  for (const s of statuses) {
    restarts += Number(s.restartCount ?? 0);
    const waiting = get(s, "state.waiting.reason");
    const terminated = get(s, "state.terminated.reason");
    if (typeof waiting === "string" && waiting !== "") reason = waiting;
    else if (typeof terminated === "string" && terminated !== "") reason = terminated;
  }
  return { ready: `${ready}/${total}`, reason, restarts };
}

function deploymentImages(obj: KObject, key: "name" | "image"): string {
  return ((get(obj, "spec.template.spec.containers") ?? []) as JsonMap[]).map((c) => String(c[key]))
    .join(",");
}

function servicePorts(obj: KObject): string {
  const ports = (get(obj, "spec.ports") ?? []) as JsonMap[];
  if (ports.length === 0) return "<none>";
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
    .join(",");
}

function jobStatus(obj: KObject): string {
  const conditions = (get(obj, "status.conditions") ?? []) as JsonMap[];
  const has = (t: string) => conditions.some((c) => c.type === t && c.status === "True");
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (has("FailureTarget")) return "FailureTarget";
  if (has("Suspended")) return "Suspended";
  return "Running";
}

function jobDuration(obj: KObject, now: number): string {
  const start = get(obj, "status.startTime");
  if (typeof start !== "string") return "";
  const end = get(obj, "status.completionTime");
  const stop = typeof end === "string" ? Date.parse(end) : now;
  return humanDuration(stop - Date.parse(start));
}

const TABLES: Record<
  string,
  { columns: Column[]; cells: (o: KObject, now: number) => unknown[] }
> = {
  Pod: {
    columns: [
      ["Ready", "string"],
      ["Status", "string"],
      ["Restarts", "string"],
      ["Age", "string"],
      ["IP", "string", 1],
      ["Node", "string", 1],
    ],
    cells: (o, now) => {
      const s = podStatus(o);
      return [
        s.ready,
        s.reason,
        String(s.restarts),
        age(o, now),
        get(o, "status.podIP") ?? "<none>",
        get(o, "spec.nodeName") ?? "<none>",
      ];
    },
  },
  Deployment: {
    columns: [
      ["Ready", "string"],
      ["Up-to-date", "integer"],
      ["Available", "integer"],
      ["Age", "string"],
      ["Containers", "string", 1],
      ["Images", "string", 1],
      ["Selector", "string", 1],
    ],
    cells: (o, now) => [
      `${get(o, "status.readyReplicas") ?? 0}/${get(o, "spec.replicas") ?? 0}`,
      get(o, "status.updatedReplicas") ?? 0,
      get(o, "status.availableReplicas") ?? 0,
      age(o, now),
      deploymentImages(o, "name"),
      deploymentImages(o, "image"),
      selectorString(get(o, "spec.selector") as JsonMap),
    ],
  },
  ReplicaSet: {
    columns: [["Desired", "integer"], ["Current", "integer"], ["Ready", "integer"], [
      "Age",
      "string",
    ]],
    cells: (o, now) => [
      get(o, "spec.replicas") ?? 0,
      get(o, "status.replicas") ?? 0,
      get(o, "status.readyReplicas") ?? 0,
      age(o, now),
    ],
  },
  Service: {
    columns: [
      ["Type", "string"],
      ["Cluster-IP", "string"],
      ["External-IP", "string"],
      ["Port(s)", "string"],
      ["Age", "string"],
      ["Selector", "string", 1],
    ],
    cells: (o, now) => {
      const ingress = ((get(o, "status.loadBalancer.ingress") ?? []) as JsonMap[]).map((i) =>
        i.ip ?? i.hostname
      );
      const type = String(get(o, "spec.type") ?? "ClusterIP");
      const external = ingress.length
        ? ingress.join(",")
        : type === "LoadBalancer"
        ? "<pending>"
        : "<none>";
      const sel = (get(o, "spec.selector") ?? {}) as Record<string, string>;
      return [
        type,
        get(o, "spec.clusterIP") ?? "<none>",
        external,
        servicePorts(o),
        age(o, now),
        Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(",") || "<none>",
      ];
    },
  },
  Job: {
    columns: [["Status", "string"], ["Completions", "string"], ["Duration", "string"], [
      "Age",
      "string",
    ]],
    cells: (o, now) => [
      jobStatus(o),
      `${get(o, "status.succeeded") ?? 0}/${get(o, "spec.completions") ?? 1}`,
      jobDuration(o, now),
      age(o, now),
    ],
  },
  CronJob: {
    columns: [
      ["Schedule", "string"],
      ["Timezone", "string"],
      ["Suspend", "boolean"],
      ["Active", "integer"],
      ["Last Schedule", "string"],
      ["Age", "string"],
    ],
    cells: (o, now) => [
      get(o, "spec.schedule") ?? "",
      get(o, "spec.timeZone") ?? "<none>",
      get(o, "spec.suspend") ?? false,
      ((get(o, "status.active") ?? []) as unknown[]).length,
      "<none>",
      age(o, now),
    ],
  },
  Node: {
    columns: [["Status", "string"], ["Roles", "string"], ["Age", "string"], ["Version", "string"]],
    cells: (
      o,
      now,
    ) => ["Ready", "worker", age(o, now), get(o, "status.nodeInfo.kubeletVersion") ?? ""],
  },
  Namespace: {
    columns: [["Status", "string"], ["Age", "string"]],
    cells: (o, now) => [get(o, "status.phase") ?? "Active", age(o, now)],
  },
  Secret: {
    columns: [["Type", "string"], ["Data", "string"], ["Age", "string"]],
    cells: (
      o,
      now,
    ) => [o.type ?? "Opaque", Object.keys((o.data ?? {}) as JsonMap).length, age(o, now)],
  },
  ConfigMap: {
    columns: [["Data", "string"], ["Age", "string"]],
    cells: (o, now) => [Object.keys((o.data ?? {}) as JsonMap).length, age(o, now)],
  },
  Endpoints: {
    columns: [["Endpoints", "string"], ["Age", "string"]],
    cells: (o, now) => {
      const eps: string[] = [];
      for (const s of (o.subsets ?? []) as JsonMap[]) {
        for (const a of (s.addresses ?? []) as JsonMap[]) {
          for (const p of (s.ports ?? []) as JsonMap[]) eps.push(`${a.ip}:${p.port}`);
        }
      }
      return [
        eps.length
          ? eps.slice(0, 3).join(",") + (eps.length > 3 ? ` + ${eps.length - 3} more...` : "")
          : "<none>",
        age(o, now),
      ];
    },
  },
  Event: {
    columns: [["Last Seen", "string"], ["Type", "string"], ["Reason", "string"], [
      "Object",
      "string",
    ], ["Message", "string"]],
    cells: (o, now) => {
      const last = get(o, "lastTimestamp") ?? get(o, "eventTime");
      return [
        typeof last === "string" ? humanDuration(now - Date.parse(last)) : "<unknown>",
        o.type ?? "Normal",
        o.reason ?? "",
        `${String(get(o, "involvedObject.kind") ?? "").toLowerCase()}/${
          get(o, "involvedObject.name") ?? ""
        }`,
        o.message ?? "",
      ];
    },
  },
  Lease: {
    columns: [["Holder", "string"], ["Age", "string"]],
    cells: (o, now) => [get(o, "spec.holderIdentity") ?? "", age(o, now)],
  },
  NetworkPolicy: {
    columns: [["Pod-Selector", "string"], ["Age", "string"]],
    cells: (
      o,
      now,
    ) => [selectorString(get(o, "spec.podSelector") as JsonMap) || "<none>", age(o, now)],
  },
  RoleBinding: {
    columns: [["Role", "string"], ["Age", "string"]],
    cells: (o, now) => [`${get(o, "roleRef.kind")}/${get(o, "roleRef.name")}`, age(o, now)],
  },
  ClusterRoleBinding: {
    columns: [["Role", "string"], ["Age", "string"]],
    cells: (o, now) => [`${get(o, "roleRef.kind")}/${get(o, "roleRef.name")}`, age(o, now)],
  },
  HTTPRoute: {
    columns: [["Hostnames", "string"], ["Age", "string"]],
    cells: (o, now) => [JSON.stringify(get(o, "spec.hostnames") ?? []), age(o, now)],
  },
  // A CRD without additionalPrinterColumns: its name and age.
  ServiceMonitor: { columns: [["Age", "date"]], cells: (o, now) => [age(o, now)] },
  PrometheusRule: { columns: [["Age", "date"]], cells: (o, now) => [age(o, now)] },
  NodeMetrics: {
    columns: [["CPU", "string"], ["Memory", "string"]],
    cells: (o) => [get(o, "usage.cpu"), get(o, "usage.memory")],
  },
};

/**
 * Build a `meta.k8s.io/v1` Table for `kubectl get` from objects of one type; ages are
 * counted to `options.now` (epoch ms on the cluster's clock).
 */
export function toTable(
  type: ResourceType,
  objects: KObject[],
  options: { resourceVersion: string; includeObject: string; now: number },
): JsonMap {
  const spec = TABLES[type.kind] ??
    {
      columns: [["Created At", "date"]] as Column[],
      cells: (o: KObject) => [get(o, "metadata.creationTimestamp")],
    };
  const columnDefinitions = [
    {
      name: "Name",
      type: "string",
      format: "name",
      description: "Name must be unique within a namespace.",
      priority: 0,
    },
    ...spec.columns.map(([name, t, priority]) => ({
      name,
      type: t,
      format: "",
      description: name,
      priority: priority ?? 0,
    })),
  ];
  const rows = objects.map((o) => {
    const row: JsonMap = { cells: [get(o, "metadata.name"), ...spec.cells(o, options.now)] };
    if (options.includeObject === "Object") row.object = o;
    else if (options.includeObject !== "None") {
      row.object = {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: o.metadata,
      };
    }
    return row;
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion: options.resourceVersion },
    columnDefinitions,
    rows,
  };
}
