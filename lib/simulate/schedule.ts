/**
 * The fault schedule of a simulation: for each run, drawn from the simulation's seed alone,
 * whether the version deployed is healthy or faulty (an error shift of random size and onset,
 * a latency shift, a metrics gap, crashing pods), and where the run's virtual clock starts.
 * A pure function of the seed: the same seed gives the same schedule on every machine, and a
 * run's own seed is all `--replay` needs.
 * @module
 */
import { hash32, seededRandom } from "../random/mod.ts";
import type { ForcedFault } from "./fault_spec.ts";

/**
 * What kind of fault a run's new version carries.
 *
 * @example
 * ```ts
 * import type { FaultKind } from "./schedule.ts";
 * const kind: FaultKind = "errors";
 * ```
 */
export type FaultKind = "healthy" | "errors" | "latency" | "metrics-gap" | "crash";

/**
 * The fault a run's new version carries, as drawn.
 *
 * @example
 * ```ts
 * import type { Fault } from "./schedule.ts";
 * const f: Fault = { kind: "errors", errorRate: 0.03, onsetMs: 120_000 };
 * ```
 */
export interface Fault {
  /** The kind (`healthy`: none). */
  readonly kind: FaultKind;
  /** `errors`: the fraction of requests the new version fails (0..1). */
  readonly errorRate?: number;
  /** `latency`: milliseconds added to the new version's p95. */
  readonly latencyMs?: number;
  /** Target milliseconds after the new version is first deployed when the fault starts. */
  readonly onsetMs?: number;
  /**
   * `metrics-gap`: how long the measurements are missing or NaN (target ms); none: from the
   * onset to the end of the run (metrics down).
   */
  readonly durationMs?: number;
}

/**
 * One run of a simulation: its own seed, and everything drawn from it.
 *
 * @example
 * ```ts
 * import { planRun } from "./schedule.ts";
 * const plan = planRun(1234);
 * console.assert(plan.seed === 1234 && plan.startMs > 0);
 * ```
 */
export interface RunPlan {
  /** The run's seed: `--replay <seed>` reruns exactly this run. */
  readonly seed: number;
  /** Where the run's virtual clock starts (epoch ms, whole seconds). */
  readonly startMs: number;
  /** The seed of the sandbox's traffic. */
  readonly trafficSeed: number;
  /** The fault of the version deployed. */
  readonly fault: Fault;
  /**
   * The share of the Kubernetes API's requests that fail (`api-chaos`, 0..1), drawn apart
   * from the version's fault; null: the API is reliable.
   */
  readonly apiChaos: number | null;
}

/**
 * What `--api-chaos` says of the runs' API: drawn from each run's seed (the default), a
 * rate every run gets, or none.
 *
 * @example
 * ```ts
 * import type { ApiChaosChoice } from "./schedule.ts";
 * const choices: ApiChaosChoice[] = ["drawn", 0.05, "off"];
 * ```
 */
export type ApiChaosChoice = "drawn" | "off" | number;

/**
 * The share of runs whose API is flaky when drawn: a quarter, at 1% to 5% of its requests
 * (the rates a pipeline must come through: tests/deploy/api_chaos_rehearsal_test.ts).
 *
 * @example
 * ```ts
 * import { API_CHAOS_SHARE } from "./schedule.ts";
 * console.assert(API_CHAOS_SHARE > 0 && API_CHAOS_SHARE < 1);
 * ```
 */
export const API_CHAOS_SHARE = 0.25;

/** The earliest start of a run's clock: 2026-01-01T00:00:00Z. */
const EPOCH_MS = Date.UTC(2026, 0, 1);
/**
 * Where the baseline's clock starts (the state every run copies): a day before the
 * earliest run, so that no run's clock is behind the state it starts from.
 *
 * @example
 * ```ts
 * import { BASELINE_START_MS, planRun } from "./schedule.ts";
 * console.assert(BASELINE_START_MS < planRun(1).startMs);
 * ```
 */
export const BASELINE_START_MS: number = Date.UTC(2025, 11, 31);
/** Runs start within a year of {@linkcode EPOCH_MS}. */
const YEAR_S = 365 * 24 * 3600;
/** The longest onset drawn: anywhere in a 55-minute canary (5% 15 m, 20% 30 m, 100% 10 m). */
const MAX_ONSET_MS = 55 * 60_000;

/**
 * The share of runs of each kind (they sum to 1): half the versions are healthy, so the
 * false-rollback rate is measured on as many runs as the detection of faults.
 *
 * @example
 * ```ts
 * import { FAULT_MIX } from "./schedule.ts";
 * const total = Object.values(FAULT_MIX).reduce((a, b) => a + b, 0);
 * console.assert(Math.abs(total - 1) < 1e-9);
 * ```
 */
export const FAULT_MIX: Readonly<Record<FaultKind, number>> = {
  healthy: 0.5,
  errors: 0.2,
  latency: 0.15,
  "metrics-gap": 0.1,
  crash: 0.05,
};

/**
 * The seeds of a simulation's runs: run `i` of seed `seed` has seed `hash32("seed:i")`.
 *
 * @param seed The simulation's seed (`--seed`).
 * @param runs How many runs.
 * @returns One seed per run, in order.
 *
 * @example
 * ```ts
 * import { runSeeds } from "./schedule.ts";
 * console.assert(runSeeds(7, 3).join() === runSeeds(7, 3).join());
 * ```
 */
export function runSeeds(seed: number | string, runs: number): number[] {
  return Array.from({ length: runs }, (_, i) => hash32(`${seed}:${i}`));
}

function kindOf(u: number): FaultKind {
  let acc = 0;
  for (const [kind, share] of Object.entries(FAULT_MIX) as [FaultKind, number][]) {
    acc += share;
    if (u < acc) return kind;
  }
  return "healthy";
}

const round = (x: number, step: number) => Math.round(x / step) * step;

/**
 * Everything a run is, drawn from its seed alone (a pure function).
 *
 * @param seed The run's seed (from {@linkcode runSeeds}, or `--replay`).
 * @param forced `--fault`: the kind and size every run gets (its onset still drawn).
 * @returns The run's plan.
 *
 * @example
 * ```ts
 * import { planRun } from "./schedule.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(planRun(42), planRun(42));
 * ```
 */
export function planRun(
  seed: number,
  forced?: ForcedFault,
  chaos: ApiChaosChoice = "drawn",
): RunPlan {
  const apiChaos = apiChaosOf(seed, chaos);
  const r = seededRandom(seed);
  const startMs = EPOCH_MS + r.int(YEAR_S) * 1000;
  const trafficSeed = r.int(2 ** 32) >>> 0;
  const drawnKind = kindOf(r.next());
  const u = r.next();
  if (forced) {
    return { seed: seed >>> 0, startMs, trafficSeed, fault: forcedFault(forced, u, r), apiChaos };
  }
  const kind = drawnKind;
  const onsetMs = round(u * MAX_ONSET_MS, 1000);
  let fault: Fault;
  switch (kind) {
    case "errors":
      // 0.5% .. 8% (log-uniform): from below the strictest threshold to a clear regression.
      fault = {
        kind,
        errorRate: round(0.005 * Math.exp(r.next() * Math.log(16)), 0.0001),
        onsetMs,
      };
      break;
    case "latency":
      fault = { kind, latencyMs: round(200 + r.next() * 1800, 10), onsetMs };
      break;
    case "metrics-gap":
      fault = { kind, onsetMs, durationMs: round(60_000 + r.next() * 540_000, 1000) };
      break;
    case "crash":
      fault = { kind, onsetMs: 0 };
      break;
    default:
      fault = { kind: "healthy" };
  }
  return { seed: seed >>> 0, startMs, trafficSeed, fault, apiChaos };
}

/**
 * A run's API fault rate: its own stream of the seed, so that drawing it changes nothing
 * else of the run (the same version fault, onset and traffic as without it).
 */
function apiChaosOf(seed: number, chaos: ApiChaosChoice): number | null {
  if (chaos === "off") return null;
  if (typeof chaos === "number") return chaos;
  const r = seededRandom(hash32(`${seed >>> 0}:api-chaos`));
  if (r.next() >= API_CHAOS_SHARE) return null;
  // 1.0% .. 5.0% in steps of 0.5%.
  return (10 + Math.round(r.next() * 8) * 5) / 1000;
}

/** `--fault`'s fault, its onset drawn from `u` (a metrics gap's length from `r` if not given). */
function forcedFault(f: ForcedFault, u: number, r: { next(): number }): Fault {
  const { fromMs, toMs } = f.onset ?? { fromMs: 0, toMs: MAX_ONSET_MS };
  const onsetMs = round(fromMs + u * (toMs - fromMs), 1000);
  switch (f.kind) {
    case "errors":
      return { kind: f.kind, errorRate: f.errorRate!, onsetMs };
    case "latency":
      return { kind: f.kind, latencyMs: f.latencyMs!, onsetMs };
    case "metrics-gap":
      return {
        kind: f.kind,
        onsetMs,
        durationMs: f.durationMs ?? round(60_000 + r.next() * 540_000, 1000),
      };
    case "crash":
      return { kind: f.kind, onsetMs: 0 };
    default:
      return { kind: "healthy" };
  }
}

/**
 * Whether a fault should stop the version (a healthy one, or a metrics gap, should not).
 *
 * @param fault The fault drawn.
 * @returns True when the version must not reach 100% of traffic.
 *
 * @example
 * ```ts
 * import { isFaulty } from "./schedule.ts";
 * console.assert(isFaulty({ kind: "crash", onsetMs: 0 }) && !isFaulty({ kind: "healthy" }));
 * ```
 */
export function isFaulty(fault: Fault): boolean {
  return fault.kind === "errors" || fault.kind === "latency" || fault.kind === "crash";
}

/**
 * One line describing a fault, for tables and messages.
 *
 * @param fault The fault.
 * @returns E.g. `errors 3.00% at +2m00s`.
 *
 * @example
 * ```ts
 * import { describeFault } from "./schedule.ts";
 * console.assert(describeFault({ kind: "healthy" }) === "healthy");
 * ```
 */
export function describeFault(fault: Fault): string {
  const at = fault.onsetMs !== undefined ? ` at +${minSec(fault.onsetMs)}` : "";
  switch (fault.kind) {
    case "errors":
      return `errors ${((fault.errorRate ?? 0) * 100).toFixed(2)}%${at}`;
    case "latency":
      return `latency +${fault.latencyMs}ms${at}`;
    case "metrics-gap":
      // No duration (or an infinite one, null once in JSON): down from its onset.
      return typeof fault.durationMs === "number" && Number.isFinite(fault.durationMs)
        ? `metrics gap ${minSec(fault.durationMs)}${at}`
        : `metrics down${at}`;
    case "crash":
      return "crashing pods";
    default:
      return "healthy";
  }
}

function minSec(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
