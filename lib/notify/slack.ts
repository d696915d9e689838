/**
 * Slack incoming webhooks: a message with a fallback `text` and Block Kit `blocks`.
 * @module
 */
import { postJson } from "./_send.ts";
import type { NotificationEvent, NotifyResult, TransportOptions } from "./types.ts";

/** Options for {@linkcode sendSlack}. */
export interface SlackOptions extends TransportOptions {
  /** The incoming webhook URL. It is a secret: never logged or returned. */
  readonly webhookUrl: string;
  /** Override the webhook's default channel, e.g. `#deployments`. */
  readonly channel?: string;
}

const ICONS: Record<NotificationEvent["outcome"], string> = {
  started: "🚀",
  succeeded: "✅",
  failed: "❌",
  rolled_back: "⏪",
  paused: "⏸️",
  info: "ℹ️",
};

/**
 * Builds the Slack message for an event: `text` (the fallback shown in notifications)
 * and `blocks` (header, fields, detail, report link).
 *
 * @param event The event.
 * @param channel An optional channel override.
 * @returns The JSON body to POST.
 *
 * @example
 * ```ts
 * import { slackMessage } from "./slack.ts";
 * import assert from "node:assert/strict";
 * const body = slackMessage({ outcome: "failed", title: "Deploy failed", environment: "staging" });
 * assert.equal(body.text, "❌ Deploy failed");
 * ```
 */
export function slackMessage(
  event: NotificationEvent,
  channel?: string,
): { text: string; blocks: unknown[]; channel?: string } {
  const text = `${ICONS[event.outcome]} ${event.title}`;
  const fields = [
    ["Environment", event.environment],
    ["Version", event.version],
    ["Pipeline", event.pipeline],
    ["Run", event.runId],
    ["By", event.user],
    ...Object.entries(event.details ?? {}).map(([k, v]) => [k, String(v)]),
  ].filter((f): f is [string, string] => f[1] !== undefined && f[1] !== "")
    .slice(0, 10)
    .map(([k, v]) => ({ type: "mrkdwn", text: `*${k}*\n${v}` }));
  const blocks: unknown[] = [
    { type: "header", text: { type: "plain_text", text: text.slice(0, 150), emoji: true } },
    ...(fields.length ? [{ type: "section", fields }] : []),
    ...(event.text
      ? [{ type: "section", text: { type: "mrkdwn", text: event.text.slice(0, 3000) } }]
      : []),
    ...(event.reportPath
      ? [{
        type: "context",
        elements: [{ type: "mrkdwn", text: `Report: ${event.reportPath}` }],
      }]
      : []),
  ];
  return { text, blocks, ...(channel ? { channel } : {}) };
}

/**
 * Posts an event to a Slack incoming webhook. Never throws; the webhook URL never
 * appears in the result.
 *
 * @param event The event.
 * @param options The webhook URL (secret), channel, transport.
 * @returns What happened.
 *
 * @example
 * ```ts
 * import { sendSlack } from "./slack.ts";
 * import assert from "node:assert/strict";
 * const result = await sendSlack(
 *   { outcome: "info", title: "hello", environment: "dev" },
 *   { webhookUrl: "http://127.0.0.1:1/services/T000/B000/XXXX", attempts: 1 },
 * );
 * assert.equal(result.ok, false);
 * assert.ok(!result.error?.includes("XXXX"));
 * ```
 */
export function sendSlack(event: NotificationEvent, options: SlackOptions): Promise<NotifyResult> {
  return postJson("slack", options.webhookUrl, slackMessage(event, options.channel), {
    ...options,
    secrets: [options.webhookUrl],
  });
}
