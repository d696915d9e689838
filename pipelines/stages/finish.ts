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

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

export { validateStage } from "./validate.ts";
export { LOCK_NAME, lockStage, unlockStage } from "./lock.ts";

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

/** The failures, then what the rollback left running (a slot kept, or not scaled down). */
function failureText(ctx: StageContext, rolledBack: unknown): string {
  const lines = ctx.failures.map((f) => `${f.stage}: ${f.message}`);
  const slots = (rolledBack as { slots?: { stillRunning: boolean; note: string }[] } | undefined)
    ?.slots ?? [];
  for (const s of slots.filter((s) => s.stillRunning)) lines.push(`rollback: ${s.note}`);
  return lines.join("\n");
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
        ...(failed
          ? { text: failureText(ctx, rolledBack ? ctx.output(rollback) : undefined) }
          : {}),
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
