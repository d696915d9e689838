/**
 * Pre-flight: the runbook's `pre_deployment_checks.sh`, as independent stages that run
 * at the same time, each with only what it needs. Required checks block the deploy
 * before anything changes; non-critical ones warn.
 * @module
 */
import { type Check, type Stage, stage } from "../../mod.ts";
import {
  clusterReachable,
  clusterVersion,
  loadBalancerReady,
  namespaceExists,
  networkPoliciesExist,
  nodeCapacity,
  rbacBindingsExist,
  secretsExist,
  tlsCertificateValid,
} from "../../checks/kubernetes.ts";
import {
  databaseConnectionPool,
  databaseConnectivity,
  databasePerformance,
} from "../../checks/database.ts";
import { redisConnectivity, redisMemory, type RedisTarget } from "../../checks/redis.ts";
import {
  ALERTMANAGER_PORT,
  companionAddress,
  type ConfigMapReader,
  notRunning,
  PROMETHEUS_PORT,
  type PublishedCompanions,
  readCompanions,
  REGISTRY_PORT,
} from "../../lib/companions/discover.ts";
import { alertmanagerHealthy, grafanaHealthy, prometheusHealthy } from "../../checks/monitoring.ts";
import { liveServiceHealth } from "../../checks/live_service.ts";
import { podSecurityEnforced } from "../../checks/pod_security.ts";
import { SERVICE_PORT } from "../../lib/kubernetes/slots.ts";
import {
  imageExists,
  imageSignature,
  imageVulnerabilities,
  noLatestTag,
} from "../../checks/images.ts";
import { imageSignedBy } from "../../checks/image_signature.ts";
import { buildDigestsCheck } from "./images.ts";
import type { DatabaseCapability } from "../../lib/capabilities/database.ts";
import { companionRedisTarget, type DeployContext } from "./context.ts";

/**
 * What the environment file says the namespace holds before a deploy (`kubernetes.secrets`,
 * `service_account`, `network_policies`, `load_balancer`): the cluster pre-flight checks the
 * secrets' names, each TLS secret's certificate, the role bindings named after the service
 * account, the network policies by name and the load balancer. The runbook requires these
 * checks, so a file that leaves one out is refused when the pipeline is built (exit 2,
 * nothing run), not skipped.
 */
function namespaceExpectations(env: DeployContext["env"]) {
  const k = env.kubernetes;
  const secrets = Object.keys(k?.secrets ?? {}).sort();
  const tls = Object.entries(k?.secrets ?? {}).filter(([, s]) => "tls" in s).map(([n]) => n);
  const missing = [
    ...(secrets.length ? [] : ["secrets"]),
    ...(tls.length ? [] : ["secrets.<name>: { tls: <common name> }"]),
    ...(k?.service_account ? [] : ["service_account"]),
    ...(k?.load_balancer ? [] : ["load_balancer"]),
  ];
  if (missing.length > 0) {
    throw new Error(
      `environments/${env.name}.yml declares no kubernetes.${missing.join(", kubernetes.")}: ` +
        "the cluster pre-flight checks what the namespace must hold; declare it (see the README's " +
        '"Environment files")',
    );
  }
  return {
    secrets,
    tls,
    loadBalancer: k!.load_balancer!.name,
    serviceAccount: k!.service_account!,
    networkPolicies: Object.keys(k?.network_policies ?? {}).sort(),
  };
}

/**
 * The migration linter over the migrations not applied yet: risky DDL blocks
 * environments that set `deployment.require_confirmation` (production) unless the migration
 * carries a reviewed override (recorded as evidence) — the same rule as `deno task migrate`.
 */
function migrationsLint(blocking: boolean): Check {
  return {
    name: "Migrations lint",
    required: blocking,
    run: async (ctx) => {
      const findings = await ctx.use<DatabaseCapability>("database").lint("migrations") as {
        rule: string;
        severity: string;
        file: string;
        line: number;
        message: string;
        overriddenBy?: unknown;
      }[];
      const blocking = findings.filter((f) => f.severity === "error" && !f.overriddenBy);
      const overridden = findings.filter((f) => f.overriddenBy);
      return {
        ok: blocking.length === 0,
        message: blocking.length === 0
          ? `${findings.length} finding(s) on pending migrations, none blocking${
            overridden.length ? ` (${overridden.length} overridden after review)` : ""
          }`
          : `risky DDL: ${blocking.map((f) => `${f.file}:${f.line} ${f.rule}`).join("; ")}`,
        evidence: { findings },
      };
    },
  };
}

function skipped(name: string, why: string): Check {
  return { name, required: false, run: () => ({ ok: true, skipped: true, message: why }) };
}

/** Why a sandbox has no companions to check against. */
const NO_COMPANIONS = "the sandbox runs no companions (they start with a sandbox that --sandbox " +
  "starts in this process, not with one started by deno task sandbox)";

/**
 * A check against one of the sandbox's companions, found at run time in the namespace's
 * `sandbox-companions` ConfigMap (their ports are chosen when they start): the check `make`
 * builds from it runs as in production. Not running: skipped with the reason (the Debian
 * package to install); failed to start: failed. `name` and `required` are the real check's.
 */
function onCompanion<K extends keyof PublishedCompanions>(
  c: DeployContext,
  kind: K,
  like: Check,
  make: (
    found: Exclude<NonNullable<PublishedCompanions[K]>, { skipped: string } | { failed: string }>,
  ) => Check,
): Check {
  return {
    name: like.name,
    required: like.required ?? true,
    run: async (ctx) => {
      const found = await readCompanions(ctx.use<ConfigMapReader>("kubernetes"), c.namespace);
      const entry = found?.[kind];
      if (!entry) {
        return { ok: true, skipped: true, message: `${NO_COMPANIONS}: ${like.name} not run` };
      }
      const off = notRunning(entry as object);
      if (off && "skipped" in off) return { ok: true, skipped: true, message: off.skipped };
      if (off && "failed" in off) return { ok: false, message: off.failed };
      return await make(entry as never).run(ctx);
    },
  };
}

function redisChecks(c: DeployContext, target: RedisTarget | undefined): Check[] {
  const options = { secretNamespace: c.namespace };
  const connectivity = (t: RedisTarget) => redisConnectivity(t, options);
  const memory = (t: RedisTarget) =>
    redisMemory(t, { ...options, maxUsedPercent: 90, required: false });
  if (target) return [connectivity(target), memory(target)];
  // The sandbox's Redis, reached with the environment's password (its Secret) and TLS.
  const at = (r: { host: string; port: number; ca?: string }) => companionRedisTarget(c, r);
  const probe = {
    host: companionAddress(c.namespace, "redis", c.companionScope),
    port: c.env.redis.port,
  };
  return [
    onCompanion(c, "redis", connectivity(probe), (r) => connectivity(at(r))),
    onCompanion(c, "redis", memory(probe), (r) => memory(at(r))),
  ];
}

/** The sandbox's Prometheus or Alertmanager (`host:port`), shared by its namespaces. */
function sandboxMonitor(c: DeployContext, kind: "prometheus" | "alertmanager"): string {
  const port = kind === "prometheus" ? PROMETHEUS_PORT : ALERTMANAGER_PORT;
  return `${companionAddress("*", kind, c.companionScope)}:${port}`;
}

function sandboxMonitoringChecks(c: DeployContext): Check[] {
  const url = (kind: "prometheus" | "alertmanager") => `http://${sandboxMonitor(c, kind)}`;
  return [
    onCompanion(
      c,
      "prometheus",
      prometheusHealthy(url("prometheus")),
      () => prometheusHealthy(url("prometheus")),
    ),
    skipped(
      "Grafana accessible",
      "Grafana is not packaged by Debian, so the sandbox runs none: this check is " +
        "non-critical (it warns in production) and is not rehearsed",
    ),
    onCompanion(
      c,
      "alertmanager",
      alertmanagerHealthy(url("alertmanager"), { required: false }),
      () => alertmanagerHealthy(url("alertmanager"), { required: false }),
    ),
  ];
}

/** The public keys a deployed image's signature must verify with (`deployment.image_signing`). */
function signingKeys(c: DeployContext): string[] {
  return c.env.deployment.image_signing?.public_keys ?? [];
}

/** The sandbox's registry for the namespace (`host:port`). */
function sandboxRegistry(c: DeployContext): string {
  return `${companionAddress(c.namespace, "registry", c.companionScope)}:${REGISTRY_PORT}`;
}

function sandboxImageChecks(c: DeployContext, image: string, production: boolean): Check[] {
  return [
    onCompanion(
      c,
      "registry",
      imageExists(image),
      () => imageExists(image, { mirror: sandboxRegistry(c) }),
    ),
    onCompanion(
      c,
      "registry",
      imageSignature(image, { required: production }),
      // The environment's keys, and those of what the sandbox's registry holds (its stand-ins'
      // and the builds made in this sandbox): the digest deployed is the one verified.
      (r) =>
        imageSignedBy(image, [...signingKeys(c), r.publicKey], {
          required: production,
          mirror: r.host,
          cosign: false,
        }),
    ),
    skipped(
      `Image vulnerability scan: ${image}`,
      "the sandbox's images are stand-ins with no file system to scan; grype (not packaged " +
        "by Debian: https://github.com/anchore/grype) scans the real image outside the sandbox",
    ),
  ];
}

/** The pre-flight stages; all need `lock` and nothing else, so they run concurrently. */
export function preflightStages(c: DeployContext, lock: Stage<unknown>): Stage<unknown>[] {
  const { env, namespace } = c;
  const expect = namespaceExpectations(env);
  // Reads the values of the TLS Secrets only: the certificates it checks.
  const cluster = stage("preflight:cluster").needs(lock)
    .uses({ kubernetes: { secrets: expect.tls } })
    .describe(
      "cluster, namespace, secrets, TLS, capacity, load balancer, RBAC, network policies, " +
        "pod security" +
        (env.name === "production" ? "" : ", the live services' health"),
    )
    .check(
      clusterReachable(),
      clusterVersion({ min: "1.24" }),
      namespaceExists(namespace),
      secretsExist(namespace, expect.secrets),
      ...expect.tls.map((secret, i) =>
        tlsCertificateValid(namespace, secret, {
          minDays: 30,
          ...(i > 0 ? { name: `TLS certificates valid (${secret})` } : {}),
        })
      ),
      nodeCapacity("cpu", { maxPercent: 80 }),
      nodeCapacity("memory", { maxPercent: 80 }),
      loadBalancerReady(namespace, expect.loadBalancer),
      rbacBindingsExist(namespace, expect.serviceAccount),
      networkPoliciesExist(namespace, { names: expect.networkPolicies }),
      // The runbook's "Pod security policies": PodSecurityPolicy is gone since 1.25 (below
      // the supported range); its successor, Pod Security Admission, at least "baseline".
      podSecurityEnforced(namespace, { minimum: "baseline" }),
      // The runbook's "Service health: <service>", outside production only (there the
      // services "might not be running yet"): what is live is healthy before the next goes in.
      ...(env.name === "production"
        ? []
        : c.services.map((s) => liveServiceHealth(namespace, s, { port: SERVICE_PORT }))),
    );
  const database = stage("preflight:database").needs(lock).uses("database")
    .describe("database connectivity, connection pool, performance baseline")
    .check(
      databaseConnectivity({ maxLatencyMs: 1_000 }),
      // Every replica's pool at its largest, plus room for tooling: more means a leak.
      databaseConnectionPool({
        maxConnections: Object.values(env.infrastructure.replicas).reduce((a, b) => a + b, 0) *
            env.database.connection_pool.max_size + 10,
      }),
      databasePerformance({ maxLatencyMs: 500, required: false }),
      migrationsLint(env.deployment.require_confirmation),
    );
  const redisTarget = c.redis;
  // Its password is read from the namespace's Secret when the environment names one; in the
  // sandbox the companion's port is found at run time (on loopback).
  const redisAt = redisTarget ??
    (c.sandbox
      ? { host: companionAddress(namespace, "redis", c.companionScope), port: env.redis.port }
      : undefined);
  const redis = stage("preflight:redis").needs(lock)
    .uses("redis", c.redisSecret ? { kubernetes: { secrets: [c.redisSecret] } } : "kubernetes")
    .permissions(redisAt ? { net: [`${redisAt.host}:${redisAt.port}`] } : {})
    .describe("Redis connectivity and memory, with its password and TLS")
    .check(...redisChecks(c, redisTarget));
  const monitoringHosts = [env.monitoring.grafana_url, env.monitoring.alertmanager_url].map((u) => {
    const url = new URL(u);
    return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  });
  const monitoring = c.sandbox
    ? stage("preflight:monitoring").needs(lock).uses("metrics", "kubernetes")
      .permissions({ net: [sandboxMonitor(c, "prometheus"), sandboxMonitor(c, "alertmanager")] })
      .describe(
        "Prometheus and Alertmanager are healthy (the sandbox's own); Grafana is not packaged",
      )
      .check(...sandboxMonitoringChecks(c))
    : stage("preflight:monitoring").needs(lock).uses("metrics")
      .permissions({ net: monitoringHosts })
      .describe("Prometheus, Grafana and Alertmanager are healthy")
      .check(
        prometheusHealthy(env.monitoring.prometheus_url),
        grafanaHealthy(env.monitoring.grafana_url, { required: false }),
        alertmanagerHealthy(env.monitoring.alertmanager_url, { required: false }),
      );
  const registry = env.deployment.image_registry.split("/")[0]!;
  const images = Object.values(c.images);
  const production = env.name === "production";
  const imageStage = stage("preflight:images").needs(lock)
    .describe("images exist, are signed (cosign) and pass the vulnerability scan (grype)")
    .check(
      noLatestTag(images),
      // Production deploys only what a build recorded (outside the sandbox: refused by tag).
      buildDigestsCheck(c.build, env.name, { required: production && !c.sandbox }),
      ...(c.sandbox
        ? images.flatMap((image) => sandboxImageChecks(c, image, production))
        : images.flatMap((image) => [
          imageExists(image),
          production || env.deployment.image_signing
            ? imageSignedBy(image, signingKeys(c), { required: production })
            : imageSignature(image, { required: production }),
          imageVulnerabilities(image, { failOn: "high", required: production }),
        ])),
    );
  return [
    cluster,
    database,
    redis,
    monitoring,
    // The sandbox's registry: found through the namespace, on loopback.
    c.sandbox
      ? imageStage.uses("kubernetes").permissions({ net: [sandboxRegistry(c)] })
      : imageStage.permissions({
        net: [`${registry}:443`],
        run: ["cosign", "grype"],
      }),
  ];
}
