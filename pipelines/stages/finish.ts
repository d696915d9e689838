/**
 * After the traffic moved: post-deployment validation and the old slot's scheduled
 * clean-up — and the handlers: the deploy lock, notifications and GitHub's deployment
 * status, whatever happened. The run record and the rollback are in `record.ts`.
 * @module
 */
import { type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability, LeaseHandle } from "../../lib/kubernetes/capability.ts";
import { cleanupExpiredSlots, scheduleCleanup } from "../../lib/kubernetes/strategies/mod.ts";
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
import { noSensitiveData, securityHeaders } from "../../checks/security.ts";
import { httpEndpoint, rateLimitHeaders } from "../../checks/http_endpoint.ts";
import { tlsCertificate } from "../../checks/tls.ts";
import { skip as skipOutcome } from "../../checks/_outcome.ts";
import {
  cronJobActive,
  objectsExist,
  PROMETHEUS_RULE,
  SERVICE_MONITOR,
} from "../../checks/cluster_objects.ts";
import type { Check } from "../../lib/dsl/types.ts";
import { redisPerformance } from "../../checks/redis.ts";
import {
  companionAddress,
  type ConfigMapReader,
  notRunning,
  readCompanions,
} from "../../lib/companions/discover.ts";
import type { NotificationsCapability } from "../../lib/capabilities/notifications.ts";
import type { DeployContext } from "./context.ts";
import type { Deployed } from "./rollout.ts";

/** The Lease that makes a deploy exclusive in its namespace. */
export const LOCK_NAME = "tracktion-deploy";

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

/** Takes the namespace's deploy lock; a second deploy is refused while it is held. */
export function lockStage(c: DeployContext, durationSeconds: number) {
  return stage("lock").uses("kubernetes")
    .describe(
      `take the ${LOCK_NAME} Lease (expires after ${
        Math.round(durationSeconds / 60)
      } min if the runner dies)`,
    )
    .run(async (ctx): Promise<LeaseHandle | null> => {
      if (ctx.dryRun) return null;
      const lease = await kube(ctx).acquireLease(c.namespace, LOCK_NAME, {
        holder: `${ctx.user}/${ctx.runId}`,
        durationSeconds,
      });
      ctx.log(`holding ${c.namespace}/${LOCK_NAME} until ${lease.expiresAt}`);
      return lease;
    });
}

/** Releases the lock at the very end, whatever happened. */
export function unlockStage(lock: Stage<LeaseHandle | null>, after: readonly Stage<unknown>[]) {
  return stage("unlock").finally().needs(lock, ...after).uses("kubernetes")
    .run(async (ctx) => {
      const lease = ctx.output(lock);
      if (lease) await kube(ctx).releaseLease(lease);
    });
}

/** A check that records why it did not run here (in the report, neither pass nor fail). */
function skip(name: string, why: string): Check {
  return { name, required: false, run: () => skipOutcome(why) };
}

/**
 * A `fetch` that reaches a Service through the API server's proxy (`services/<name>/proxy`):
 * in the sandbox, the load balancer stands for the public endpoint.
 */
function serviceProxyFetch(k: KubernetesCapability, namespace: string, port: number) {
  return async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const answer = await k.proxyGet(
      { namespace, kind: "services", name: url.hostname, port },
      `${url.pathname}${url.search}`,
    );
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
}

/**
 * The seed's "API functionality", "Performance" and "Security" validations on the public
 * endpoint (`environment.api_url`): health, response time < 2 s, a bad token refused,
 * rate-limit headers, TLS certificate (30 days), security headers, no secrets in /health. In
 * the sandbox the load balancer Service stands for it (reached through the API server's
 * proxy): its health and response time are real; the edge's own behaviour (authentication,
 * rate limits, headers, TLS) is not simulated there yet, so those only warn.
 */
function publicEndpointChecks(c: DeployContext, k: KubernetesCapability, apiUrl: string): Check[] {
  const lb = c.env.kubernetes?.load_balancer;
  const sandbox = c.sandbox;
  if (sandbox && !lb) {
    return [skip("public endpoint", "the environment names no load balancer for the sandbox")];
  }
  const base = sandbox ? `http://${lb!.name}` : apiUrl.replace(/\/+$/, "");
  const fetch = sandbox ? serviceProxyFetch(k, c.namespace, lb!.port) : undefined;
  const o = { ...(fetch ? { fetch } : {}) };
  const edge = { ...o, required: !sandbox };
  const url = new URL(apiUrl);
  const tls: Check = sandbox || url.protocol !== "https:"
    ? skip(
      "TLS certificate",
      sandbox
        ? "the sandbox's load balancer serves no TLS (its tls-certificates Secret is checked in pre-flight)"
        : `${apiUrl} is not https`,
    )
    : tlsCertificate(url.hostname, { port: Number(url.port || 443), minValidDays: 30 });
  return [
    serviceHealth(`${base}/health`, { ...o, name: "API health endpoint", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/health`, { ...o, name: "API response time", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/api/v1/user`, {
      ...edge,
      name: "API authentication",
      headers: { authorization: "Bearer test-token" },
      expectStatus: [401, 403],
    }),
    rateLimitHeaders(`${base}/api/v1/health`, edge),
    securityHeaders(`${base}/health`, { ...edge, name: "Security headers at the edge" }),
    noSensitiveData(`${base}/health`, { ...o, name: "No sensitive data exposure" }),
    tls,
  ];
}

/**
 * The seed's cluster-side validations: Prometheus target discovery (a ServiceMonitor) and
 * alert rules (a PrometheusRule) named after the app, and the backup CronJob. The sandbox
 * serves no Prometheus Operator kinds and seeds no backup CronJob yet: there they only warn.
 */
function clusterObjectChecks(c: DeployContext): Check[] {
  const required = !c.sandbox;
  const install = "the Prometheus Operator's CRDs (monitoring.coreos.com/v1)";
  const backup = c.env.backup?.cronjob;
  return [
    objectsExist(c.namespace, SERVICE_MONITOR, c.target.app, {
      name: "Prometheus target discovery",
      install,
      required,
    }),
    objectsExist(c.namespace, PROMETHEUS_RULE, c.target.app, {
      name: "Alert rules",
      install,
      required,
    }),
    backup
      ? cronJobActive(c.namespace, backup, { name: "Backup system operational", required })
      : skip("Backup system operational", "the environment names no backup CronJob (backup:)"),
  ];
}

/**
 * The seed's "Redis performance" (SET/GET/DEL < 100 ms) with the environment's password and
 * TLS: its Redis, or in the sandbox the companion found at run time (none: skipped, naming
 * what to install, as the pre-flight's Redis checks do).
 */
function redisValidation(c: DeployContext): Check {
  const options = { secretNamespace: c.namespace, name: "Redis performance" };
  if (c.redis) return redisPerformance(c.redis, options);
  const env = c.env.redis;
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
      return await redisPerformance({
        host: r.host,
        port: r.port,
        database: env.database,
        ...(env.password !== undefined ? { password: env.password } : {}),
        ssl: env.ssl ?? false,
        ...(r.ca ? { ca: r.ca } : {}),
      }, options).run(ctx);
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

/** The public endpoint's host:port, for the stage's network grant (outside the sandbox). */
function apiHost(c: DeployContext): string[] {
  const api = c.env.environment.api_url;
  if (!api || c.sandbox) return [];
  const url = new URL(api);
  return [`${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`];
}

/** Post-deployment validation: the runbook's checks, on the slot now live. */
export function validateStage(
  c: DeployContext,
  live: Stage<unknown>,
  deploys: readonly Stage<Deployed>[],
  migrate: Stage<{ toVersion: number | null }>,
) {
  const replicas = Object.values(c.env.infrastructure.replicas).reduce((a, b) => a + b, 0);
  return stage("validate").needs(live, migrate, ...deploys).uses("database")
    .uses("redis", c.redisSecret ? { kubernetes: { secrets: [c.redisSecret] } } : "kubernetes")
    .permissions({ net: [...apiHost(c), ...redisHost(c)] })
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
      ...clusterObjectChecks(c),
    )
    .run(async (ctx) => {
      if (ctx.dryRun) return;
      const k = kube(ctx);
      const schema = ctx.output(migrate).toVersion;
      await ctx.check(databaseSchemaVersion(schema === null ? {} : { expected: schema }));
      const api = c.env.environment.api_url;
      if (api) await Promise.all(publicEndpointChecks(c, k, api).map((check) => ctx.check(check)));
      for (const d of deploys.map((s) => ctx.output(s))) {
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
      noSensitiveData(`${base}/health`, { name: `${d.service}: no secrets in /health`, fetch }),
      securityHeaders(`${base}/health`, {
        name: `${d.service}: security headers`,
        required: false,
        fetch,
      }),
    );
  }
  return checks;
}

/**
 * Keeps the old slots for the rollback window (each marked with the time after which it may
 * go), then scales down every idle slot whose window has already passed (what `deno task
 * cleanup` does between deploys). Marking first: the slot traffic just left gets a fresh
 * window even if an earlier deploy had marked it.
 */
export function cleanupStage(
  c: DeployContext,
  after: Stage<unknown>,
  deploys: readonly Stage<Deployed>[],
) {
  return stage("schedule-cleanup").needs(after, ...deploys).uses("kubernetes")
    .describe(
      `keep the old slots for ${c.env.deployment.rollback_window.text}, then scale them down; ` +
        "scale down the idle slots whose window has passed",
    )
    .run(async (ctx) => {
      if (ctx.dryRun) return [];
      const scheduled = [];
      const now = new Date(ctx.now());
      for (const d of deploys.map((s) => ctx.output(s))) {
        if (d.previousSlot === null || d.previousSlot === d.slot) continue;
        const s = await scheduleCleanup(kube(ctx), {
          target: c.target,
          service: d.service,
          slot: d.previousSlot,
          now,
        });
        if (s) scheduled.push(s);
      }
      ctx.log(
        `scheduled: ${
          scheduled.map((s) => `${s.deployment} after ${s.deleteAfter}`).join(", ") || "nothing"
        }`,
      );
      const expired = await cleanupExpiredSlots(kube(ctx), { target: c.target, now });
      if (expired.length > 0) {
        ctx.notice(`rollback window over: scaled ${expired.join(", ")} to 0 replicas`);
      }
      return scheduled;
    });
}

/**
 * Tells Slack (and any configured notifier) a phase of the deploy, as the runbook's
 * `send_production_notification` does (started, each canary step, promoted): never fails
 * the stage. Delivery is retried by the notifier (network errors, 429, 5xx); what still did
 * not arrive is recorded in the stage's log as undelivered, with its attempts and error.
 *
 * @param ctx The stage (it must declare `uses("notifications")`).
 * @param c The deploy's context.
 * @param phase The phase (`started`, `canary-5`, `promoted`, ...), also a field of the message.
 * @param title The message's line.
 *
 * @example
 * ```ts ignore
 * await announce(ctx, c, "canary-5", "v1.2.4 canary-5 in production: 5% of traffic on the new slot");
 * ```
 */
export async function announce(
  ctx: StageContext,
  c: DeployContext,
  phase: string,
  title: string,
): Promise<void> {
  if (ctx.dryRun) return;
  const results = await ctx.use<NotificationsCapability>("notifications").notify({
    outcome: phase === "started" ? "started" : "info",
    title,
    environment: c.env.name,
    version: c.version.tag,
    pipeline: ctx.pipeline,
    runId: ctx.runId,
    user: ctx.user,
    details: { Phase: phase },
  }).catch((err: Error) => {
    ctx.warn(`${phase}: notifications failed (the deploy is not affected): ${err.message}`);
    return [];
  });
  for (const r of results) {
    if (r.skipped) continue;
    if (r.ok) ctx.log(`${phase}: ${r.channel} notified (${r.attempts} attempt(s))`);
    else {
      ctx.warn(
        `${phase}: ${r.channel} undelivered after ${r.attempts} attempt(s): ${
          r.error ?? "failed"
        } (the deploy is not affected)`,
      );
    }
  }
}

/** Tells GitHub (when configured) and Slack that the deploy started; never fails the deploy. */
export function githubStartStage(c: DeployContext, lock: Stage<unknown>) {
  return stage("github:start").needs(lock).uses("github", "notifications").run(async (ctx) => {
    if (ctx.dryRun) return;
    await announce(
      ctx,
      c,
      "started",
      `Deploy of ${c.version.tag} to ${c.env.name} started (${c.env.deployment.strategy})`,
    );
    const r = await ctx.use<
      { start(v: string, e: string): Promise<{ ok: boolean; error?: string }> }
    >("github")
      .start(c.version.tag, c.env.name).catch((e: Error) => ({ ok: false, error: e.message }));
    if (!r.ok) ctx.warn(`GitHub not told: ${r.error}`);
  });
}

/** Notifications and GitHub's final status, whatever happened; never fails the deploy. */
export function reportStages(c: DeployContext, after: readonly Stage<unknown>[]) {
  const summary = (ctx: StageContext) =>
    ctx.failures.length === 0
      ? `${c.version.tag} deployed to ${c.env.name}`
      : `${c.version.tag} to ${c.env.name} failed: ${
        ctx.failures.map((f) => `${f.stage}: ${f.message}`).join("; ")
      }`;
  const rollback = after[0]!;
  const notify = stage("notify").finally().needs(...after).uses("notifications").run(
    async (ctx) => {
      if (ctx.dryRun) return;
      const failed = ctx.failures.length > 0;
      const rolledBack = failed && ctx.output(rollback) !== undefined;
      const results = await ctx.use<NotificationsCapability>("notifications").notify({
        outcome: !failed ? "succeeded" : rolledBack ? "rolled_back" : "failed",
        title: summary(ctx),
        environment: c.env.name,
        version: c.version.tag,
        pipeline: ctx.pipeline,
        runId: ctx.runId,
        user: ctx.user,
        ...(failed ? { text: ctx.failures.map((f) => `${f.stage}: ${f.message}`).join("\n") } : {}),
      }).catch((err: Error) => {
        ctx.warn(`notifications failed (the deploy is not affected): ${err.message}`);
        return [];
      });
      for (const r of results) {
        if (r.ok) ctx.log(`notified ${r.channel}`);
        else {ctx.warn(
            `${r.channel} not notified (the deploy is not affected): ${r.error ?? "failed"}`,
          );}
      }
    },
  );
  const github = stage("github:finish").finally().needs(...after).uses("github").run(
    async (ctx) => {
      if (ctx.dryRun) return;
      const r = await ctx.use<
        { status(s: string, d: string): Promise<{ ok: boolean; error?: string }> }
      >("github")
        .status(ctx.failures.length === 0 ? "success" : "failure", summary(ctx).slice(0, 140))
        .catch((e: Error) => ({ ok: false, error: e.message }));
      if (!r.ok) ctx.warn(`GitHub not told: ${r.error}`);
    },
  );
  return [notify, github];
}
