/**
 * The composition root of a run: what a deploy talks to. It builds the target (the
 * sandbox, or the cluster of a kubeconfig), opens the capabilities stages declare
 * through the registry (`lib/capabilities`), and builds the gate analyzer with its
 * metrics source (the sandbox's measurements, or Prometheus). The CLI only calls
 * {@linkcode connect}, then awaits {@linkcode Connection.verify} before the run starts
 * (a cluster that does not answer fails once there, not on every call and retry).
 * @module
 */
import type { Environment } from "../config/types.ts";
import { parseDuration } from "../config/duration.ts";
import type { MetricDefinition } from "../dsl/gate.ts";
import type { Redactor } from "../journal/redact.ts";
import { type GateAnalyzer, InputError } from "../runner/mod.ts";
import { createGateAnalyzer, type GateAnalyzerOptions } from "../analysis/gate_analyzer.ts";
import { prometheusProvider } from "../analysis/prometheus.ts";
import { sandboxMeasurementsProvider } from "../analysis/sandbox_measurements.ts";
import type { Decision } from "../analysis/decision.ts";
import {
  CAPABILITIES,
  type CapabilityMethods,
  type CapabilityTarget,
  CapabilityUnavailableError,
  openCapabilities,
} from "../capabilities/mod.ts";
import { SANDBOX_CLUSTER } from "../product/mod.ts";
import type { SandboxTarget } from "./sandbox.ts";
import { type Clock, realClock } from "../clock/mod.ts";

/**
 * How long {@linkcode Connection.verify} waits for a capability's server (e.g. the
 * Kubernetes API's `/version`) by default: 5 s, in real milliseconds.
 *
 * @example
 * ```ts
 * import { VERIFY_TIMEOUT_MS } from "./connect.ts";
 * import assert from "node:assert/strict";
 * assert.equal(VERIFY_TIMEOUT_MS, 5_000);
 * ```
 */
export const VERIFY_TIMEOUT_MS = 5_000;

/**
 * The environment variable that changes {@linkcode VERIFY_TIMEOUT_MS}: a duration such as
 * `10s` or `1m30s` (more than 0, at most 1h), for a cluster far away or slow to answer.
 * The time is counted from the request, not while the kubeconfig's credential plugin
 * gets a token. An invalid value fails `connect` (exit 2), naming the variable.
 *
 * @example
 * ```ts
 * import { CLUSTER_TIMEOUT_ENV } from "./connect.ts";
 * import assert from "node:assert/strict";
 * assert.equal(CLUSTER_TIMEOUT_ENV, "DEPLOY_CLUSTER_TIMEOUT");
 * ```
 */
export const CLUSTER_TIMEOUT_ENV = "DEPLOY_CLUSTER_TIMEOUT";

const MAX_CLUSTER_TIMEOUT_MS = 3_600_000;

/**
 * How long `verify` waits: the option, else {@linkcode CLUSTER_TIMEOUT_ENV}, else
 * {@linkcode VERIFY_TIMEOUT_MS}.
 */
function verifyTimeoutOf(o: ConnectOptions): number {
  if (o.verifyTimeoutMs !== undefined) return o.verifyTimeoutMs;
  const text = (o.readEnv ?? ((name: string) => Deno.env.get(name)))(CLUSTER_TIMEOUT_ENV);
  if (text === undefined || text.trim() === "") return VERIFY_TIMEOUT_MS;
  const ms = parseDuration(text)?.ms;
  if (ms === undefined || !(ms > 0) || ms > MAX_CLUSTER_TIMEOUT_MS) {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text);
    throw new InputError(
      `${CLUSTER_TIMEOUT_ENV} is ${shown}, not a duration from 1ms to 1h: ` +
        `set it like 10s or 1m30s, or unset it (default ${VERIFY_TIMEOUT_MS / 1000}s)`,
    );
  }
  return ms;
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** The run's environment. */
  readonly env: Environment;
  /** The sandbox the run goes to (`--sandbox`); without it, the kubeconfig's cluster. */
  readonly sandbox?: SandboxTarget | undefined;
  /**
   * Send the Kubernetes client's requests to a sandbox started in this process through its
   * `handle` (no socket; the same client-node requests, routing and authentication):
   * `simulate`. Default: HTTP, as to any cluster.
   */
  readonly apiInProcess?: boolean | undefined;
  /** Describe, change nothing (`--dry-run`). */
  readonly dryRun: boolean;
  /** Every secret value a capability reads is added to it. */
  readonly redactor: Redactor;
  /** The pipeline's metric definitions. */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /**
   * The resources the run's stages declare (e.g. `prepared.stages.flatMap((s) => s.uses)`):
   * each is checked now, so one that cannot be opened here (no kubeconfig) fails
   * `connect` once, before anything is written. Without it, a capability that cannot be
   * opened fails on its first use (and every later one, with the same reason).
   */
  readonly resources?: Iterable<string> | undefined;
  /**
   * How long {@linkcode Connection.verify} waits for each declared capability's server
   * (default: {@linkcode CLUSTER_TIMEOUT_ENV} when set, else {@linkcode VERIFY_TIMEOUT_MS}).
   */
  readonly verifyTimeoutMs?: number | undefined;
  /** `--prometheus <url>`: measure gates with this Prometheus instead. */
  readonly prometheusUrl?: string | undefined;
  /** Reads environment variables (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /** Asks a paused stage's question at a terminal, when there is one. */
  readonly ask?: ((question: string) => Promise<Decision | null>) | undefined;
  /** How long a paused stage waits for a decision before aborting (real ms). */
  readonly decisionTimeoutMs?: number | undefined;
  /** Where capability warnings go. */
  readonly log: (line: string) => void;
  /** Told of every gate sample (the live view). */
  readonly onSample?: GateAnalyzerOptions["onSample"];
  /**
   * The run's clock (default: the sandbox's, else real time): the capabilities and the gate
   * analysis wait on it and hold it around their real I/O.
   */
  readonly clock?: Clock | undefined;
}

/** The clients and the analyzer of a run. */
export interface Connection {
  /** For the engine, by resource name: each opens on its first call. */
  readonly capabilities: Record<string, CapabilityMethods>;
  /** Measures a stage's gates. */
  readonly analyze: GateAnalyzer;
  /**
   * Aborted (with the error) when a capability fails the run, e.g. the deploy lock was
   * lost: give it to the run as `failure`.
   */
  readonly failure: AbortSignal;
  /** Where the run went, for the report (kind, cluster, server, namespace, metrics...). */
  readonly target: Record<string, unknown>;
  /**
   * Asks the servers of the declared resources whether they answer, once, before the
   * run starts (today: the Kubernetes API's `/version`, within `verifyTimeoutMs`).
   * Nothing without `resources`. Writes nothing.
   *
   * @param options A signal that stops waiting (it rejects with the signal's reason).
   * @throws {InputError} When one does not answer: "cannot reach the Kubernetes API at
   * <server> (<reason>). To fix: ..." ("cannot authenticate to ..." when the kubeconfig's
   * credentials fail), no credentials quoted.
   */
  verify(options?: { readonly signal?: AbortSignal | undefined }): Promise<void>;
  /** Closes what was opened (the database connection...). */
  close(): Promise<void>;
}

function analyzerOf(
  o: ConnectOptions,
  clock: Clock,
): { analyze: GateAnalyzer; metrics: string } {
  const provider = o.prometheusUrl
    ? prometheusProvider({
      url: o.prometheusUrl,
      clock,
      ...(o.sandbox ? { minWindowSeconds: 5 } : {}),
    })
    : o.sandbox
    ? sandboxMeasurementsProvider({
      url: o.sandbox.url,
      token: o.sandbox.token,
      clock,
      // One started here answers in this process: no loopback round trip per measurement.
      ...(o.sandbox.handle ? { fetch: o.sandbox.handle } : {}),
      ...(o.sandbox.measure ? { measure: o.sandbox.measure } : {}),
    })
    : prometheusProvider({ url: o.env.monitoring.prometheus_url, clock });
  const analyze = createGateAnalyzer({
    provider,
    metrics: o.metrics,
    defaultTarget: { namespace: o.env.environment.namespace },
    clock,
    // Prometheus over scaled time: wait for a few 1 s scrapes of the new pods first (8 real s).
    ...(o.sandbox && o.prometheusUrl ? { settleMs: 8_000 * clock.scale } : {}),
    ...(o.ask ? { ask: o.ask } : {}),
    ...(o.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: o.decisionTimeoutMs } : {}),
    ...(o.onSample ? { onSample: o.onSample } : {}),
  });
  return { analyze, metrics: provider.name };
}

/**
 * Connects a run to its target.
 *
 * @param o The environment, the sandbox (if any), dry run, the redactor, metrics, and
 * the resources the stages declare.
 * @returns Capabilities for the engine, the gate analyzer, the target for the report, and
 * `verify` (await it before the run starts: is the cluster there?).
 * @throws {InputError} When a declared resource cannot be opened here (e.g. no
 * kubeconfig; `kubernetes` is checked too when a declared resource's secret is a
 * Kubernetes Secret): the message names what was tried and how to fix it. When
 * {@linkcode CLUSTER_TIMEOUT_ENV} is not a duration. Nothing is written.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./connect.ts";
 * const connection = connect({
 *   env, dryRun: true, redactor, metrics, log: console.log,
 *   resources: prepared.stages.flatMap((s) => s.uses),
 * });
 * try {
 *   await connection.verify(); // InputError (exit 2) when the cluster does not answer
 *   await executeRun(prepared, { capabilities: connection.capabilities, analyze: connection.analyze, ... });
 * } finally {
 *   await connection.close();
 * }
 * ```
 */
export function connect(o: ConnectOptions): Connection {
  const env = o.env;
  const clock = o.clock ?? o.sandbox?.clock ?? realClock;
  const target: CapabilityTarget = o.sandbox
    ? {
      kind: "sandbox",
      kubeconfigPath: o.sandbox.kubeconfigPath,
      stateDir: o.sandbox.stateDir,
      ...(o.apiInProcess && o.sandbox.handle ? { transport: o.sandbox.handle } : {}),
    }
    : { kind: "kubernetes" };
  const failure = new AbortController();
  const opened = openCapabilities({
    env,
    failRun: (error) => failure.abort(error),
    capabilities: CAPABILITIES,
    target,
    dryRun: o.dryRun,
    ...(o.readEnv ? { readEnv: o.readEnv } : {}),
    onSecret: (value) => o.redactor.add(value),
    log: o.log,
    clock,
  });
  const verifyTimeoutMs = verifyTimeoutOf(o);
  const resources = o.resources ? [...o.resources] : undefined;
  if (resources) {
    try {
      opened.check(resources);
    } catch (err) {
      throw asInputError(err);
    }
  }
  const { analyze, metrics } = analyzerOf(o, clock);
  return {
    capabilities: { ...opened.providers },
    analyze,
    failure: failure.signal,
    target: {
      kind: o.sandbox ? "sandbox" : "kubernetes",
      cluster: o.sandbox ? SANDBOX_CLUSTER : env.environment.cluster,
      // On the virtual clock the sandbox runs in this process: its port is an artefact of
      // the run (replays of one seed must journal the same bytes), not a place to go back to.
      server: o.sandbox ? (clock.kind === "virtual" ? "in-process" : o.sandbox.url) : null,
      namespace: env.environment.namespace,
      metrics: o.sandbox && clock.kind === "virtual"
        ? metrics.replace(o.sandbox.url.replace(/\/+$/, ""), "(in-process)")
        : metrics,
      ...(o.sandbox
        ? {
          scenario: o.sandbox.scenario ?? "none",
          clock: clock.kind,
          ...(clock.kind === "virtual" ? {} : { timeScale: o.sandbox.timeScale }),
          ...(o.sandbox.randomSeed !== undefined ? { seed: o.sandbox.randomSeed } : {}),
        }
        : {}),
    },
    async verify(options = {}) {
      if (!resources) return;
      await opened.verify(resources, {
        timeoutMs: verifyTimeoutMs,
        signal: options.signal,
      }).catch((err: unknown) => {
        throw asInputError(err);
      });
    },
    close: () => opened.close(),
  };
}

/** A capability that cannot be used here is bad input (exit 2, nothing written). */
function asInputError(err: unknown): unknown {
  return err instanceof CapabilityUnavailableError
    ? new InputError(err.message, { cause: err })
    : err;
}
