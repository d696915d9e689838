/**
 * Post-deployment validation: the runbook's checks on the slot now live — each service's pods,
 * health, metrics and labels; the public endpoint (health, response time, authentication,
 * rate limits, security headers, TLS); the database's performance and pool; Redis; the
 * monitoring objects (ServiceMonitor targets, alert rules), the main service's logs
 * (collected, structured) and the backup CronJob.
 * @module
 */
import { type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { SERVICE_PORT } from "../../lib/kubernetes/slots.ts";
import { podProxyFetch } from "../../lib/kubernetes/proxy_fetch.ts";
import {
  deploymentLabels,
  endpointsReady,
  noLatestImages,
  podsReady,
  resourceUsage,
} from "../../checks/kubernetes_workloads.ts";
import {
  databaseConnectionPool,
  databasePerformance,
  databaseSchemaVersion,
} from "../../checks/database.ts";
import { metricsEndpoint, serviceHealth } from "../../checks/service.ts";
import { noSensitiveData } from "../../checks/security.ts";
import { publicEndpointChecks, publicEndpointHosts } from "./validate_public.ts";
import { skip as skipOutcome } from "../../checks/_outcome.ts";
import { alertRules, cronJobActive, serviceMonitorTargets } from "../../checks/cluster_objects.ts";
import { logsCollected, structuredLogs } from "../../checks/logs.ts";
import type { Check } from "../../lib/dsl/types.ts";
import { redisPerformance } from "../../checks/redis.ts";
import {
  companionAddress,
  type ConfigMapReader,
  notRunning,
  readCompanions,
} from "../../lib/companions/discover.ts";
import { companionRedisTarget, type DeployContext } from "./context.ts";
import type { Deployed } from "./rollout.ts";

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

/** A check that records why it did not run here (in the report, neither pass nor fail). */
function skip(name: string, why: string): Check {
  return { name, required: false, run: () => skipOutcome(why) };
}

/**
 * The seed's monitoring validations, after the deploy (not in a dry run, which applies
 * nothing): Prometheus target discovery (the ServiceMonitor named after the app selects
 * Services with ready endpoints) and alert rules (its PrometheusRule holds alerts). The
 * `monitoring` stage applied both; the sandbox serves the Prometheus Operator's kinds, so
 * they are required everywhere.
 */
function monitoringChecks(c: DeployContext): Check[] {
  const install = "the Prometheus Operator's CRDs (monitoring.coreos.com/v1)";
  return [
    serviceMonitorTargets(c.namespace, c.target.app, {
      name: "Prometheus target discovery",
      install,
    }),
    alertRules(c.namespace, c.target.app, { name: "Alert rules", install }),
  ];
}

/**
 * The seed's log aggregation validations on the app's main service (its first, the runbook's
 * analysis-service), on the slot now live: a pod has logged in its last 10 lines, and its
 * last line is JSON with an ISO-8601 timestamp.
 */
function logChecks(c: DeployContext, deployed: readonly Deployed[]): Check[] {
  const main = deployed.find((d) => d.service === c.services[0]) ?? deployed[0];
  if (!main) return [];
  const selector = `service=${main.service},slot=${main.slot}`;
  return [
    logsCollected(c.namespace, selector, { name: "Logs are being collected", tailLines: 10 }),
    structuredLogs(c.namespace, selector, { name: "Structured logging format" }),
  ];
}

/** The backup CronJob (the sandbox seeds none: there it only warns). */
function backupCheck(c: DeployContext): Check {
  const backup = c.env.backup?.cronjob;
  return backup
    ? cronJobActive(c.namespace, backup, {
      name: "Backup system operational",
      required: !c.sandbox,
    })
    : skip("Backup system operational", "the environment names no backup CronJob (backup:)");
}

/**
 * The seed's "Redis performance" (SET/GET/DEL < 100 ms) with the environment's password and
 * TLS: its Redis, or in the sandbox the companion found at run time (none: skipped, naming
 * what to install, as the pre-flight's Redis checks do).
 */
function redisValidation(c: DeployContext): Check {
  const options = { secretNamespace: c.namespace, name: "Redis performance" };
  if (c.redis) return redisPerformance(c.redis, options);
  return {
    name: options.name,
    required: true,
    run: async (ctx) => {
      const found = (await readCompanions(ctx.use<ConfigMapReader>("kubernetes"), c.namespace))
        ?.redis;
      const off = found ? notRunning(found) : { skipped: "the sandbox runs no companions" };
      if (off && "skipped" in off) return { ok: true, skipped: true, message: off.skipped };
      if (off && "failed" in off) return { ok: false, message: off.failed };
      const r = found as { host: string; port: number; ca?: string };
      return await redisPerformance(companionRedisTarget(c, r), options).run(ctx);
    },
  };
}

/** Where the stage's Redis check connects (`host:port`), for its network grant. */
function redisHost(c: DeployContext): string[] {
  const at = c.redis ??
    (c.sandbox
      ? { host: companionAddress(c.namespace, "redis", c.companionScope), port: c.env.redis.port }
      : undefined);
  return at ? [`${at.host}:${at.port}`] : [];
}

/**
 * Post-deployment validation: the runbook's checks, on the slot now live (after `after` too:
 * the stage that applied the monitoring objects).
 */
export function validateStage(
  c: DeployContext,
  live: Stage<unknown>,
  deploys: readonly Stage<Deployed>[],
  migrate: Stage<{ toVersion: number | null }>,
  after: readonly Stage<unknown>[] = [],
) {
  const replicas = Object.values(c.env.infrastructure.replicas).reduce((a, b) => a + b, 0);
  return stage("validate").needs(live, migrate, ...deploys, ...after).uses("database")
    .uses("redis", c.redisSecret ? { kubernetes: { secrets: [c.redisSecret] } } : "kubernetes")
    .permissions({ net: [...publicEndpointHosts(c), ...redisHost(c)] })
    .describe(
      "pods, endpoints, labels, images, resources, schema, database performance and pool, Redis, " +
        "health, metrics, headers, the public endpoint, monitoring objects, backups",
    )
    .check(
      noLatestImages(c.namespace),
      resourceUsage(c.namespace, { required: false }),
      // The seed's query, under its 1 s bound.
      databasePerformance({
        sql: "SELECT COUNT(*) FROM audio_files",
        maxLatencyMs: 1_000,
        name: "Database performance",
      }),
      // The seed asserts < 20 connections, one pod's pool: with every replica's pool
      // (max_size each) connected, that fails a healthy fleet; as the pre-flight, every
      // replica's pool at its largest plus room for tooling is the bound, more is a leak.
      databaseConnectionPool({
        maxConnections: replicas * c.env.database.connection_pool.max_size + 10,
        name: "Database connection pool",
      }),
      redisValidation(c),
      backupCheck(c),
    )
    .run(async (ctx) => {
      if (ctx.dryRun) return;
      const k = kube(ctx);
      const schema = ctx.output(migrate).toVersion;
      await ctx.check(databaseSchemaVersion(schema === null ? {} : { expected: schema }));
      const api = c.env.environment.api_url;
      if (api) await Promise.all(publicEndpointChecks(c, k, api).map((check) => ctx.check(check)));
      const deployed = deploys.map((s) => ctx.output(s));
      await Promise.all(
        [...monitoringChecks(c), ...logChecks(c, deployed)].map((check) => ctx.check(check)),
      );
      for (const d of deployed) {
        await Promise.all(
          (await slotChecks(c, k, d)).map((check) => ctx.check(check)),
        );
      }
    });
}

/** Per service: pods ready, endpoints, labels, and one pod's health, metrics and headers. */
async function slotChecks(c: DeployContext, k: KubernetesCapability, d: Deployed) {
  const selector = `service=${d.service},slot=${d.slot}`;
  const checks = [
    podsReady(c.namespace, selector, { name: `${d.service}: pods ready`, allReady: true }),
    endpointsReady(c.namespace, d.service, { name: `${d.service}: endpoints` }),
    deploymentLabels(c.namespace, selector, {
      app: true,
      service: d.service,
      slot: d.slot,
      version: c.version.version,
    }, { name: `${d.service}: labels` }),
  ];
  // One pod of the slot, asked through the API server's proxy (no network grant).
  const pods = await k.list({ apiVersion: "v1", kind: "Pod" }, c.namespace, {
    labelSelector: selector,
  });
  const pod = pods.find((p) => !p.metadata.deletionTimestamp)?.metadata.name;
  if (pod) {
    const base = `http://${pod}:${SERVICE_PORT}`;
    const fetch = podProxyFetch(k, c.namespace);
    checks.push(
      serviceHealth(`${base}/health`, {
        name: `${d.service}: health`,
        expectedVersion: c.version.version,
        fetch,
      }),
      metricsEndpoint(`${base}/metrics`, { name: `${d.service}: metrics endpoint`, fetch }),
      // The security headers are the edge's (the runbook asks them of $BASE_URL, "Security
      // headers at the edge"): a pod behind the gateway answers without them, as real ones do.
      noSensitiveData(`${base}/health`, { name: `${d.service}: no secrets in /health`, fetch }),
    );
  }
  return checks;
}
