/**
 * Kubernetes-side pre-deployment checks (the seed's `pre_deployment_checks.sh`): cluster
 * reachable and its version in range, namespace, required secrets, TLS certificate
 * validity, CPU/memory capacity, load balancer, RBAC, network policies. The
 * post-deployment validations live in `kubernetes_workloads.ts` and are re-exported here.
 *
 * Every check reaches the cluster through `ctx.use<KubernetesCapability>("kubernetes")`
 * (the stage must `uses("kubernetes")`), returns evidence, and never throws for an
 * ordinary failure. Names (namespace, secrets, services, prefixes) are parameters.
 * @module
 */
import type { X509Certificate } from "node:crypto";
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef } from "../lib/kubernetes/capability.ts";
import { parseQuantity } from "../lib/config/quantity.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";

export * from "./kubernetes_workloads.ts";

const NAMESPACE: KindRef = { apiVersion: "v1", kind: "Namespace" };
const SECRET: KindRef = { apiVersion: "v1", kind: "Secret" };
const NODE: KindRef = { apiVersion: "v1", kind: "Node" };
const NODE_METRICS: KindRef = { apiVersion: "metrics.k8s.io/v1beta1", kind: "NodeMetrics" };
const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
const ROLE_BINDING: KindRef = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" };
const CLUSTER_ROLE_BINDING: KindRef = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
};
const NETWORK_POLICY: KindRef = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" };

/**
 * The API server answers `/version` (the seed's `kubectl cluster-info`).
 *
 * @param options Name, required.
 * @returns The check; evidence: gitVersion.
 *
 * @example
 * ```ts
 * import { clusterReachable } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = clusterReachable();
 * assert.equal(check.name, "Kubernetes cluster connectivity");
 * assert.equal(check.required, true);
 * ```
 */
export function clusterReachable(options: CommonCheckOptions = {}): Check {
  return kubeCheck("Kubernetes cluster connectivity", async (k) => {
    const v = await k.version();
    return pass(`cluster reachable: ${v.gitVersion}`, { gitVersion: v.gitVersion });
  }, options);
}

function parseMinor(text: string, what: string): [number, number] {
  const match = /^v?(\d+)\.(\d+)/.exec(text);
  if (!match) throw new RangeError(`Cannot parse ${what} "${text}": expected <major>.<minor>`);
  return [Number(match[1]), Number(match[2])];
}

function compare(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * The server's version is within `[min, max]` (major.minor, both ends included), as the
 * seed greps `v1\.(24|25|26|27)`.
 *
 * @param range `min` and/or `max`, e.g. `{ min: "1.24", max: "1.32" }`.
 * @param options Name, required.
 * @returns The check; evidence: gitVersion, min, max.
 * @throws {RangeError} At definition when a bound is not `<major>.<minor>`.
 *
 * @example
 * ```ts
 * import { clusterVersion } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = clusterVersion({ min: "1.24", max: "1.32" });
 * assert.equal(check.name, "Kubernetes cluster version");
 * assert.equal(check.required, true);
 * ```
 */
export function clusterVersion(
  range: { min?: string; max?: string },
  options: CommonCheckOptions = {},
): Check {
  const min = range.min === undefined ? undefined : parseMinor(range.min, "minimum version");
  const max = range.max === undefined ? undefined : parseMinor(range.max, "maximum version");
  return kubeCheck("Kubernetes cluster version", async (k) => {
    const v = await k.version();
    const evidence = { gitVersion: v.gitVersion, min: range.min ?? null, max: range.max ?? null };
    let actual: [number, number];
    try {
      actual = parseMinor(v.gitVersion, "server version");
    } catch {
      return fail(`cannot read the server version "${v.gitVersion}"`, evidence);
    }
    if (min && compare(actual, min) < 0) {
      return fail(`server ${v.gitVersion} is older than ${range.min}`, evidence);
    }
    if (max && compare(actual, max) > 0) {
      return fail(`server ${v.gitVersion} is newer than ${range.max}`, evidence);
    }
    return pass(`server ${v.gitVersion} is within the supported range`, evidence);
  }, options);
}

/**
 * The namespace exists and is Active.
 *
 * @param namespace The namespace.
 * @param options Name, required.
 * @returns The check; evidence: namespace, phase.
 *
 * @example
 * ```ts
 * import { namespaceExists } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = namespaceExists("shop-staging");
 * assert.equal(check.name, "Namespace exists");
 * assert.equal(check.required, true);
 * ```
 */
export function namespaceExists(namespace: string, options: CommonCheckOptions = {}): Check {
  return kubeCheck("Namespace exists", async (k) => {
    const ns = await k.get(NAMESPACE, null, namespace);
    if (!ns) return fail(`namespace ${namespace} does not exist`, { namespace, phase: null });
    const phase = String((ns.status as { phase?: string } | undefined)?.phase ?? "Active");
    if (phase !== "Active") return fail(`namespace ${namespace} is ${phase}`, { namespace, phase });
    return pass(`namespace ${namespace} exists`, { namespace, phase });
  }, options);
}

/**
 * The named secrets exist in the namespace (their values are never read).
 *
 * @param namespace The namespace.
 * @param names The secrets, e.g. `["db-credentials", "api-keys", "tls-certificates"]`.
 * @param options Name, required.
 * @returns The check; evidence: present (with key names), missing.
 *
 * @example
 * ```ts
 * import { secretsExist } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = secretsExist("shop-staging", ["db-credentials", "api-keys"]);
 * assert.equal(check.name, "Required secrets exist");
 * assert.equal(check.required, true);
 * ```
 */
export function secretsExist(
  namespace: string,
  names: readonly string[],
  options: CommonCheckOptions = {},
): Check {
  return kubeCheck("Required secrets exist", async (k) => {
    const found = await Promise.all(names.map((name) => k.get(SECRET, namespace, name)));
    const present: Record<string, string[]> = {};
    const missing: string[] = [];
    names.forEach((name, i) => {
      const secret = found[i];
      if (secret) present[name] = Object.keys((secret.data ?? {}) as object).sort();
      else missing.push(name);
    });
    const evidence = { namespace, present, missing };
    if (missing.length > 0) {
      return fail(`missing secrets in ${namespace}: ${missing.join(", ")}`, evidence);
    }
    return pass(`${names.length} required secrets present in ${namespace}`, evidence);
  }, options);
}

/**
 * The certificate in a TLS secret (`tls.crt`) is valid now and for at least `minDays`
 * more days (the seed's `openssl x509 -checkend 2592000`: 30 days).
 *
 * @param namespace The namespace.
 * @param secret The secret's name.
 * @param options `minDays` (default 30), `key` (default `tls.crt`), `now`, name, required.
 * @returns The check; evidence: secret, subject, issuer, notBefore, notAfter, daysLeft.
 *
 * @example
 * ```ts
 * import { tlsCertificateValid } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = tlsCertificateValid("shop-staging", "tls-certificates");
 * assert.equal(check.name, "TLS certificates valid");
 * assert.equal(check.required, true);
 * ```
 */
export function tlsCertificateValid(
  namespace: string,
  secret: string,
  options: CommonCheckOptions & { minDays?: number; key?: string; now?: () => Date } = {},
): Check {
  const minDays = options.minDays ?? 30;
  const key = options.key ?? "tls.crt";
  return kubeCheck("TLS certificates valid", async (k) => {
    const where = `${namespace}/${secret}`;
    const pem = await k.readSecret(namespace, secret, key);
    if (pem === null) {
      return fail(`secret ${where} has no ${key}`, { secret: where, key });
    }
    let cert: X509Certificate;
    try {
      // Loaded when used: every stage Worker loads this module, few read a certificate.
      const { X509Certificate } = await import("node:crypto");
      cert = new X509Certificate(pem);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(`${key} in ${where} is not a certificate: ${reason}`, { secret: where, key });
    }
    const now = (options.now ?? (() => new Date()))();
    const notAfter = new Date(cert.validTo);
    const notBefore = new Date(cert.validFrom);
    const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
    const evidence = {
      secret: where,
      subject: cert.subject.replace(/\n/g, ", "),
      issuer: cert.issuer.replace(/\n/g, ", "),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      daysLeft,
      minDays,
    };
    if (notBefore > now) {
      return fail(`certificate in ${where} is not valid before ${evidence.notBefore}`, evidence);
    }
    if (notAfter.getTime() - now.getTime() < minDays * 86_400_000) {
      return fail(
        `certificate in ${where} expires ${evidence.notAfter} (${daysLeft} days left, ${minDays} required)`,
        evidence,
      );
    }
    return pass(
      `certificate in ${where} valid until ${evidence.notAfter} (${daysLeft} days left)`,
      evidence,
    );
  }, options);
}

/**
 * Cluster CPU or memory use (metrics.k8s.io node metrics) is below a share of the nodes'
 * allocatable capacity (the seed: `kubectl top nodes`, < 80%). The seed sums the
 * per-node percentages, which fails any cluster with enough nodes; this compares the
 * totals, and lists each node in the evidence.
 *
 * @param resource `cpu` or `memory`.
 * @param options `maxPercent` (default 80), name, required.
 * @returns The check; evidence: usedPercent, used, allocatable, nodes.
 *
 * @example
 * ```ts
 * import { nodeCapacity } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = nodeCapacity("memory");
 * assert.equal(check.name, "Sufficient memory capacity");
 * assert.equal(check.required, true);
 * ```
 */
export function nodeCapacity(
  resource: "cpu" | "memory",
  options: CommonCheckOptions & { maxPercent?: number } = {},
): Check {
  const maxPercent = options.maxPercent ?? 80;
  const label = resource === "cpu" ? "CPU" : "memory";
  return kubeCheck(`Sufficient ${label} capacity`, async (k) => {
    const [nodes, metrics] = await Promise.all([k.list(NODE, null), k.list(NODE_METRICS, null)]);
    const usage = new Map(metrics.map((m) => [
      m.metadata.name,
      parseQuantity(String((m.usage as Record<string, string> | undefined)?.[resource] ?? "")),
    ]));
    let used = 0;
    let allocatable = 0;
    const perNode: Record<string, number | null> = {};
    for (const node of nodes) {
      const status = (node.status ?? {}) as { allocatable?: Record<string, string> };
      const cap = parseQuantity(String(status.allocatable?.[resource] ?? ""));
      const u = usage.get(node.metadata.name);
      if (cap === undefined || cap <= 0 || u === undefined) {
        perNode[node.metadata.name] = null;
        continue;
      }
      used += u;
      allocatable += cap;
      perNode[node.metadata.name] = Math.round((u / cap) * 1000) / 10;
    }
    if (allocatable === 0) {
      return fail(`no ${label} metrics for any node (is metrics.k8s.io served?)`, {
        nodes: perNode,
        metrics: metrics.length,
      });
    }
    const usedPercent = Math.round((used / allocatable) * 1000) / 10;
    const evidence = { usedPercent, maxPercent, used, allocatable, nodes: perNode };
    if (usedPercent >= maxPercent) {
      return fail(`cluster ${label} use ${usedPercent}% is at or above ${maxPercent}%`, evidence);
    }
    return pass(`cluster ${label} use ${usedPercent}% (below ${maxPercent}%)`, evidence);
  }, options);
}

/**
 * A LoadBalancer Service has an ingress address (the seed's `tracktion-lb` check).
 *
 * @param namespace The namespace.
 * @param service The Service's name.
 * @param options Name, required.
 * @returns The check; evidence: service, ingress.
 *
 * @example
 * ```ts
 * import { loadBalancerReady } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = loadBalancerReady("shop-staging", "shop-lb");
 * assert.equal(check.name, "Load balancer health");
 * assert.equal(check.required, true);
 * ```
 */
export function loadBalancerReady(
  namespace: string,
  service: string,
  options: CommonCheckOptions = {},
): Check {
  return kubeCheck("Load balancer health", async (k) => {
    const svc = await k.get(SERVICE, namespace, service);
    const where = `${namespace}/${service}`;
    if (!svc) return fail(`Service ${where} does not exist`, { service: where, ingress: [] });
    const status = (svc.status ?? {}) as {
      loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
    };
    const ingress = (status.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? "")
      .filter(Boolean);
    const evidence = {
      service: where,
      type: (svc.spec as { type?: string })?.type ?? null,
      ingress,
    };
    const ip = (status.loadBalancer?.ingress ?? []).find((i) =>
      i.ip && /^[0-9a-fA-F.:]+$/.test(i.ip)
    )?.ip;
    if (!ip) return fail(`Service ${where} has no load balancer ingress IP`, evidence);
    return pass(`Service ${where} has ingress ${ip}`, evidence);
  }, options);
}

/**
 * RoleBindings in the namespace, or ClusterRoleBindings, with names starting with a
 * prefix exist (the seed's `kubectl get rolebindings,clusterrolebindings | grep tracktion`).
 *
 * @param namespace The namespace.
 * @param prefix The name prefix.
 * @param options Name, required.
 * @returns The check; evidence: roleBindings, clusterRoleBindings.
 *
 * @example
 * ```ts
 * import { rbacBindingsExist } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = rbacBindingsExist("shop-staging", "shop");
 * assert.equal(check.name, "RBAC policies applied");
 * assert.equal(check.required, true);
 * ```
 */
export function rbacBindingsExist(
  namespace: string,
  prefix: string,
  options: CommonCheckOptions = {},
): Check {
  return kubeCheck("RBAC policies applied", async (k) => {
    const [rb, crb] = await Promise.all([
      k.list(ROLE_BINDING, namespace),
      k.list(CLUSTER_ROLE_BINDING, null),
    ]);
    const match = (names: string[]) => names.filter((n) => n.startsWith(prefix));
    const evidence = {
      prefix,
      roleBindings: match(rb.map((b) => b.metadata.name)),
      clusterRoleBindings: match(crb.map((b) => b.metadata.name)),
    };
    const total = evidence.roleBindings.length + evidence.clusterRoleBindings.length;
    if (total === 0) {
      return fail(`no role bindings named ${prefix}* in ${namespace} or the cluster`, evidence);
    }
    return pass(`${total} role bindings named ${prefix}*`, evidence);
  }, options);
}

/**
 * Network policies exist in the namespace (all of `names`, when given).
 *
 * @param namespace The namespace.
 * @param options `names` to require, name, required.
 * @returns The check; evidence: policies, missing.
 *
 * @example
 * ```ts
 * import { networkPoliciesExist } from "./kubernetes.ts";
 * import assert from "node:assert/strict";
 * const check = networkPoliciesExist("shop-staging");
 * assert.equal(check.name, "Network policies exist");
 * assert.equal(check.required, true);
 * ```
 */
export function networkPoliciesExist(
  namespace: string,
  options: CommonCheckOptions & { names?: readonly string[] } = {},
): Check {
  return kubeCheck("Network policies exist", async (k) => {
    const policies = (await k.list(NETWORK_POLICY, namespace)).map((p) => p.metadata.name);
    const missing = (options.names ?? []).filter((n) => !policies.includes(n));
    const evidence = { namespace, policies, missing };
    if (policies.length === 0) return fail(`no network policies in ${namespace}`, evidence);
    if (missing.length > 0) {
      return fail(`missing network policies in ${namespace}: ${missing.join(", ")}`, evidence);
    }
    return pass(`${policies.length} network policies in ${namespace}`, evidence);
  }, options);
}
