/**
 * Service checks over HTTP: health (`/health` JSON, status and version, with
 * retries), the metrics endpoint (Prometheus text format), security headers, and no
 * sensitive data in health output.
 * @module
 */
import { delay } from "../lib/async/delay.ts";
import type { Check, CheckOutcome } from "../lib/dsl/types.ts";
import { fail, pass } from "./_outcome.ts";
import { checkUrl, excerpt, get, type HttpCheckOptions } from "./_http.ts";

/** Options for {@linkcode serviceHealth}. */
export interface ServiceHealthOptions extends HttpCheckOptions {
  /** The version the service must report (a leading `v` is ignored on both sides). */
  readonly expectedVersion?: string;
  /** Status values that count as healthy (case-insensitive; default `["healthy"]`). */
  readonly healthyStatuses?: readonly string[];
  /** The longest acceptable response time in milliseconds (default 2 000, the seed's). */
  readonly maxLatencyMs?: number;
  /** Attempts before failing (default 1). */
  readonly attempts?: number;
  /** Pause between attempts in milliseconds (default 1 000). */
  readonly intervalMs?: number;
}

function stripV(version: string): string {
  return version.replace(/^v/, "");
}

async function healthOnce(url: string, options: ServiceHealthOptions, signal: AbortSignal) {
  const maxLatencyMs = options.maxLatencyMs ?? 2_000;
  const healthy = (options.healthyStatuses ?? ["healthy"]).map((s) => s.toLowerCase());
  const r = await get(url, options, signal);
  if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, error: r.error });
  const evidence: Record<string, unknown> = {
    url,
    status: r.status,
    latencyMs: r.latencyMs,
    maxLatencyMs,
  };
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(r.body);
  } catch {
    return fail(`${url} did not answer JSON (HTTP ${r.status})`, {
      ...evidence,
      body: excerpt(r.body, 120),
    });
  }
  evidence.reportedStatus = body.status;
  evidence.reportedVersion = body.version;
  if (r.status !== 200) return fail(`${url} answered HTTP ${r.status}`, evidence);
  if (typeof body.status !== "string" || !healthy.includes(body.status.toLowerCase())) {
    return fail(`${url} reports status ${JSON.stringify(body.status)}`, evidence);
  }
  if (options.expectedVersion !== undefined) {
    evidence.expectedVersion = options.expectedVersion;
    if (
      typeof body.version !== "string" ||
      stripV(body.version) !== stripV(options.expectedVersion)
    ) {
      return fail(
        `${url} runs version ${JSON.stringify(body.version)}, expected ${options.expectedVersion}`,
        evidence,
      );
    }
  }
  if (r.latencyMs > maxLatencyMs) {
    return fail(`${url} answered in ${r.latencyMs} ms (limit ${maxLatencyMs} ms)`, evidence);
  }
  return pass(`${url} is ${body.status} in ${r.latencyMs} ms`, evidence);
}

/**
 * The service's health endpoint answers 200 with JSON `status: "healthy"`, the expected
 * version, within a response-time bound; retried `attempts` times.
 *
 * @param url The health URL, e.g. `http://analysis-service.tracktion-staging.svc:8000/health`.
 * @param options Expected version, statuses, latency bound, attempts, deadline, name, required.
 * @returns The check; evidence: url, status, reportedStatus, reportedVersion, latencyMs, attempts.
 *
 * @example
 * ```ts
 * import { serviceHealth } from "./service.ts";
 * import assert from "node:assert/strict";
 * const check = serviceHealth("http://127.0.0.1:8000/health", { expectedVersion: "1.2.4" });
 * assert.equal(check.name, "Service health: http://127.0.0.1:8000/health");
 * ```
 */
export function serviceHealth(url: string, options: ServiceHealthOptions = {}): Check {
  checkUrl(url, options.name ?? "Service health");
  const attempts = Math.max(1, options.attempts ?? 1);
  const intervalMs = options.intervalMs ?? 1_000;
  return {
    name: options.name ?? `Service health: ${url}`,
    required: options.required ?? true,
    run: async (ctx) => {
      let outcome: CheckOutcome = fail("not run");
      for (let attempt = 1; attempt <= attempts; attempt++) {
        outcome = await healthOnce(url, options, ctx.signal);
        if (outcome.ok || attempt === attempts || ctx.signal.aborted) {
          return { ...outcome, evidence: { ...outcome.evidence, attempts: attempt } };
        }
        ctx.log(`health attempt ${attempt}/${attempts} failed: ${outcome.message}`);
        await delay(intervalMs);
      }
      return outcome;
    },
  };
}

const METRIC_LINE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"(\\.|[^"\\])*"\s*,?)*\s*\})?\s+(\S+)(\s+-?\d+)?$/;
const COMMENT_LINE = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(\s.*)?$/;

/**
 * Parses Prometheus text exposition enough to judge it: HELP/TYPE lines, sample
 * lines and their values; the first line that is neither is reported.
 *
 * @param text The body of `/metrics`.
 * @returns Metric families, sample count, and the first invalid line (1-based), if any.
 *
 * @example
 * ```ts
 * import { inspectMetricsText } from "./service.ts";
 * import assert from "node:assert/strict";
 * const r = inspectMetricsText('# TYPE up gauge\nup{job="a"} 1\n');
 * assert.deepEqual(r, { families: ["up"], samples: 1 });
 * ```
 */
export function inspectMetricsText(
  text: string,
): { families: string[]; samples: number; invalidLine?: number } {
  const families = new Set<string>();
  let samples = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line === "# EOF") continue;
    const comment = COMMENT_LINE.exec(line);
    if (comment) {
      families.add(comment[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = METRIC_LINE.exec(line);
    const value = sample?.[4];
    if (!sample || value === undefined || !/^([+-]?Inf|NaN|[+-]?[0-9.eE+-]+)$/.test(value)) {
      return { families: [...families], samples, invalidLine: i + 1 };
    }
    samples++;
  }
  return { families: [...families], samples };
}

/**
 * The metrics endpoint answers 200 in Prometheus text format: `# HELP`/`# TYPE` lines
 * and well-formed samples (optionally including `requiredMetrics`).
 *
 * @param url The metrics URL.
 * @param options `requiredMetrics`, deadline, headers, name, required.
 * @returns The check; evidence: url, contentType, families (count), samples, missing.
 *
 * @example
 * ```ts
 * import { metricsEndpoint } from "./service.ts";
 * import assert from "node:assert/strict";
 * assert.equal(metricsEndpoint("http://127.0.0.1:8000/metrics").name, "Metrics endpoint");
 * ```
 */
export function metricsEndpoint(
  url: string,
  options: HttpCheckOptions & { readonly requiredMetrics?: readonly string[] } = {},
): Check {
  checkUrl(url, options.name ?? "Metrics endpoint");
  return {
    name: options.name ?? "Metrics endpoint",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, error: r.error });
      const contentType = r.headers.get("content-type") ?? "";
      const parsed = inspectMetricsText(r.body);
      const missing = (options.requiredMetrics ?? []).filter((m) => !parsed.families.includes(m));
      const evidence: Record<string, unknown> = {
        url,
        status: r.status,
        contentType,
        families: parsed.families.length,
        samples: parsed.samples,
        missing,
      };
      if (r.status !== 200) return fail(`${url} answered HTTP ${r.status}`, evidence);
      if (!/^(text\/plain|application\/openmetrics-text)/i.test(contentType)) {
        return fail(`${url} is not Prometheus text format (Content-Type ${contentType})`, evidence);
      }
      if (parsed.invalidLine !== undefined) {
        evidence.invalidLine = parsed.invalidLine;
        return fail(`${url}: line ${parsed.invalidLine} is not a valid metric line`, evidence);
      }
      if (parsed.families.length === 0 || parsed.samples === 0) {
        return fail(`${url} exposes no # HELP/# TYPE metric families with samples`, evidence);
      }
      if (missing.length > 0) {
        return fail(`${url} does not expose ${missing.join(", ")}`, evidence);
      }
      return pass(
        `${url} exposes ${parsed.families.length} metric families, ${parsed.samples} samples`,
        evidence,
      );
    },
  };
}
