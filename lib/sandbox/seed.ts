/**
 * What a fresh sandbox holds: the system namespaces, three Ready nodes, and whatever the
 * caller's {@linkcode SandboxSeed} asks for (its namespaces with their Secrets, service
 * accounts and RBAC, network policies and load balancers; what its images' services
 * require from their environment). The seed is plain data: the
 * sandbox knows nothing of the project it is seeded for.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import type { CertificateAndKey, LeafCertificateRequest } from "./certificate.ts";
import {
  checkGatewaySeed,
  gatewayManifest,
  GATEWAYS,
  type GatewaySeed,
  seedCertificates,
} from "./gateway_seed.ts";
import { checkTraffic, type ServiceTrafficSeed } from "./traffic_rates.ts";
import { imagesKey, SANDBOX_IMAGES } from "./pod_config.ts";

export { type ServiceTrafficSeed, trafficRatesOf } from "./traffic_rates.ts";
export type { GatewaySeed } from "./gateway_seed.ts";

/** The namespaces every sandbox has, whatever its seed. */
export const SYSTEM_NAMESPACES: readonly string[] = ["default", "kube-system", "kube-public"];

/** An RBAC rule of a seeded Role. */
export interface SeedPolicyRule {
  /** API groups (`""` is the core group). */
  readonly apiGroups: readonly string[];
  /** Resources, or `["*"]`. */
  readonly resources: readonly string[];
  /** Verbs, or `["*"]`. */
  readonly verbs: readonly string[];
}

/** A Secret to create. */
export interface SecretSeed {
  /** The Secret's name. */
  readonly name: string;
  /** Its keys and their values, in plain text (the sandbox base64-encodes them). */
  readonly data?: Readonly<Record<string, string>>;
  /**
   * Make it a `kubernetes.io/tls` Secret holding a fresh certificate (365 days) for this
   * common name and these DNS names, signed by the sandbox's CA (published in the
   * namespace's `sandbox-ca` ConfigMap), as `tls.crt` and `tls.key` (besides any `data`).
   */
  readonly tls?: { readonly commonName: string; readonly dnsNames?: readonly string[] };
}

/** A ServiceAccount with a Role and a RoleBinding, all three of the same name. */
export interface ServiceAccountSeed {
  /** The name of the ServiceAccount, its Role and its RoleBinding. */
  readonly name: string;
  /** The Role's rules. */
  readonly rules: readonly SeedPolicyRule[];
}

/** An ingress NetworkPolicy. */
export interface NetworkPolicySeed {
  /** The policy's name. */
  readonly name: string;
  /** The pods it selects by label (omitted or empty: every pod of the namespace). */
  readonly podSelector?: Readonly<Record<string, string>>;
  /** `deny`: no ingress at all; `same-namespace`: ingress from the namespace's own pods. */
  readonly ingress: "deny" | "same-namespace";
}

/** A `LoadBalancer` Service, given an ingress address (127.0.0.1) at once. */
export interface LoadBalancerSeed {
  /** The Service's name. */
  readonly name: string;
  /** The pods it sends traffic to. */
  readonly selector: Readonly<Record<string, string>>;
  /** Its ports. */
  readonly ports: readonly {
    readonly name: string;
    readonly port: number;
    readonly targetPort: number;
  }[];
}

/** A namespace to create and what it holds. */
export interface NamespaceSeed {
  /** The namespace (a system namespace's name is allowed: only its contents are added). */
  readonly name: string;
  /** Labels of the seeded Secrets and load balancers (e.g. `{ app: "shop" }`). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Labels of the Namespace itself (e.g. Pod Security Admission's
   * `pod-security.kubernetes.io/enforce`).
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Secrets. */
  readonly secrets?: readonly SecretSeed[];
  /** Service accounts, each with its Role and RoleBinding. */
  readonly serviceAccounts?: readonly ServiceAccountSeed[];
  /** Network policies. */
  readonly networkPolicies?: readonly NetworkPolicySeed[];
  /** Load balancer Services. */
  readonly loadBalancers?: readonly LoadBalancerSeed[];
  /** Expected traffic per service (by the name its HTTPRoute or Service has). */
  readonly traffic?: Readonly<Record<string, ServiceTrafficSeed>>;
  /** The public endpoint: a Gateway with an HTTPS listener in front of a load balancer. */
  readonly gateway?: GatewaySeed;
}

/**
 * What a freshly seeded sandbox holds besides its system namespaces and nodes. A sandbox
 * restarted from its saved state keeps what it had: the seed is applied only to a fresh one.
 */
export interface SandboxSeed {
  /** The namespaces and their contents. */
  readonly namespaces?: readonly NamespaceSeed[];
  /**
   * What the service each image runs reads from its environment at start-up (kept in the
   * `kube-system/sandbox-images` ConfigMap): a pod of that image without one of these
   * variables crash-loops (`pod_config.ts`), as the real service would.
   */
  readonly images?: readonly {
    /** The image without tag or digest, e.g. `registry.local/shop/web`. */
    readonly repository: string;
    /** The variables it requires. */
    readonly requiredEnv: readonly string[];
  }[];
}

/** One entry of {@linkcode SandboxSeed.images}: an image and the variables it requires. */
export type ImageSeed = NonNullable<SandboxSeed["images"]>[number];

const SEED_MANAGER = "sandbox-seed";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function unique(names: readonly string[], what: string, where: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`Cannot seed ${where}: ${what} "${name}" twice`);
    seen.add(name);
  }
}

function checkName(name: string, pattern: RegExp, what: string, where: string): void {
  if (!pattern.test(name)) {
    throw new RangeError(
      `Cannot seed ${where}: ${JSON.stringify(name)} is not a valid ${what} name ` +
        '(lowercase letters, digits and "-")',
    );
  }
}

function checkLabels(labels: Readonly<Record<string, string>>, where: string): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!DNS_SUBDOMAIN.test(key.split("/").at(-1) ?? "") || !LABEL_VALUE.test(value)) {
      throw new RangeError(`Cannot seed ${where}: label ${key}=${value} is not valid`);
    }
  }
}

function checkNamespace(ns: NamespaceSeed): void {
  const where = `namespace "${ns.name}"`;
  checkName(ns.name, DNS_LABEL, "namespace", "the sandbox");
  checkLabels(ns.labels ?? {}, where);
  checkLabels(ns.namespaceLabels ?? {}, where);
  const groups: [string, readonly { name: string }[], RegExp][] = [
    ["Secret", ns.secrets ?? [], DNS_SUBDOMAIN],
    ["ServiceAccount", ns.serviceAccounts ?? [], DNS_SUBDOMAIN],
    ["NetworkPolicy", ns.networkPolicies ?? [], DNS_SUBDOMAIN],
    ["Service", ns.loadBalancers ?? [], DNS_LABEL],
  ];
  for (const [what, items, pattern] of groups) {
    for (const item of items) checkName(item.name, pattern, what, where);
    unique(items.map((i) => i.name), what, where);
  }
  for (const secret of ns.secrets ?? []) {
    for (const key of Object.keys(secret.data ?? {})) {
      if (!SECRET_KEY.test(key)) {
        throw new RangeError(`Cannot seed ${where}: Secret ${secret.name} has a bad key "${key}"`);
      }
    }
  }
  for (const lb of ns.loadBalancers ?? []) {
    checkLabels(lb.selector, where);
    for (const p of lb.ports) {
      for (const port of [p.port, p.targetPort]) {
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new RangeError(
            `Cannot seed ${where}: Service ${lb.name} port ${port} is not an integer from 1 to 65535`,
          );
        }
      }
    }
  }
  for (const policy of ns.networkPolicies ?? []) checkLabels(policy.podSelector ?? {}, where);
  for (const [service, t] of Object.entries(ns.traffic ?? {})) checkTraffic(service, t, where);
  if (ns.gateway) checkGatewaySeed(ns.gateway, where);
}

/**
 * Checks a seed before anything is written: names are Kubernetes names, none twice, ports
 * are ports, labels are labels.
 *
 * @param seed The seed.
 * @throws {RangeError} Naming the namespace and the object at fault.
 *
 * @example
 * ```ts
 * import { checkSeed } from "./seed.ts";
 * import assert from "node:assert/strict";
 * checkSeed({ namespaces: [{ name: "shop-prod" }] });
 * assert.throws(() => checkSeed({ namespaces: [{ name: "Shop" }] }), RangeError);
 * ```
 */
export function checkSeed(seed: SandboxSeed): void {
  const namespaces = seed.namespaces ?? [];
  for (const ns of namespaces) checkNamespace(ns);
  unique(namespaces.map((n) => n.name), "namespace", "the sandbox");
  const images = seed.images ?? [];
  unique(images.map((i) => i.repository), "image", "the sandbox");
  for (const image of images) {
    for (const name of image.requiredEnv) {
      if (!ENV_NAME.test(name)) {
        throw new RangeError(
          `Cannot seed image ${image.repository}: "${name}" is not an environment variable name`,
        );
      }
    }
  }
}

function type(group: string, plural: string): ResourceType {
  const found = findResource(group, "v1", plural);
  if (!found) throw new TypeError(`Cannot find resource type ${group}/${plural}`);
  return found;
}

function b64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function create(api: Api, t: ResourceType, namespace: string, obj: KObject): KObject {
  return api.create(t, namespace, obj, { manager: SEED_MANAGER });
}

function createNodes(api: Api): void {
  const nodes = type("", "nodes");
  for (let i = 1; i <= 3; i++) {
    const node = create(api, nodes, "", {
      metadata: {
        name: `sandbox-node-${i}`,
        labels: {
          "kubernetes.io/hostname": `sandbox-node-${i}`,
          "kubernetes.io/os": "linux",
          "node-role.kubernetes.io/worker": "",
        },
      },
      spec: { podCIDR: `10.244.${i}.0/24` },
    });
    const created = (node.metadata as Record<string, unknown>).creationTimestamp;
    node.status = {
      capacity: { cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" },
      allocatable: { cpu: "7800m", memory: "31Gi", pods: "110", "ephemeral-storage": "95Gi" },
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: created,
          lastTransitionTime: created,
        },
        { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
        { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure" },
      ],
      addresses: [{ type: "InternalIP", address: `10.0.0.${10 + i}` }, {
        type: "Hostname",
        address: `sandbox-node-${i}`,
      }],
      nodeInfo: {
        kubeletVersion: "v1.32.0",
        containerRuntimeVersion: "sandbox://1.0",
        osImage: "Sandbox Linux",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
    api.store.put(nodes, node);
  }
}

async function createSecrets(
  api: Api,
  ns: NamespaceSeed,
  certificate: (request: LeafCertificateRequest) => Promise<CertificateAndKey>,
): Promise<void> {
  const secrets = type("", "secrets");
  const labels = ns.labels ?? {};
  for (const secret of ns.secrets ?? []) {
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = b64(value);
    if (secret.tls) {
      const { cert, key } = await certificate(secret.tls);
      Object.assign(data, { "tls.crt": b64(cert), "tls.key": b64(key) });
    }
    create(api, secrets, ns.name, {
      metadata: { name: secret.name, ...(Object.keys(labels).length ? { labels } : {}) },
      ...(secret.tls ? { type: "kubernetes.io/tls" } : {}),
      data,
    });
  }
}

function createRbac(api: Api, ns: NamespaceSeed): void {
  const rbac = "rbac.authorization.k8s.io";
  for (const sa of ns.serviceAccounts ?? []) {
    create(api, type("", "serviceaccounts"), ns.name, { metadata: { name: sa.name } });
    create(api, type(rbac, "roles"), ns.name, {
      metadata: { name: sa.name },
      rules: sa.rules.map((r) => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        verbs: [...r.verbs],
      })),
    });
    create(api, type(rbac, "rolebindings"), ns.name, {
      metadata: { name: sa.name },
      roleRef: { apiGroup: rbac, kind: "Role", name: sa.name },
      subjects: [{ kind: "ServiceAccount", name: sa.name, namespace: ns.name }],
    });
  }
}

function createNetwork(api: Api, ns: NamespaceSeed): void {
  const netpol = type("networking.k8s.io", "networkpolicies");
  for (const policy of ns.networkPolicies ?? []) {
    const selector = policy.podSelector ?? {};
    create(api, netpol, ns.name, {
      metadata: { name: policy.name },
      spec: {
        podSelector: Object.keys(selector).length ? { matchLabels: { ...selector } } : {},
        ...(policy.ingress === "same-namespace"
          ? { ingress: [{ from: [{ podSelector: {} }] }] }
          : {}),
        policyTypes: ["Ingress"],
      },
    });
  }
  const services = type("", "services");
  const labels = ns.labels ?? {};
  for (const lb of ns.loadBalancers ?? []) {
    const service = create(api, services, ns.name, {
      metadata: { name: lb.name, ...(Object.keys(labels).length ? { labels } : {}) },
      spec: {
        type: "LoadBalancer",
        selector: { ...lb.selector },
        ports: lb.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort })),
      },
    });
    service.status = { loadBalancer: { ingress: [{ ip: "127.0.0.1", ipMode: "VIP" }] } };
    api.store.put(services, service);
  }
}

/**
 * Seeds an empty store: the system namespaces, three Ready nodes, then the seed's
 * namespaces and their contents (a Gateway where one is asked for). One CA signs every TLS
 * Secret's certificate, one per set of names.
 *
 * @param api The sandbox's API over an empty store.
 * @param seed What to create (checked with {@linkcode checkSeed} first).
 * @throws {RangeError} For a seed that {@linkcode checkSeed} refuses.
 *
 * @example
 * ```ts ignore
 * import { seedCluster } from "./seed.ts";
 * await seedCluster(api, { namespaces: [{ name: "shop-prod", secrets: [{ name: "db", data: { password: "x" } }] }] });
 * ```
 */
export async function seedCluster(api: Api, seed: SandboxSeed = {}): Promise<void> {
  checkSeed(seed);
  const ns = type("", "namespaces");
  const namespaces = seed.namespaces ?? [];
  const names = [...SYSTEM_NAMESPACES];
  for (const n of namespaces) if (!names.includes(n.name)) names.push(n.name);
  for (const name of names) {
    const labels = namespaces.find((n) => n.name === name)?.namespaceLabels;
    create(api, ns, "", { metadata: { name, ...(labels ? { labels: { ...labels } } : {}) } });
  }
  createNodes(api);
  const certificates = seedCertificates();
  for (const n of namespaces) {
    await createSecrets(api, n, certificates.certificate);
    if (n.secrets?.some((s) => s.tls)) await certificates.publish(api, n.name);
    createRbac(api, n);
    createNetwork(api, n);
    if (n.gateway) {
      create(api, GATEWAYS, n.name, gatewayManifest(n.name, n.gateway, n.labels ?? {}));
    }
  }
  if (seed.images?.length) {
    const data = Object.fromEntries(
      seed.images.map((i) => [imagesKey(i.repository), i.requiredEnv.join(",")]),
    );
    create(api, type("", "configmaps"), "kube-system", {
      metadata: { name: SANDBOX_IMAGES },
      data,
    });
  }
}

/**
 * Write (create or update) the `kube-system/sandbox-info` ConfigMap.
 *
 * @param api The sandbox's API.
 * @param data The ConfigMap's data (scenario, time scale, start time).
 *
 * @example
 * ```ts ignore
 * import { writeSandboxInfo } from "./seed.ts";
 * writeSandboxInfo(api, { scenario: "none", timeScale: "60" });
 * ```
 */
export function writeSandboxInfo(api: Api, data: Record<string, string>): void {
  const cm = type("", "configmaps");
  const existing = api.store.get(cm, "kube-system", "sandbox-info");
  if (existing) {
    existing.data = data;
    api.update(cm, "kube-system", "sandbox-info", existing, { manager: SEED_MANAGER });
  } else {
    create(api, cm, "kube-system", { metadata: { name: "sandbox-info" }, data });
  }
}
