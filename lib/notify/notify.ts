/**
 * Sends one event to every configured notifier, concurrently. A failing notifier is
 * logged and reported in the results; it never throws to the caller, so a dead Slack
 * never fails a deploy.
 * @module
 */
import type { Environment } from "../config/types.ts";
import { type PagerDutyOptions, sendPagerDuty } from "./pagerduty.ts";
import { sendSlack, type SlackOptions } from "./slack.ts";
import type {
  NotificationEvent,
  NotificationOutcome,
  NotifyResult,
  TransportOptions,
} from "./types.ts";

/** Options for {@linkcode notify}. */
export interface NotifyOptions extends TransportOptions {
  /** Slack: the webhook URL (secret) and channel. Omit to not use Slack. */
  readonly slack?: Omit<SlackOptions, keyof TransportOptions> | undefined;
  /** PagerDuty: the routing key (secret), endpoint, source. Omit to not page. */
  readonly pagerduty?: Omit<PagerDutyOptions, keyof TransportOptions> | undefined;
  /** Outcomes that page (default `failed` and `rolled_back`). */
  readonly pageOn?: readonly NotificationOutcome[];
  /** Where a failed delivery is logged (default `console.warn`). Gets no secrets. */
  readonly log?: (line: string) => void;
}

/**
 * Notifies Slack (every event) and PagerDuty (failures), concurrently.
 *
 * @param event What happened.
 * @param options Which notifiers, their secrets, transport options, logger.
 * @returns One result per configured notifier, in the order slack, pagerduty. Never throws.
 *
 * @example
 * ```ts
 * import { notify } from "./notify.ts";
 * import assert from "node:assert/strict";
 * const results = await notify(
 *   { outcome: "failed", title: "Deploy of v1.2.4 to staging failed", environment: "staging" },
 *   {
 *     slack: { webhookUrl: "http://127.0.0.1:1/services/SECRET" },
 *     attempts: 1,
 *     log: () => {},
 *   },
 * );
 * assert.equal(results[0]?.ok, false);
 * ```
 */
export async function notify(
  event: NotificationEvent,
  options: NotifyOptions,
): Promise<NotifyResult[]> {
  const transport: TransportOptions = {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    ...(options.maxRetryDelayMs !== undefined ? { maxRetryDelayMs: options.maxRetryDelayMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const log = options.log ?? ((line: string) => console.warn(line));
  const pageOn = options.pageOn ?? ["failed", "rolled_back"];
  const jobs: Promise<NotifyResult>[] = [];
  if (options.slack) {
    jobs.push(guard("slack", () => sendSlack(event, { ...options.slack!, ...transport })));
  }
  if (options.pagerduty) {
    jobs.push(
      pageOn.includes(event.outcome)
        ? guard("pagerduty", () => sendPagerDuty(event, { ...options.pagerduty!, ...transport }))
        : Promise.resolve({
          channel: "pagerduty",
          ok: true,
          skipped: `outcome ${event.outcome} does not page`,
          attempts: 0,
          durationMs: 0,
        }),
    );
  }
  const results = await Promise.all(jobs);
  for (const r of results) {
    if (!r.ok) {
      log(`notification to ${r.channel} failed after ${r.attempts} attempt(s): ${r.error}`);
    }
  }
  return results;
}

async function guard(
  channel: NotifyResult["channel"],
  send: () => Promise<NotifyResult>,
): Promise<NotifyResult> {
  try {
    return await send();
  } catch (err) {
    // postJson never throws; this is a last line of defence (e.g. a broken fetch stub).
    return {
      channel,
      ok: false,
      error: `notifier crashed: ${err instanceof Error ? err.name : "error"}`,
      attempts: 1,
      durationMs: 0,
    };
  }
}

/**
 * Builds {@linkcode NotifyOptions} from an environment's `notifications:` section and
 * its resolved secrets (from `resolveSecrets`).
 *
 * @param env The environment.
 * @param secrets Resolved secrets by path (`notifications.slack.webhook_url`, ...).
 * @returns The options; a notifier whose secret is missing is left out.
 *
 * @example
 * ```ts
 * import { notifyOptionsFromEnvironment } from "./notify.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
 * const env = {
 *   notifications: { slack: { webhook_url: { from_env: "S" }, channel: "#deployments" } },
 * } as unknown as Environment;
 * const options = notifyOptionsFromEnvironment(
 *   env,
 *   new Map([["notifications.slack.webhook_url", "https://hooks.example/x"]]),
 * );
 * assert.equal(options.slack?.channel, "#deployments");
 * assert.equal(options.pagerduty, undefined);
 * ```
 */
export function notifyOptionsFromEnvironment(
  env: Pick<Environment, "notifications"> & {
    external_services?: { webhook_timeout?: { ms: number } };
  },
  secrets: ReadonlyMap<string, string>,
): NotifyOptions {
  const webhookUrl = secrets.get("notifications.slack.webhook_url");
  const routingKey = secrets.get("notifications.pagerduty.routing_key");
  const channel = env.notifications.slack?.channel;
  const timeoutMs = env.external_services?.webhook_timeout?.ms;
  return {
    ...(env.notifications.slack && webhookUrl
      ? { slack: { webhookUrl, ...(channel ? { channel } : {}) } }
      : {}),
    ...(env.notifications.pagerduty && routingKey
      ? { pagerduty: { routingKey, severities: env.notifications.pagerduty.severity ?? {} } }
      : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
}
