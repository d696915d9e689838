/**
 * `PodServer`: a simulated pod's real HTTP server on 127.0.0.1 — `/health`, `/metrics`
 * (Prometheus text format: request counter, latency histogram, build info) and `/api`
 * answering with the scenario's error rate and latency (taken in the clock's target time, at
 * once on a virtual clock; header `x-sandbox-latency-ms` says what it stands for).
 * @module
 */
import { delay } from "../async/delay.ts";
import type { Clock } from "../clock/mod.ts";
import { sinceKube } from "./clock.ts";
import type { PodBehaviour } from "./scenarios.ts";

/** Histogram buckets (seconds) of `http_request_duration_seconds`. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10];

/** What a pod server needs from the simulation. */
export interface PodServerOptions {
  /** Pod namespace. */
  namespace: string;
  /** Pod name. */
  name: string;
  /** The version (image tag) the pod runs. */
  version: string;
  /** Pod labels. */
  labels: Record<string, string>;
  /**
   * The cluster's clock: an answer takes its latency in target time (on a virtual clock
   * it comes at once: a client holding the clock could not let the latency pass).
   */
  clock: Clock;
  /** The behaviour now (may change when a newer version is deployed). */
  behaviour(): PodBehaviour;
  /** Called for every answered request. */
  onRequest(status: number, latencyMs: number): void;
}

/**
 * The name of a pod's build-info gauge: `<app>_build_info` after the pod's `app` label
 * (e.g. `shop_build_info` for `app=shop`), or `build_info` for a pod without one.
 *
 * @param labels The pod's labels.
 * @returns A Prometheus metric name.
 *
 * @example
 * ```ts
 * import { buildInfoMetric } from "./pod_server.ts";
 * import assert from "node:assert/strict";
 * assert.equal(buildInfoMetric({ app: "web-shop" }), "web_shop_build_info");
 * assert.equal(buildInfoMetric({}), "build_info");
 * ```
 */
export function buildInfoMetric(labels: Readonly<Record<string, string>>): string {
  const app = (labels.app ?? "").replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1");
  return app ? `${app}_build_info` : "build_info";
}

// Acklam's rational approximation of the inverse standard normal CDF.
function inverseNormal(p: number): number {
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5, r = q * q;
  return (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/**
 * A simulated pod: a real HTTP server on 127.0.0.1 that answers `/health`, `/metrics`
 * (Prometheus text format) and application requests with the latency and errors of its
 * behaviour. Latency is spread evenly over its distribution (a low-discrepancy sequence)
 * and errors come at an exact rate, so short windows measure what the scenario says.
 */
export class PodServer {
  #options: PodServerOptions;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #count = 0;
  #phase = Math.random();
  #byStatus = new Map<number, number>();
  #buckets = LATENCY_BUCKETS.map(() => 0);
  #sum = 0;
  #started: number;
  /** Answers waiting for their latency: how to cancel each, and how to answer 503 instead. */
  #pending = new Map<() => void, () => void>();
  #closing = new AbortController();

  /** @param options Identity, behaviour and the request callback. */
  constructor(options: PodServerOptions) {
    this.#options = options;
    this.#started = options.clock.now();
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {}, signal: this.#closing.signal },
      (request) => this.#handle(request),
    );
  }

  /** The loopback port the pod listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  #handle(request: Request): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    const o = this.#options;
    // Health endpoints (the pod's own and the API's, `/api/v1/health`) answer from the pod's
    // state: a version's injected request errors are its work's, not its health's.
    if (/\/(health|healthz)$/.test(path)) {
      return Response.json({
        status: "healthy",
        version: o.version,
        pod: o.name,
        namespace: o.namespace,
        service: o.labels.service ?? o.labels.app ?? "",
        slot: o.labels.slot ?? "",
        uptimeSeconds: Math.round(sinceKube(o.clock, this.#started) / 1000),
      });
    }
    if (path === "/metrics") {
      if (o.behaviour().metricsDown) return new Response("metrics unavailable\n", { status: 503 });
      return new Response(this.#metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    const behaviour = o.behaviour();
    const n = this.#count++;
    const u = (n * 0.6180339887498949 + this.#phase) % 1;
    const latencyMs = behaviour.medianMs *
      Math.exp(behaviour.sigma * inverseNormal(Math.min(0.9999, Math.max(0.0001, u))));
    const error = Math.floor((n + 1) * behaviour.errorRate + this.#phase) >
      Math.floor(n * behaviour.errorRate + this.#phase);
    const status = error ? 500 : 200;
    const answer = () => {
      this.#observe(status, latencyMs);
      o.onRequest(status, latencyMs);
      return new Response(error ? "internal error\n" : "ok\n", {
        status,
        headers: { "x-sandbox-latency-ms": latencyMs.toFixed(1) },
      });
    };
    if (o.clock.kind === "virtual") return answer();
    return new Promise((resolve) => {
      const cancel = o.clock.schedule(latencyMs, () => {
        this.#pending.delete(cancel);
        resolve(answer());
      });
      this.#pending.set(cancel, () => resolve(new Response("shutting down\n", { status: 503 })));
    });
  }

  #observe(status: number, latencyMs: number): void {
    this.#byStatus.set(status, (this.#byStatus.get(status) ?? 0) + 1);
    const seconds = latencyMs / 1000;
    this.#sum += seconds;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#buckets[i] = (this.#buckets[i] ?? 0) + 1;
    });
  }

  #metrics(): string {
    const buildInfo = buildInfoMetric(this.#options.labels);
    const total = [...this.#byStatus.values()].reduce((a, b) => a + b, 0);
    const lines = [
      "# HELP http_requests_total Total HTTP requests answered.",
      "# TYPE http_requests_total counter",
    ];
    const statuses = new Set([200, 500, ...this.#byStatus.keys()]);
    for (const s of [...statuses].sort()) {
      lines.push(
        `http_requests_total{method="GET",path="/api",status="${s}"} ${this.#byStatus.get(s) ?? 0}`,
      );
    }
    lines.push(
      "# HELP http_request_duration_seconds HTTP request latency.",
      "# TYPE http_request_duration_seconds histogram",
    );
    LATENCY_BUCKETS.forEach((le, i) => {
      lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${this.#buckets[i] ?? 0}`);
    });
    lines.push(
      `http_request_duration_seconds_bucket{le="+Inf"} ${total}`,
      `http_request_duration_seconds_sum ${this.#sum.toFixed(6)}`,
      `http_request_duration_seconds_count ${total}`,
      `# HELP ${buildInfo} Build information.`,
      `# TYPE ${buildInfo} gauge`,
      `${buildInfo}{version="${this.#options.version}"} 1`,
      "",
    );
    return lines.join("\n");
  }

  /**
   * Stop listening: pending answers get a 503, then every connection is closed (a client
   * that never finishes its request cannot keep the pod alive).
   */
  async stop(): Promise<void> {
    for (const [cancel, abort] of this.#pending) {
      cancel();
      abort();
    }
    this.#pending.clear();
    if (!this.#closing.signal.aborted) {
      await delay(0); // let the 503s be written
      this.#closing.abort();
    }
    await this.#server.finished;
  }
}
