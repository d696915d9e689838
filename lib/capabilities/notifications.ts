/**
 * The `notifications` capability: the main thread holds the notifiers' secrets (the
 * Slack webhook URL, the PagerDuty routing key) and a stage that `uses("notifications")`
 * sends through `ctx.use("notifications").notify(event)`: it never sees them. A notifier
 * whose secret is not set here is skipped, and that is said once.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { SecretRef } from "../config/secret_ref.ts";
import { notify, type NotifyOptions, notifyOptionsFromEnvironment } from "../notify/notify.ts";
import type { NotificationEvent, NotifyResult } from "../notify/types.ts";
import { type Capability, type OpenContext, type Opened, proxiedGrant } from "./types.ts";

/**
 * A notification that did not arrive after its retries, as the report lists it (the
 * shape of the report's `undelivered` entries).
 *
 * @example
 * ```ts
 * import type { UndeliveredNotification } from "./notifications.ts";
 * const u: UndeliveredNotification = {
 *   stage: "canary-5",
 *   channel: "slack",
 *   what: "notification: canary-5",
 *   attempts: 4,
 *   error: "HTTP 503",
 * };
 * ```
 */
export interface UndeliveredNotification {
  /** The stage that sent it (empty when the sender did not say). */
  stage: string;
  /** `slack` or `pagerduty`. */
  channel: string;
  /** What it was: `notification: <phase or outcome>`. */
  what: string;
  /** Attempts made. */
  attempts: number;
  /** The last error, secrets redacted. */
  error: string;
}

/**
 * Who sent a notification, for the record of what did not arrive.
 *
 * @example
 * ```ts
 * import type { NotifyOrigin } from "./notifications.ts";
 * const origin: NotifyOrigin = { stage: "canary-5", what: "canary-5" };
 * ```
 */
export interface NotifyOrigin {
  /** The sending stage's id. */
  readonly stage?: string;
  /** What it is, e.g. `canary-5` or `rolled_back` (default: the event's outcome). */
  readonly what?: string;
}

/**
 * What `uses("notifications")` gives a stage through `ctx.use("notifications")`.
 *
 * @example
 * ```ts ignore
 * const n = ctx.use<NotificationsCapability>("notifications");
 * await n.notify(event, { stage: ctx.stageId, what: "canary-5" });
 * const lost = await n.undelivered();
 * ```
 */
export interface NotificationsCapability {
  /** Sends an event to every configured notifier (retried); never throws. */
  notify(event: NotificationEvent, origin?: NotifyOrigin): Promise<NotifyResult[]>;
  /**
   * Every notification of this run that did not arrive after its retries, so far, in the
   * order they were given up on (a final stage lists them in its output for the report).
   */
  undelivered(): Promise<UndeliveredNotification[]>;
}

/**
 * The main-thread provider of the `notifications` resource over given notifiers. It keeps
 * the run's undelivered notifications (see {@linkcode NotificationsCapability.undelivered}).
 *
 * @param options The notifiers and their secrets (e.g. from `notifyOptionsFromEnvironment`).
 * @returns The capability.
 *
 * @example
 * ```ts
 * import { notificationsCapability } from "./notifications.ts";
 * import assert from "node:assert/strict";
 * const notifications = notificationsCapability({});
 * assert.deepEqual(
 *   await notifications.notify({ outcome: "info", title: "hi", environment: "dev" }),
 *   [],
 * );
 * assert.deepEqual(await notifications.undelivered(), []);
 * ```
 */
export function notificationsCapability(options: NotifyOptions): NotificationsCapability {
  const lost: UndeliveredNotification[] = [];
  return {
    async notify(event, origin = {}) {
      const results = await notify(event, options);
      for (const r of results) {
        if (r.ok || r.skipped) continue;
        lost.push({
          stage: origin.stage ?? "",
          channel: r.channel,
          what: `notification: ${origin.what ?? event.outcome}`,
          attempts: r.attempts,
          error: r.error ?? "not delivered",
        });
      }
      return results;
    },
    undelivered: () => Promise.resolve(lost.map((u) => ({ ...u }))),
  };
}

/**
 * The notifiers' secrets, resolved: by path (`notifications.slack.webhook_url`, ...).
 * One that cannot be resolved here is logged and left out (its notifier is skipped).
 *
 * @param env The environment.
 * @param ctx The opening context (resolves the references, registers the values).
 * @returns The resolved secrets.
 *
 * @example
 * ```ts ignore
 * import { notificationSecrets } from "./notifications.ts";
 * (await notificationSecrets(env, ctx)).has("notifications.slack.webhook_url");
 * ```
 */
export async function notificationSecrets(
  env: Environment,
  ctx: OpenContext,
): Promise<Map<string, string>> {
  const secrets = new Map<string, string>();
  const refs: [string, SecretRef | undefined][] = [
    ["notifications.slack.webhook_url", env.notifications.slack?.webhook_url],
    ["notifications.pagerduty.routing_key", env.notifications.pagerduty?.routing_key],
  ];
  for (const [path, ref] of refs) {
    if (ref === undefined) continue;
    const value = await ctx.secret(ref).catch(() => undefined);
    if (value) secrets.set(path, value);
    else ctx.log(`notifications: ${path} is not set here: that notifier is skipped`);
  }
  return secrets;
}

/**
 * The `notifications` registry entry. Its grant is empty (`proxied`).
 *
 * @example
 * ```ts ignore
 * import { notifications } from "./notifications.ts";
 * const opened = await notifications.open!(env, ctx);
 * await opened.api.notify({ outcome: "succeeded", title: "v1.2.4 is live", environment: "staging" });
 * ```
 */
export const notifications: Capability<NotificationsCapability> = {
  name: "notifications",
  summary: "Slack and PagerDuty, held by the runner with their secrets (never fails a deploy)",
  grant: proxiedGrant,
  secrets: (env) => [
    ...(env.notifications.slack
      ? [{ what: "the Slack webhook URL", ref: env.notifications.slack.webhook_url }]
      : []),
    ...(env.notifications.pagerduty
      ? [{ what: "the PagerDuty routing key", ref: env.notifications.pagerduty.routing_key }]
      : []),
  ],
  async open(env, ctx): Promise<Opened<NotificationsCapability>> {
    const options = notifyOptionsFromEnvironment(env, await notificationSecrets(env, ctx));
    // Waits between attempts on the run's clock (a rehearsal's scaled time).
    return {
      api: notificationsCapability({ ...options, ...(ctx.clock ? { clock: ctx.clock } : {}) }),
    };
  },
};
