/**
 * The sandbox's seed, built from a project's environment files: each environment's
 * namespace, with what its `kubernetes:` section says the namespace holds (Secrets, the
 * deployer's ServiceAccount and RBAC, network policies, the load balancer) and every Secret
 * a `secret_key_ref` names, all with freshly generated values, and the traffic its
 * `traffic:` section expects per service (what the sandbox's traffic model draws), and what
 * each service's image reads from its environment ({@linkcode podConfig}: the same variables
 * the manifests give the pods, so a manifest that drops one crash-loops in the sandbox as it
 * would in production). The sandbox itself knows nothing of the project: this module is
 * where the two meet.
 * @module
 */
import {
  ConfigError,
  type Environment,
  ENVIRONMENTS_DIR,
  formatProblem,
  listEnvironments,
  loadEnvironment,
  secretRefs,
} from "../config/mod.ts";
import type {
  LoadBalancerSeed,
  NamespaceSeed,
  NetworkPolicySeed,
  SandboxSeed,
  SecretSeed,
  SeedPolicyRule,
  ServiceAccountSeed,
} from "../sandbox/mod.ts";
import type { ServiceTrafficSeed } from "../sandbox/traffic_rates.ts";
import type { ImageSeed } from "../sandbox/seed.ts";
import type { PodConfig } from "../kubernetes/manifests.ts";
import { appName, kubeTarget } from "./kube_target.ts";
import { podConfig } from "./pod_config.ts";

export { podConfig };

export type {
  ImageSeed,
  LoadBalancerSeed,
  NamespaceSeed,
  NetworkPolicySeed,
  SandboxSeed,
  SecretSeed,
  SeedPolicyRule,
  ServiceAccountSeed,
  ServiceTrafficSeed,
};

/** What the deployer's Role may do in its namespace (everything a deploy touches). */
const DEPLOYER_RULES = [{
  apiGroups: ["", "apps", "batch", "gateway.networking.k8s.io"],
  resources: ["*"],
  verbs: ["*"],
}];

/** Where the sandbox's stand-ins for the database and Redis are said to listen. */
const SANDBOX_HOST = "127.0.0.1";

function randomSecret(bytes = 18): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

function credentials(env: Environment, of: "database" | "redis"): Record<string, string> {
  if (of === "database") {
    return {
      host: SANDBOX_HOST,
      port: String(env.database.port),
      username: env.database.user,
      password: randomSecret(),
      database: env.database.database,
    };
  }
  return { host: SANDBOX_HOST, port: String(env.redis.port), password: randomSecret() };
}

function secretsOf(env: Environment): SecretSeed[] {
  const secrets = new Map<string, { data: Record<string, string>; tls?: string }>();
  const entry = (name: string) => {
    let found = secrets.get(name);
    if (!found) secrets.set(name, found = { data: {} });
    return found;
  };
  for (const [name, spec] of Object.entries(env.kubernetes?.secrets ?? {})) {
    const secret = entry(name);
    if (spec.credentials) Object.assign(secret.data, credentials(env, spec.credentials));
    for (const key of spec.keys ?? []) secret.data[key] = randomSecret();
    if (spec.tls) secret.tls = spec.tls;
  }
  for (const { ref } of secretRefs(env)) {
    if (!("secret_key_ref" in ref)) continue;
    const { name, key } = ref.secret_key_ref;
    const secret = entry(name);
    secret.data[key] ??= randomSecret();
  }
  // The gateway presents the TLS Secret's certificate: it names the public host too.
  const api = env.environment.api_url ? [new URL(env.environment.api_url).hostname] : [];
  return [...secrets].map(([name, s]) => ({
    name,
    data: s.data,
    ...(s.tls ? { tls: { commonName: s.tls, dnsNames: api } } : {}),
  }));
}

/**
 * What each service's image requires, as the sandbox checks it at start-up: the variables
 * {@linkcode podConfig} gives the pods, plus `ENVIRONMENT`, `SERVICE_VERSION`, `LOG_LEVEL`.
 * Until the deploy target carries the pods' configuration (`kubeTarget(env).pods`), nothing
 * is required (the manifests would not provide it).
 *
 * @param env The environment.
 * @returns One entry per service image (`<image_registry>/<service>`).
 *
 * @example
 * ```ts
 * import { imageSeeds } from "./sandbox_seed.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * const images = imageSeeds(await loadEnvironment("staging"));
 * console.assert(images.every((i) => i.repository.includes("/")));
 * ```
 */
export function imageSeeds(env: Environment): ImageSeed[] {
  const target = kubeTarget(env) as { pods?: PodConfig };
  const pods = target.pods;
  if (!pods) return [];
  const common = ["ENVIRONMENT", "SERVICE_VERSION", "LOG_LEVEL", ...pods.env.map((v) => v.name)];
  return Object.keys(env.infrastructure.replicas).map((service) => ({
    repository: `${env.deployment.image_registry}/${service}`,
    requiredEnv: [...new Set([...common, ...(pods.services?.[service] ?? []).map((v) => v.name)])],
  }));
}

/**
 * An environment's `traffic:` section as the sandbox's traffic model takes it.
 *
 * @param env The environment.
 * @returns Service → expected traffic (empty without a `traffic:` section).
 *
 * @example
 * ```ts
 * import { trafficSeed } from "./sandbox_seed.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const traffic = trafficSeed(await loadEnvironment("production"));
 * assert.ok(Object.values(traffic).every((t) => t.requestsPerSecond >= 0));
 * ```
 */
export function trafficSeed(env: Environment): Record<string, ServiceTrafficSeed> {
  const out: Record<string, ServiceTrafficSeed> = {};
  for (const [service, t] of Object.entries(env.traffic ?? {})) {
    out[service] = {
      requestsPerSecond: t.requests_per_second,
      ...(t.latency ? { medianMs: t.latency.median.ms, p95Ms: t.latency.p95.ms } : {}),
      ...(t.error_rate !== undefined ? { errorRate: t.error_rate } : {}),
    };
  }
  return out;
}

/** The public endpoint (`api_url`) as a Gateway before the load balancer, with its TLS Secret. */
function gatewaySeed(env: Environment, name: string): Pick<NamespaceSeed, "gateway"> {
  const k = env.kubernetes ?? {};
  const tls = Object.entries(k.secrets ?? {}).find(([, s]) => s.tls)?.[0];
  const api = env.environment.api_url;
  if (!api || !tls || !k.load_balancer) return {};
  const apiKeySecrets = Object.entries(k.secrets ?? {}).filter(([, s]) => s.keys?.length);
  return {
    gateway: {
      name: kubeTarget(env).gateway?.name ?? name,
      hostname: new URL(api).hostname,
      tlsSecret: tls,
      service: k.load_balancer.name,
      apiKeySecrets: apiKeySecrets.map(([n]) => n),
      rateLimit: env.external_services.api_rate_limit,
    },
  };
}

/**
 * The namespace of one environment and what it holds, as {@linkcode sandboxSeed} seeds it.
 *
 * @param env The environment.
 * @returns Its namespace seed (labels `app=<appName(env)>`, the label the manifests use).
 *
 * @example
 * ```ts ignore
 * import { namespaceSeed } from "./sandbox_seed.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * const ns = namespaceSeed(await loadEnvironment("staging"));
 * console.log(ns.name, ns.secrets?.map((s) => s.name));
 * ```
 */
export function namespaceSeed(env: Environment): NamespaceSeed {
  const app = appName(env);
  const k = env.kubernetes ?? {};
  const serviceAccounts: ServiceAccountSeed[] = k.service_account
    ? [{ name: k.service_account, rules: DEPLOYER_RULES }]
    : [];
  const networkPolicies: NetworkPolicySeed[] = Object.entries(k.network_policies ?? {}).map((
    [name, ingress],
  ) => ingress === "deny" ? { name, ingress } : { name, ingress, podSelector: { app } });
  const loadBalancers: LoadBalancerSeed[] = k.load_balancer
    ? [{
      name: k.load_balancer.name,
      selector: { app },
      ports: [{
        name: "http",
        port: k.load_balancer.port,
        targetPort: k.load_balancer.target_port,
      }],
    }]
    : [];
  return {
    name: env.environment.namespace,
    labels: { app },
    // As the platform's namespaces are set up: Pod Security Admission at "baseline", which
    // the deploy's pre-flight asks for (the runbook's pod security policy).
    namespaceLabels: { "pod-security.kubernetes.io/enforce": "baseline" },
    secrets: secretsOf(env),
    serviceAccounts,
    networkPolicies,
    loadBalancers,
    traffic: trafficSeed(env),
    ...gatewaySeed(env, app),
  };
}

function merge(a: NamespaceSeed, b: NamespaceSeed): NamespaceSeed {
  const byName = <T extends { name: string }>(x: readonly T[] = [], y: readonly T[] = []) => [
    ...x,
    ...y.filter((item) => !x.some((other) => other.name === item.name)),
  ];
  const secrets = (a.secrets ?? []).map((s) => {
    const other = b.secrets?.find((o) => o.name === s.name);
    return other ? { ...other, ...s, data: { ...other.data, ...s.data } } : s;
  });
  return {
    ...a,
    secrets: byName(secrets, b.secrets),
    serviceAccounts: byName(a.serviceAccounts, b.serviceAccounts),
    networkPolicies: byName(a.networkPolicies, b.networkPolicies),
    loadBalancers: byName(a.loadBalancers, b.loadBalancers),
    traffic: { ...b.traffic, ...a.traffic },
    namespaceLabels: { ...b.namespaceLabels, ...a.namespaceLabels },
  };
}

/**
 * The seed for a set of environments: one namespace each (environments that share a
 * namespace are merged: the first one's values win).
 *
 * @param envs The environments.
 * @returns The seed for `startSandbox({ seed })`.
 *
 * @example
 * ```ts
 * import { sandboxSeed } from "./sandbox_seed.ts";
 * import { parseEnvironment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const source = await Deno.readTextFile("tests/fixtures/second_project/environments/live.yml");
 * const seed = sandboxSeed([parseEnvironment(source, { name: "live", file: "live.yml" })]);
 * assert.deepEqual(seed.namespaces?.map((n) => n.name), ["shop-prod"]);
 * ```
 */
export function sandboxSeed(envs: readonly Environment[]): SandboxSeed {
  const namespaces = new Map<string, NamespaceSeed>();
  const images = new Map<string, Set<string>>();
  for (const env of envs) {
    const seed = namespaceSeed(env);
    const known = namespaces.get(seed.name);
    namespaces.set(seed.name, known ? merge(known, seed) : seed);
    for (const image of imageSeeds(env)) {
      // An image shared by environments requires what every one of them gives it.
      const known = images.get(image.repository);
      const names = new Set(image.requiredEnv.filter((n) => !known || known.has(n)));
      images.set(image.repository, names);
    }
  }
  return {
    namespaces: [...namespaces.values()],
    ...(images.size
      ? {
        images: [...images].map(([repository, names]) => ({ repository, requiredEnv: [...names] })),
      }
      : {}),
  };
}

/** An environment file {@linkcode loadSandboxSeed} left out: it does not load. */
export interface SkippedEnvironment {
  /** The environment's name. */
  readonly name: string;
  /** Its first problem, as `file:line:column: path: message`. */
  readonly problem: string;
  /** How many problems it has. */
  readonly problems: number;
}

/** What {@linkcode loadSandboxSeed} built, and which files it left out. */
export interface LoadedSandboxSeed {
  /** The seed. */
  readonly seed: SandboxSeed;
  /** The environment files that do not load, in the folder's order. */
  readonly skipped: readonly SkippedEnvironment[];
}

/**
 * The seed for every environment of a folder, and the files left out. A file that does not
 * load (it would be refused by any run that names it) is left out, so one broken file does
 * not keep the other environments from being rehearsed; it is returned in `skipped` so the
 * caller can say so ({@linkcode formatSkipped}).
 *
 * @param dir The environments folder (default `ENVIRONMENTS_DIR`, `environments`).
 * @returns The seed (no namespaces when the folder holds no valid environment) and the
 *   files left out.
 *
 * @example
 * ```ts
 * import { loadSandboxSeed } from "./sandbox_seed.ts";
 * import assert from "node:assert/strict";
 * const { seed, skipped } = await loadSandboxSeed("tests/fixtures/second_project/environments");
 * assert.deepEqual(seed.namespaces?.map((n) => n.name), ["shop-prod"]);
 * assert.deepEqual(skipped, []);
 * ```
 */
export async function loadSandboxSeed(dir: string = ENVIRONMENTS_DIR): Promise<LoadedSandboxSeed> {
  const envs: Environment[] = [];
  const skipped: SkippedEnvironment[] = [];
  for (const name of await listEnvironments({ dir })) {
    try {
      envs.push(await loadEnvironment(name, { dir }));
    } catch (error) {
      // Refused, with its problems listed, by any run that names it.
      if (!(error instanceof ConfigError)) throw error;
      skipped.push({
        name,
        problem: formatProblem(error.problems[0]!),
        problems: error.problems.length,
      });
    }
  }
  return { seed: sandboxSeed(envs), skipped };
}

/**
 * One line for an environment file the seed left out, with its first problem.
 *
 * @param skipped The file left out.
 * @returns The line (no newline).
 *
 * @example
 * ```ts
 * import { formatSkipped } from "./sandbox_seed.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatSkipped({ name: "qa", problem: "environments/qa.yml:3:9: database.port: expected an integer", problems: 2 }),
 *   'environment "qa" is left out of a fresh sandbox\'s seed: environments/qa.yml:3:9: database.port: expected an integer (and 1 more problem)',
 * );
 * ```
 */
export function formatSkipped(skipped: SkippedEnvironment): string {
  const more = skipped.problems - 1;
  return `environment "${skipped.name}" is left out of a fresh sandbox's seed: ${skipped.problem}${
    more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"})` : ""
  }`;
}

/**
 * The seed for every environment of a folder. A file that does not load (it would be
 * refused by any run that names it) is left out, so one broken file does not keep the other
 * environments from being rehearsed ({@linkcode loadSandboxSeed} also says which).
 *
 * @param dir The environments folder (default `ENVIRONMENTS_DIR`, `environments`).
 * @returns The seed; no namespaces when the folder holds no valid environment.
 *
 * @example
 * ```ts
 * import { sandboxSeedFromDir } from "./sandbox_seed.ts";
 * import assert from "node:assert/strict";
 * const seed = await sandboxSeedFromDir("tests/fixtures/second_project/environments");
 * assert.deepEqual(seed.namespaces?.map((n) => n.name), ["shop-prod"]);
 * assert.deepEqual(await sandboxSeedFromDir("/nonexistent"), { namespaces: [] });
 * ```
 */
export async function sandboxSeedFromDir(dir: string = ENVIRONMENTS_DIR): Promise<SandboxSeed> {
  return (await loadSandboxSeed(dir)).seed;
}
