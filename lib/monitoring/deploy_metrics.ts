/**
 * The deploy record as metrics: what the `deployment-info` ConfigMap says of the latest run of a
 * target, in the Prometheus text format, so that an alert can fire on a failed deploy and a
 * dashboard can mark each deploy. Nothing else in a cluster says a deploy failed: the rollback
 * leaves every workload healthy (on the old version), so the record is the source.
 *
 * - `deploy_record_up{namespace, app}`: 1 when the record was read (0: unreadable, see the
 *   problems), absent keys are no error (no run recorded yet: `deploy_record_run_info` absent).
 * - `deploy_record_run_info{namespace, app, run_id, version, state}`: 1 for the latest run.
 * - `deploy_record_run_failed{namespace, app, run_id, version}`: 1 when the latest run was
 *   rolled back, else 0.
 * - `deploy_record_run_started_timestamp_seconds` and `..._finished_timestamp_seconds`.
 * - `deploy_record_release_info{namespace, app, run_id, version}`: the last successful run.
 * @module
 */
import type { DeploymentRecord } from "../kubernetes/strategies/record.ts";

/** The gauge that is 1 while the latest run of a target is a rolled-back (failed) deploy. */
export const DEPLOY_FAILED_METRIC = "deploy_record_run_failed";
/** The gauge that is 1 for the latest run, labelled with its id, version and state. */
export const DEPLOY_RUN_METRIC = "deploy_record_run_info";

/** Whose record it is: the labels every series carries. */
export interface DeployRecordLabels {
  /** The target's namespace. */
  readonly namespace: string;
  /** The target's `app`. */
  readonly app: string;
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function series(name: string, labels: Record<string, string>, value: number): string {
  const text = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",");
  return `${name}{${text}} ${value}`;
}

function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/**
 * The Prometheus text exposition of a target's deploy record.
 *
 * @param record The record as `readRunRecord` reads it.
 * @param labels The target's namespace and app.
 * @returns The exposition (text format 0.0.4, ending with a newline).
 *
 * @example
 * ```ts
 * import { deployRecordMetrics } from "./deploy_metrics.ts";
 * import assert from "node:assert/strict";
 * const run = {
 *   runId: "r1", version: "1.1.0", by: "ann", startedAt: "2026-01-01T00:00:00.000Z",
 *   state: "rolled-back" as const, finishedAt: "2026-01-01T00:20:00.000Z", services: {},
 * };
 * const text = deployRecordMetrics(
 *   { exists: true, data: {}, run, release: null, problems: [] },
 *   { namespace: "shop", app: "shop" },
 * );
 * assert.match(text, /^deploy_record_run_failed\{namespace="shop",app="shop",run_id="r1",version="1.1.0"\} 1$/m);
 * ```
 */
export function deployRecordMetrics(record: DeploymentRecord, labels: DeployRecordLabels): string {
  const base = { namespace: labels.namespace, app: labels.app };
  const lines: string[] = [
    "# HELP deploy_record_up Whether the deploy record could be read (1) or not (0).",
    "# TYPE deploy_record_up gauge",
    series("deploy_record_up", base, record.problems.length === 0 ? 1 : 0),
  ];
  const run = record.run;
  if (run) {
    const id = { ...base, run_id: run.runId, version: run.version };
    lines.push(
      `# HELP ${DEPLOY_RUN_METRIC} The latest deploy run of the target, by state.`,
      `# TYPE ${DEPLOY_RUN_METRIC} gauge`,
      series(DEPLOY_RUN_METRIC, { ...id, state: run.state }, 1),
      `# HELP ${DEPLOY_FAILED_METRIC} 1 while the latest deploy run was rolled back.`,
      `# TYPE ${DEPLOY_FAILED_METRIC} gauge`,
      series(DEPLOY_FAILED_METRIC, id, run.state === "rolled-back" ? 1 : 0),
    );
    const started = seconds(run.startedAt);
    if (started !== undefined) {
      lines.push(
        "# HELP deploy_record_run_started_timestamp_seconds When the latest run was recorded.",
        "# TYPE deploy_record_run_started_timestamp_seconds gauge",
        series("deploy_record_run_started_timestamp_seconds", id, started),
      );
    }
    const finished = seconds(run.finishedAt);
    if (finished !== undefined) {
      lines.push(
        "# HELP deploy_record_run_finished_timestamp_seconds When the latest run finished.",
        "# TYPE deploy_record_run_finished_timestamp_seconds gauge",
        series("deploy_record_run_finished_timestamp_seconds", id, finished),
      );
    }
  }
  if (record.release) {
    lines.push(
      "# HELP deploy_record_release_info The last deploy run that succeeded.",
      "# TYPE deploy_record_release_info gauge",
      series(
        "deploy_record_release_info",
        { ...base, run_id: record.release.runId, version: record.release.version },
        1,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** What {@linkcode serveDeployRecordMetrics} needs. */
export interface DeployRecordServerOptions {
  /** Reads the record now (e.g. `readRunRecord(k, target)`). */
  readonly read: () => Promise<DeploymentRecord>;
  /** The target's labels. */
  readonly labels: DeployRecordLabels;
  /** The loopback or other address to listen on (default `127.0.0.1`). */
  readonly hostname?: string;
  /** The port (default 0: any free one). */
  readonly port?: number;
  /** Stops the server. */
  readonly signal?: AbortSignal;
}

/**
 * Serves `GET /metrics` with the target's deploy record, read afresh on every scrape (a
 * record that cannot be read answers 503, so the scrape's `up` says so); `/-/healthy` answers 200.
 *
 * @param o How to read the record, its labels and where to listen.
 * @returns The server (its `addr.port`, `shutdown()`).
 *
 * @example
 * ```ts
 * import { serveDeployRecordMetrics } from "./deploy_metrics.ts";
 * import assert from "node:assert/strict";
 * const server = serveDeployRecordMetrics({
 *   read: () => Promise.resolve({ exists: false, data: {}, run: null, release: null, problems: [] }),
 *   labels: { namespace: "shop", app: "shop" },
 * });
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/metrics`);
 * assert.match(await res.text(), /^deploy_record_up\{namespace="shop",app="shop"\} 1$/m);
 * await server.shutdown();
 * ```
 */
export function serveDeployRecordMetrics(
  o: DeployRecordServerOptions,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: o.hostname ?? "127.0.0.1",
    port: o.port ?? 0,
    onListen: () => {},
    ...(o.signal ? { signal: o.signal } : {}),
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/-/healthy") return new Response("Healthy\n");
    if (path !== "/metrics") return new Response("not found\n", { status: 404 });
    try {
      const text = deployRecordMetrics(await o.read(), o.labels);
      return new Response(text, { headers: { "content-type": "text/plain; version=0.0.4" } });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return new Response(`Cannot read the deploy record: ${message}\n`, { status: 503 });
    }
  });
}
