/**
 * Tracktion's deploy, as code: what the runbook's `deploy.sh`,
 * `deploy_production.sh`, `pre_deployment_checks.sh` and
 * `post_deployment_validation.sh` did, in parallel where they can, failing closed
 * where the scripts failed open.
 *
 * lock → pre-flight (cluster, database, Redis, monitoring, images, backups, network,
 * storage, and where the file names `deployment.promote_from` the production gate: the same
 * version succeeded in staging; concurrently) → confirmation (production) → migrations → the run record (what is live, before anything
 * moves) → every service's idle slot (concurrently, and beside them the app's ServiceMonitor
 * and PrometheusRule) → traffic: blue-green switch, or canary 5% → 20% → 100% gated on error
 * rate and p95 latency, the four services in lockstep → validation → record → clean-up
 * schedule; on failure or interrupt: traffic
 * back to what the run record says was live; always: notifications, GitHub status, unlock.
 * @module
 */
import { pipeline, type Stage, stage } from "../mod.ts";
import { type DeployContext, deployContext } from "./stages/context.ts";
import type { KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { applyMonitoring } from "../lib/kubernetes/monitoring.ts";
import type { AlertThresholds } from "../lib/kubernetes/manifests_monitoring.ts";
import type { MonitoringSpec } from "../lib/monitoring/spec.ts";
import { metrics } from "./metrics.ts";
import { preflightStages } from "./stages/preflight.ts";
import { runbookPreflightStages } from "./stages/preflight_runbook.ts";
import { productionGateStage } from "./stages/production_gate.ts";
import {
  CANARY_STEPS,
  canaryStages,
  deployStages,
  gateKindOf,
  migrateStage,
  switchStage,
} from "./stages/rollout.ts";
import {
  cleanupStage,
  githubStartStage,
  lockSeconds,
  lockStage,
  reportStages,
  unlockStage,
  validateStage,
} from "./stages/finish.ts";
import {
  preflightRecordStage,
  recordStage,
  recordStartStage,
  rollbackStage,
} from "./stages/record.ts";

export { metrics } from "./metrics.ts";

/** The phrase production needs, typed at a terminal or given with `--confirm`. */
export const PRODUCTION_PHRASE = "DEPLOY TO PRODUCTION";

/**
 * When the app's alerts fire: above the runbook's canary thresholds at their loosest (its first
 * step: error rate < 1%, p95 < 2000 ms, which `deploy_production.sh` also fails a canary on), for
 * 5 minutes. A version that passed the canary stays under them.
 */
export const ALERT_THRESHOLDS: AlertThresholds = {
  errorRatePercent: parseFloat(CANARY_STEPS[0].errorRate),
  p95LatencyMs: parseFloat(CANARY_STEPS[0].p95),
  for: "5m",
};

/**
 * The app's monitoring objects, beside the slots, as `deno task monitoring render` generates
 * them: a ServiceMonitor `<app>-<service>` per service, the PrometheusRule `<app>-alerts` (the
 * declared metrics beyond {@linkcode ALERT_THRESHOLDS}, the loosest canary gates; pod restarts,
 * crash loops, a failed deploy) and the dashboard ConfigMap `<app>-dashboard`; what an earlier
 * deploy generated and this one does not is pruned (server-side apply; a dry run has the server
 * check them and keeps and deletes nothing).
 */
function monitoringStage(c: DeployContext, after: Stage<unknown>) {
  const app = c.target.app;
  const { errorRatePercent, p95LatencyMs } = ALERT_THRESHOLDS;
  const spec: MonitoringSpec = {
    metrics,
    bounds: {
      error_rate: {
        operator: "<",
        threshold: errorRatePercent,
        source: `error_rate < ${errorRatePercent}%`,
      },
      p95_latency: {
        operator: "<",
        threshold: p95LatencyMs,
        source: `p95_latency < ${p95LatencyMs}ms`,
      },
    },
    ...(ALERT_THRESHOLDS.for ? { for: ALERT_THRESHOLDS.for } : {}),
  };
  return stage("monitoring").needs(after).uses("kubernetes")
    .describe(
      `apply the ServiceMonitors ${app}-<service>, the PrometheusRule ${app}-alerts (error rate ` +
        `>= ${errorRatePercent}%, p95 >= ${p95LatencyMs} ms, restarts, crash loops, a failed ` +
        `deploy) and the dashboard ConfigMap ${app}-dashboard`,
    )
    .run(async (ctx) => {
      const k = ctx.use<KubernetesCapability>("kubernetes");
      const { applied, pruned } = await applyMonitoring(k, c.target, spec, {
        dryRun: ctx.dryRun,
      });
      const verb = ctx.dryRun ? "would apply (checked by the server)" : "applied";
      ctx.notice(`${verb} ${applied.join(", ")}`);
      if (pruned.length > 0) {
        ctx.notice(`${ctx.dryRun ? "would delete" : "deleted"} ${pruned.join(", ")}`);
      }
      return { applied, pruned };
    });
}

export default pipeline("deploy", ({ env, version, options }) => {
  const c = deployContext(env, version!, options);
  const canary = env.deployment.strategy === "canary";
  const lock = lockStage(c, lockSeconds(options), options["lock-seconds"] !== undefined);
  const gate = productionGateStage(c, lock);
  const preflight = [
    ...preflightStages(c, lock),
    ...runbookPreflightStages(c, lock, options),
    preflightRecordStage(c, lock),
    ...(gate ? [gate] : []),
  ];
  const github = githubStartStage(c, lock);
  const confirm = stage("confirm").needs(...preflight)
    .when(env.deployment.require_confirmation, `${env.name} needs no typed confirmation`)
    .approval({
      phrase: PRODUCTION_PHRASE,
      message: `Deploying ${
        version!.tag
      } to ${env.name} (${c.namespace}, ${env.deployment.strategy}).`,
    });
  const migrate = migrateStage(c, confirm);
  const start = recordStartStage(c, migrate);
  const deploys = deployStages(c, start);
  const monitoring = monitoringStage(c, start);
  const traffic: Stage<unknown>[] = canary
    ? canaryStages(c, deploys, gateKindOf(options))
    : [switchStage(c, deploys)];
  const live = traffic.at(-1)!;
  const validate = validateStage(c, live, deploys, migrate, [monitoring]);
  const record = recordStage(c, validate, deploys);
  const cleanup = cleanupStage(c, record, deploys);

  const rollback = rollbackStage(c, start, [
    ...deploys,
    monitoring,
    ...traffic,
    validate,
    record,
  ]);
  const [notify, githubFinish] = reportStages(c, [rollback]);
  const unlock = unlockStage(lock, [notify!, githubFinish!]);
  return [
    lock,
    ...preflight,
    github,
    confirm,
    migrate,
    start,
    ...deploys,
    monitoring,
    ...traffic,
    validate,
    record,
    cleanup,
    rollback,
    notify!,
    githubFinish!,
    unlock,
  ];
});
