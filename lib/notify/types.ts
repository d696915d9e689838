/**
 * The shapes shared by the notifiers: what happened, and what each notifier did.
 * @module
 */
import type { Clock } from "../clock/clock.ts";

/** A PagerDuty event's severity. */
export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

/** How a run (or a step of it) ended. */
export type NotificationOutcome =
  | "started"
  | "succeeded"
  | "failed"
  | "rolled_back"
  | "paused"
  | "info";

/** Something worth telling people about. No secret values belong here. */
export interface NotificationEvent {
  /** How it ended. `failed` and `rolled_back` page (PagerDuty); everything goes to Slack. */
  readonly outcome: NotificationOutcome;
  /** One line, e.g. `Deploy of v1.2.4 to production rolled back`. */
  readonly title: string;
  /** More detail for people (a few lines). */
  readonly text?: string;
  /** The environment's name. */
  readonly environment: string;
  /** The version being deployed. */
  readonly version?: string;
  /** The pipeline's name. */
  readonly pipeline?: string;
  /** The run's id (also the PagerDuty dedup key's last part). */
  readonly runId?: string;
  /** Who started the run. */
  readonly user?: string;
  /** Where the report is (a path or URL). */
  readonly reportPath?: string;
  /**
   * PagerDuty severity (default: the environment's `notifications.pagerduty.severity` for
   * the outcome, else `error` for failed/rolled_back, `warning` for paused, `info` otherwise).
   */
  readonly severity?: PagerDutySeverity;
  /** Extra facts for the receiver (flat, small, no secrets). */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** What one notifier did. It never throws: failures are results. */
export interface NotifyResult {
  /** Which notifier. */
  readonly channel: "slack" | "pagerduty";
  /** Delivered (2xx). */
  readonly ok: boolean;
  /** Not sent, and why (e.g. PagerDuty is only for failures). */
  readonly skipped?: string;
  /** The last HTTP status, when a response arrived. */
  readonly status?: number;
  /** Why it failed, with secrets redacted. */
  readonly error?: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** Milliseconds spent, all attempts included. */
  readonly durationMs: number;
}

/** Transport options every notifier takes. */
export interface TransportOptions {
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Deadline per attempt in real milliseconds (default 10 000); a timeout is retried. */
  readonly timeoutMs?: number;
  /** Attempts in all for network errors, timeouts, 408, 429 and 5xx (default 4). */
  readonly attempts?: number;
  /** The wait before the 2nd attempt, doubled each time, jittered (default 1 000). */
  readonly retryDelayMs?: number;
  /** The longest wait between attempts (default 30 000). */
  readonly maxRetryDelayMs?: number;
  /** The clock the waits are on (default real time; a rehearsal's scaled clock). */
  readonly clock?: Clock;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: () => number;
  /** A signal that cancels sending. */
  readonly signal?: AbortSignal;
}
