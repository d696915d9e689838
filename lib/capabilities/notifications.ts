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

/** What `uses("notifications")` gives a stage through `ctx.use("notifications")`. */
export interface NotificationsCapability {
  /** Sends an event to every configured notifier; never throws. */
  notify(event: NotificationEvent): Promise<NotifyResult[]>;
}

/**
 * The main-thread provider of the `notifications` resource over given notifiers.
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
 * ```
 */
export function notificationsCapability(options: NotifyOptions): NotificationsCapability {
  return { notify: (event) => notify(event, options) };
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
    return { api: notificationsCapability(options) };
  },
};
