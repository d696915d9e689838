/**
 * Deployment notifications: Slack incoming webhooks and PagerDuty Events API v2.
 * {@linkcode notify} sends an event to every configured notifier concurrently and
 * never throws; failures come back as results (and are logged) with secrets
 * (webhook URL, routing key) redacted.
 *
 * ```ts
 * import { notify } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const results = await notify(
 *   { outcome: "succeeded", title: "Deployed v1.2.4 to staging", environment: "staging" },
 *   {},
 * );
 * assert.deepEqual(results, []);
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./slack.ts";
export * from "./pagerduty.ts";
export * from "./notify.ts";
export * from "./retry.ts";
/** The clock the waits between attempts are on, and its parts (`lib/clock`). */
export type { Clock, ClockKind, Release, ScheduleOptions, SleepOptions } from "../clock/clock.ts";
