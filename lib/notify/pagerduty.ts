/**
 * PagerDuty Events API v2: `trigger` (and `resolve`) events.
 * @module
 */
import { TOOL_NAME } from "../product/mod.ts";
import { postJson } from "./_send.ts";
import type {
  NotificationEvent,
  NotificationOutcome,
  NotifyResult,
  PagerDutySeverity,
  TransportOptions,
} from "./types.ts";

/** PagerDuty's public Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** A severity per outcome; an outcome left out (or undefined) keeps its default. */
export type PagerDutySeverityMap = {
  readonly [K in NotificationOutcome]?: PagerDutySeverity | undefined;
};

/** Options for {@linkcode sendPagerDuty}. */
export interface PagerDutyOptions extends TransportOptions {
  /** The integration's routing key. It is a secret: never logged or returned. */
  readonly routingKey: string;
  /** The endpoint (default {@linkcode PAGERDUTY_EVENTS_URL}; tests point it at a local receiver). */
  readonly endpoint?: string;
  /** `payload.source` (default `<TOOL_NAME>/<environment>`). */
  readonly source?: string;
  /**
   * The severity per outcome, from the environment's `notifications.pagerduty.severity`
   * (unset outcomes: failures `error`, `paused` `warning`, the rest `info`). An event's own
   * `severity` wins.
   */
  readonly severities?: PagerDutySeverityMap;
  /** The dedup key's first part (default {@linkcode TOOL_NAME}). */
  readonly dedupPrefix?: string;
  /** `trigger` (default) or `resolve` (closes the incident with the same dedup key). */
  readonly action?: "trigger" | "resolve";
}

/**
 * The dedup key of an event: one incident per pipeline, environment and run.
 *
 * @param event The event.
 * @param prefix The first part (default {@linkcode TOOL_NAME}).
 * @returns `<prefix>/<pipeline>/<environment>/<run id>`.
 *
 * @example
 * ```ts
 * import { dedupKey } from "./pagerduty.ts";
 * import { TOOL_NAME } from "../product/mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   dedupKey({ outcome: "failed", title: "x", environment: "prod", pipeline: "deploy", runId: "r1" }),
 *   `${TOOL_NAME}/deploy/prod/r1`,
 * );
 * assert.equal(dedupKey({ outcome: "failed", title: "x", environment: "prod" }, "shop"), "shop/pipeline/prod/run");
 * ```
 */
export function dedupKey(event: NotificationEvent, prefix: string = TOOL_NAME): string {
  return [prefix, event.pipeline ?? "pipeline", event.environment, event.runId ?? "run"]
    .join("/");
}

/**
 * The severity of an event: its own, else the configured one for its outcome, else the
 * default (`failed`/`rolled_back` → `error`, `paused` → `warning`, others `info`).
 *
 * @param event The event.
 * @param severities The severity per outcome (the environment's `notifications.pagerduty.severity`).
 * @returns The PagerDuty severity.
 *
 * @example
 * ```ts
 * import { severityOf } from "./pagerduty.ts";
 * import assert from "node:assert/strict";
 * const failed = { outcome: "failed", title: "x", environment: "production" } as const;
 * assert.equal(severityOf(failed), "error");
 * assert.equal(severityOf(failed, { failed: "critical" }), "critical");
 * ```
 */
export function severityOf(
  event: NotificationEvent,
  severities: PagerDutySeverityMap = {},
): PagerDutySeverity {
  if (event.severity) return event.severity;
  const configured = severities[event.outcome];
  if (configured) return configured;
  if (event.outcome === "failed" || event.outcome === "rolled_back") return "error";
  return event.outcome === "paused" ? "warning" : "info";
}

/**
 * Builds the Events API v2 body for an event.
 *
 * @param event The event.
 * @param options Routing key, source, action, severities, dedup prefix.
 * @returns The JSON body to POST.
 *
 * @example
 * ```ts
 * import { pagerDutyEvent } from "./pagerduty.ts";
 * import assert from "node:assert/strict";
 * const body = pagerDutyEvent(
 *   { outcome: "failed", title: "Deploy failed", environment: "production" },
 *   { routingKey: "R0UT1NGKEY", severities: { failed: "critical" } },
 * );
 * assert.equal(body.event_action, "trigger");
 * assert.equal(body.payload?.severity, "critical");
 * ```
 */
export function pagerDutyEvent(
  event: NotificationEvent,
  options: Pick<
    PagerDutyOptions,
    "routingKey" | "source" | "action" | "severities" | "dedupPrefix"
  >,
): {
  routing_key: string;
  event_action: "trigger" | "resolve";
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: string;
    timestamp: string;
    component?: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  client: string;
  links?: { href: string; text: string }[];
} {
  const action = options.action ?? "trigger";
  const base = {
    routing_key: options.routingKey,
    event_action: action,
    dedup_key: dedupKey(event, options.dedupPrefix),
    client: TOOL_NAME,
  };
  if (action === "resolve") return base;
  return {
    ...base,
    payload: {
      summary: event.title.slice(0, 1024),
      source: options.source ?? `${TOOL_NAME}/${event.environment}`,
      severity: severityOf(event, options.severities),
      timestamp: new Date().toISOString(),
      ...(event.pipeline ? { component: event.pipeline } : {}),
      group: event.environment,
      class: event.outcome,
      custom_details: {
        ...(event.version ? { version: event.version } : {}),
        ...(event.runId ? { run_id: event.runId } : {}),
        ...(event.user ? { user: event.user } : {}),
        ...(event.text ? { detail: event.text } : {}),
        ...(event.reportPath ? { report: event.reportPath } : {}),
        ...event.details,
      },
    },
    ...(event.reportPath && /^https?:\/\//.test(event.reportPath)
      ? { links: [{ href: event.reportPath, text: "Deployment report" }] }
      : {}),
  };
}

/**
 * Sends an event to PagerDuty's Events API v2. Never throws; the routing key never
 * appears in the result.
 *
 * @param event The event.
 * @param options Routing key (secret), endpoint, source, action, transport.
 * @returns What happened.
 *
 * @example
 * ```ts
 * import { sendPagerDuty } from "./pagerduty.ts";
 * import assert from "node:assert/strict";
 * const result = await sendPagerDuty(
 *   { outcome: "failed", title: "x", environment: "dev" },
 *   { routingKey: "R0UT1NGKEY", endpoint: "http://127.0.0.1:1/v2/enqueue", attempts: 1 },
 * );
 * assert.equal(result.ok, false);
 * ```
 */
export function sendPagerDuty(
  event: NotificationEvent,
  options: PagerDutyOptions,
): Promise<NotifyResult> {
  return postJson(
    "pagerduty",
    options.endpoint ?? PAGERDUTY_EVENTS_URL,
    pagerDutyEvent(event, options),
    { ...options, secrets: [options.routingKey] },
  );
}
