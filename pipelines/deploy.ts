/**
 * Tracktion's deploy, as code: what the runbook's `deploy.sh`,
 * `deploy_production.sh`, `pre_deployment_checks.sh` and
 * `post_deployment_validation.sh` did, in parallel where they can, failing closed
 * where the scripts failed open.
 *
 * lock → pre-flight (cluster, database, Redis, monitoring, images, backups, network,
 * storage, and where the file names `deployment.promote_from` the production gate: the same
 * version succeeded in staging; concurrently) → confirmation (production) → migrations → the run record (what is live, before anything
 * moves) → every service's idle slot (concurrently) → traffic: blue-green switch, or
 * canary 5% → 20% → 100% gated on error rate and p95 latency, the four services in
 * lockstep → validation → record → clean-up schedule; on failure or interrupt: traffic
 * back to what the run record says was live; always: notifications, GitHub status, unlock.
 * @module
 */
import { pipeline, type Stage, stage } from "../mod.ts";
import { deployContext } from "./stages/context.ts";
import { preflightStages } from "./stages/preflight.ts";
import { runbookPreflightStages } from "./stages/preflight_runbook.ts";
import { productionGateStage } from "./stages/production_gate.ts";
import {
  canaryStages,
  deployStages,
  gateKindOf,
  migrateStage,
  switchStage,
} from "./stages/rollout.ts";
import {
  cleanupStage,
  githubStartStage,
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

export default pipeline("deploy", ({ env, version, options }) => {
  const c = deployContext(env, version!, options);
  const canary = env.deployment.strategy === "canary";
  const analysisMinutes = canary ? 15 + 30 + 10 : 0;
  const lockSeconds = Number(options["lock-seconds"] ?? 0) ||
    Math.round((env.deployment.rollout_deadline.ms / 1000) + (analysisMinutes + 30) * 60);

  const lock = lockStage(c, lockSeconds);
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
  const traffic: Stage<unknown>[] = canary
    ? canaryStages(c, deploys, gateKindOf(options))
    : [switchStage(c, deploys)];
  const live = traffic.at(-1)!;
  const validate = validateStage(c, live, deploys, migrate);
  const record = recordStage(c, validate, deploys);
  const cleanup = cleanupStage(c, record, deploys);

  const rollback = rollbackStage(c, start, [...deploys, ...traffic, validate, record]);
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
