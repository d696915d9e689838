/**
 * After the traffic moved: post-deployment validation and the old slot's scheduled
 * clean-up — and the handlers: notifications and GitHub's deployment status, whatever
 * happened. The deploy lock is in `lock.ts`; the run record and the rollback in `record.ts`.
 * @module
 */
import { type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { cleanupExpiredSlots, scheduleCleanup } from "../../lib/kubernetes/strategies/mod.ts";
import type { NotificationsCapability } from "../../lib/capabilities/notifications.ts";
import type { DeployContext } from "./context.ts";
import type { Deployed } from "./rollout.ts";
import { CHECKPOINT_USES } from "./record.ts";

/** The built-in `run` capability: the journal's checkpoint so far. */
interface RunCheckpoints {
  checkpoint(): Promise<{ runId: string; events: number; digest: string }>;
}

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

export { validateStage } from "./validate.ts";
export { LOCK_NAME, LOCK_SECONDS, lockSeconds, lockStage, unlockStage } from "./lock.ts";

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
 * A message that did not arrive after its retries, as a stage's output lists it (the
 * report gathers every output's `undelivered` into its own, and the CLI prints them).
 *
 * @example
 * ```ts
 * import type { Undelivered } from "./finish.ts";
 * const u: Undelivered = { stage: "notify", channel: "slack", what: "notification: rolled_back", attempts: 4, error: "HTTP 503" };
 * ```
 */
export interface Undelivered {
  stage: string;
  channel: string;
  what: string;
  attempts: number;
  error: string;
}

/** What the GitHub capability answers (see `lib/capabilities/github.ts`). */
interface GitHubOutcome {
  ok: boolean;
  what?: string;
  attempts?: number;
  error?: string;
  skipped?: boolean;
}

interface GitHubApi {
  start(version: string, environment: string): Promise<GitHubOutcome>;
  status(state: string, description: string): Promise<GitHubOutcome>;
}

/**
 * The GitHub deployment status' description, with the run's checkpoint first: GitHub's
 * statuses carry no payload (`POST /repos/{owner}/{repo}/deployments/{id}/statuses` takes
 * `state`, `description` of at most 140 characters, `log_url`, `environment_url`,
 * `environment`, `auto_inactive`), so the anchor outside the runner's reach is the
 * description: `run <id> digest sha256:<hex> at event <n>`, then as much of the summary as
 * fits in 140 characters.
 *
 * @param checkpoint The run's checkpoint, or undefined (the summary alone).
 * @param summary What happened.
 * @returns At most 140 characters.
 *
 * @example
 * ```ts
 * import { statusDescription } from "./finish.ts";
 * import assert from "node:assert/strict";
 * const d = statusDescription({ runId: "r1", events: 57, digest: "a".repeat(64) }, "v1.2.4 deployed to staging");
 * assert.equal(d, `run r1 digest sha256:${"a".repeat(64)} at event 57: v1.2.4 deployed to staging`);
 * assert.ok(statusDescription({ runId: "r1", events: 57, digest: "a".repeat(64) }, "x".repeat(200)).length <= 140);
 * ```
 */
export function statusDescription(
  checkpoint: { runId: string; events: number; digest: string } | undefined,
  summary: string,
): string {
  if (!checkpoint) return summary.slice(0, 140);
  const anchor =
    `run ${checkpoint.runId} digest sha256:${checkpoint.digest} at event ${checkpoint.events}`;
  return `${anchor}: ${summary}`.slice(0, 140);
}

/** A GitHub outcome that did not arrive, as an undelivered entry (none when it arrived). */
function githubUndelivered(ctx: StageContext, r: GitHubOutcome, what: string): Undelivered[] {
  if (r.ok || r.skipped) return [];
  return [{
    stage: ctx.stageId,
    channel: "github",
    what: r.what ?? what,
    attempts: r.attempts ?? 0,
    error: r.error ?? "not delivered",
  }];
}

/**
 * Tells Slack (and any configured notifier) a phase of the deploy, as the runbook's
 * `send_production_notification` does (started, each canary step, promoted): never fails
 * the stage. Delivery is retried by the notifier (network errors, timeouts, 429, 5xx, with
 * backoff); what still did not arrive is warned in the stage's log and kept by the
 * notifications capability, so the `notify` stage lists it in the report's `undelivered`.
 *
 * @param ctx The stage (it must declare `uses("notifications")`).
 * @param c The deploy's context.
 * @param phase The phase (`started`, `canary-5`, `promoted`, ...), also a field of the message.
 * @param title The message's line.
 * @returns What did not arrive (also kept by the capability for the `notify` stage).
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
): Promise<Undelivered[]> {
  if (ctx.dryRun) return [];
  const lost: Undelivered[] = [];
  const results = await ctx.use<NotificationsCapability>("notifications").notify({
    outcome: phase === "started" ? "started" : "info",
    title,
    environment: c.env.name,
    version: c.version.tag,
    pipeline: ctx.pipeline,
    runId: ctx.runId,
    user: ctx.user,
    details: { Phase: phase },
  }, { stage: ctx.stageId, what: phase }).catch((err: Error) => {
    ctx.warn(`${phase}: notifications failed (the deploy is not affected): ${err.message}`);
    lost.push({
      stage: ctx.stageId,
      channel: "notifications",
      what: `notification: ${phase}`,
      attempts: 0,
      error: err.message,
    });
    return [];
  });
  for (const r of results) {
    if (r.skipped) continue;
    if (r.ok) ctx.log(`${phase}: ${r.channel} notified (${r.attempts} attempt(s))`);
    else {
      const error = r.error ?? "failed";
      ctx.warn(
        `${phase}: ${r.channel} undelivered after ${r.attempts} attempt(s): ${error} (the deploy is not affected)`,
      );
      lost.push({
        stage: ctx.stageId,
        channel: r.channel,
        what: `notification: ${phase}`,
        attempts: r.attempts,
        error,
      });
    }
  }
  return lost;
}

/**
 * Tells GitHub (when configured) and Slack that the deploy started; never fails the deploy.
 * Its output lists the deployment (or its `in_progress` status) when it did not arrive after
 * its retries (`{ undelivered }`).
 */
export function githubStartStage(c: DeployContext, lock: Stage<unknown>) {
  return stage("github:start").needs(lock).uses("github", "notifications").run(
    async (ctx): Promise<{ undelivered: Undelivered[] } | undefined> => {
      if (ctx.dryRun) return;
      const started =
        `Deploy of ${c.version.tag} to ${c.env.name} started (${c.env.deployment.strategy})`;
      await announce(ctx, c, "started", started);
      const r = await ctx.use<GitHubApi>("github").start(c.version.tag, c.env.name)
        .catch((e: Error): GitHubOutcome => ({ ok: false, error: e.message }));
      if (r.ok) ctx.log("GitHub: deployment status in_progress posted");
      else ctx.warn(`GitHub not told: ${r.error}`);
      // The `started` notification, if lost, is listed by the `notify` stage (with this
      // stage's id), as every notification of the run is: listed once.
      return { undelivered: githubUndelivered(ctx, r, "deployment status: in_progress") };
    },
  );
}

/** The failures, then what the rollback left running (a slot kept, or not scaled down). */
function failureText(ctx: StageContext, rolledBack: unknown): string {
  const lines = ctx.failures.map((f) => `${f.stage}: ${f.message}`);
  const slots = (rolledBack as { slots?: { stillRunning: boolean; note: string }[] } | undefined)
    ?.slots ?? [];
  for (const s of slots.filter((s) => s.stillRunning)) lines.push(`rollback: ${s.note}`);
  return lines.join("\n");
}

/**
 * What the `notify` stage hands on: the channels that got the final message, and every
 * notification of the run that did not arrive — its own, and those of earlier stages
 * (the phase messages), which the notifications capability kept.
 *
 * @example
 * ```ts
 * import type { NotifyOutput } from "./finish.ts";
 * const out: NotifyOutput = { notified: ["pagerduty"], undelivered: [] };
 * ```
 */
export interface NotifyOutput {
  /** The channels the final message reached. */
  notified: string[];
  /** Every undelivered notification of the run, in the order they were given up on. */
  undelivered: Undelivered[];
}

/**
 * Notifications and GitHub's final status, whatever happened; never fails the deploy.
 * Both stages' outputs list what did not arrive after its retries (`{ undelivered }`).
 */
export function reportStages(c: DeployContext, after: readonly Stage<unknown>[]) {
  const summary = (ctx: StageContext) =>
    ctx.failures.length === 0
      ? `${c.version.tag} deployed to ${c.env.name}`
      : `${c.version.tag} to ${c.env.name} failed: ${
        ctx.failures.map((f) => `${f.stage}: ${f.message}`).join("; ")
      }`;
  const rollback = after[0]!;
  const notify = stage("notify").finally().needs(...after).uses("notifications").run(
    async (ctx): Promise<NotifyOutput | undefined> => {
      if (ctx.dryRun) return;
      const failed = ctx.failures.length > 0;
      const rolledBack = failed && ctx.output(rollback) !== undefined;
      const outcome = !failed ? "succeeded" : rolledBack ? "rolled_back" : "failed";
      const n = ctx.use<NotificationsCapability>("notifications");
      let crashed: Undelivered | undefined;
      const results = await n.notify({
        outcome,
        title: summary(ctx),
        environment: c.env.name,
        version: c.version.tag,
        pipeline: ctx.pipeline,
        runId: ctx.runId,
        user: ctx.user,
        ...(failed
          ? { text: failureText(ctx, rolledBack ? ctx.output(rollback) : undefined) }
          : {}),
      }, { stage: ctx.stageId, what: outcome }).catch((err: Error) => {
        ctx.warn(`notifications failed (the deploy is not affected): ${err.message}`);
        crashed = {
          stage: ctx.stageId,
          channel: "notifications",
          what: `notification: ${outcome}`,
          attempts: 0,
          error: err.message,
        };
        return [];
      });
      for (const r of results) {
        if (r.skipped) continue;
        if (r.ok) ctx.log(`notified ${r.channel} (${r.attempts} attempt(s))`);
        else {ctx.warn(
            `${r.channel} not notified after ${r.attempts} attempt(s) (the deploy is not affected): ${
              r.error ?? "failed"
            }`,
          );}
      }
      const kept = await n.undelivered().catch((err: Error): Undelivered[] => [{
        stage: ctx.stageId,
        channel: "notifications",
        what: "the run's undelivered notifications",
        attempts: 0,
        error: `not known: ${err.message}`,
      }]);
      const undelivered = [
        ...kept.map((u) => ({ ...u, stage: u.stage || ctx.stageId })),
        ...(crashed ? [crashed] : []),
      ];
      return {
        notified: results.filter((r) => r.ok && !r.skipped).map((r) => r.channel),
        undelivered,
      };
    },
  );
  const github = stage("github:finish").finally().needs(...after)
    .uses("github", ...CHECKPOINT_USES).run(
      async (ctx): Promise<{ undelivered: Undelivered[] } | undefined> => {
        if (ctx.dryRun) return;
        const state = ctx.failures.length === 0 ? "success" : "failure";
        // The run's checkpoint goes where GitHub keeps it, outside the runner's reach.
        const checkpoint = await ctx.use<RunCheckpoints>("run").checkpoint().catch(
          (e: Error) => {
            ctx.warn(`the GitHub status carries no checkpoint: ${e.message}`);
            return undefined;
          },
        );
        const description = statusDescription(checkpoint, summary(ctx));
        const r = await ctx.use<GitHubApi>("github").status(state, description)
          .catch((e: Error): GitHubOutcome => ({ ok: false, error: e.message }));
        if (r.ok) ctx.log(`GitHub: deployment status ${state} posted`);
        else ctx.warn(`GitHub not told: ${r.error}`);
        return { undelivered: githubUndelivered(ctx, r, `deployment status: ${state}`) };
      },
    );
  return [notify, github];
}
