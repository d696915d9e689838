/**
 * `Measurements`: the requests pods really answered, kept per namespace, and their error rate
 * and p95 latency over a window of sandbox time (what the measurements endpoint answers).
 * @module
 */
import { matchesLabels, parseLabelSelector } from "./selectors.ts";
import type { SandboxClock } from "./clock.ts";

/** One request a simulated pod really answered. */
export interface RequestRecord {
  /** Real time (ms) the answer was sent. */
  at: number;
  /** HTTP status code. */
  status: number;
  /** Unscaled (production-like) latency in ms. */
  latencyMs: number;
  /** The answering pod's labels (plus `pod`). */
  labels: Record<string, string>;
}

/** The answer of the measurements endpoint. */
export interface Measurement {
  /** Requests in the window. */
  requests: number;
  /** Requests answered with 5xx. */
  errors: number;
  /** errors / requests, or null when there were no requests. */
  errorRate: number | null;
  /** 95th percentile latency in ms, or null when there were no requests. */
  p95Ms: number | null;
  /** The window, as asked (sandbox time). */
  window: string;
}

const MAX_RECORDS = 500_000;

/**
 * Parse a duration such as `60s`, `5m`, `1h`, `1500ms` into milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./measurements.ts";
 * console.assert(parseDuration("5m") === 300_000);
 * ```
 */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)$/);
  if (!m) {
    throw new RangeError(
      `Cannot parse duration "${text}": expected a number and a unit (ms, s, m, h)`,
    );
  }
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"];
  return n * unit;
}

/** The requests pods answered, per namespace, and windowed statistics over them. */
export class Measurements {
  #records = new Map<string, RequestRecord[]>();
  #clock: SandboxClock;

  /** @param clock The sandbox clock (windows are sandbox time). */
  constructor(clock: SandboxClock) {
    this.#clock = clock;
  }

  /** Record one answered request. */
  record(namespace: string, record: RequestRecord): void {
    let list = this.#records.get(namespace);
    if (!list) this.#records.set(namespace, list = []);
    list.push(record);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS / 2);
  }

  /** Drop records older than `realMs`. */
  prune(realMs: number): void {
    const cutoff = Date.now() - realMs;
    for (const [ns, list] of this.#records) {
      const i = list.findIndex((r) => r.at >= cutoff);
      if (i < 0) this.#records.set(ns, []);
      else if (i > 0) list.splice(0, i);
    }
  }

  /** Statistics over a sandbox-time window for pods matching a label selector. */
  measure(namespace: string, options: { labelSelector?: string; window: string }): Measurement {
    const windowMs = parseDuration(options.window);
    const since = Date.now() - this.#clock.toRealMs(windowMs);
    const selector = options.labelSelector ? parseLabelSelector(options.labelSelector) : [];
    const list = this.#records.get(namespace) ?? [];
    const latencies: number[] = [];
    let errors = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i] as RequestRecord;
      if (r.at < since) break;
      if (!matchesLabels(selector, r.labels)) continue;
      latencies.push(r.latencyMs);
      if (r.status >= 500) errors++;
    }
    const requests = latencies.length;
    let p95Ms: number | null = null;
    if (requests > 0) {
      latencies.sort((a, b) => a - b);
      p95Ms = Math.round(latencies[Math.max(0, Math.ceil(0.95 * requests) - 1)] as number);
    }
    return {
      requests,
      errors,
      errorRate: requests ? errors / requests : null,
      p95Ms,
      window: options.window,
    };
  }
}
