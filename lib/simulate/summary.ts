/**
 * One run's outcome as the simulation counts it (healthy or faulty, rolled back or not, the
 * detection time), and the summary of many: `runs`, `violations` with the seed that
 * reproduces each, `healthy_runs`, `false_rollbacks`, `faulty_runs`, `missed_faults`,
 * `detection_seconds` (median and p95).
 * @module
 */
import type { Fault } from "./schedule.ts";
import { isFaulty } from "./schedule.ts";
import type { Observation } from "./observe.ts";
import { allOnNew, shareOn, type Violation } from "./invariants.ts";

/**
 * One run of a simulation, as counted.
 *
 * @example
 * ```ts
 * import type { RunResult } from "./summary.ts";
 * const healthy = (r: RunResult) => r.injected.kind === "healthy";
 * ```
 */
export interface RunResult {
  /** The run's seed (`--replay` it). */
  readonly seed: number;
  /** The gate kind it ran with. */
  readonly gates: string;
  /** The fault drawn. */
  readonly drawn: Fault;
  /** The fault injected (what the sandbox could do of it). */
  readonly injected: Fault;
  /** The share of the run's Kubernetes API requests that failed (`api-chaos`; null: none). */
  readonly apiChaos?: number | null;
  /** Under api-chaos: how many of its API requests got a fault (null: not counted). */
  readonly apiFaults?: number | null;
  /** The run's exit code. */
  readonly exitCode: number;
  /** The report's status. */
  readonly status: string;
  /** Where the run's clock started (epoch ms). */
  readonly startMs: number;
  /** The new version had all traffic at some point. */
  readonly reachedFull: boolean;
  /** The run ended with traffic back on the previous version (after the new one had some). */
  readonly rolledBack: boolean;
  /** When the fault began (epoch ms of the run's clock; null: healthy, or never deployed). */
  readonly onsetAtMs: number | null;
  /** The new version's share of traffic (%) when the fault began (null: no fault). */
  readonly shareAtOnset: number | null;
  /**
   * The fault was live while the new version had part of the traffic, or before it had
   * any (false: healthy, or it began after the version had all traffic or was rolled back).
   */
  readonly inCanary: boolean;
  /**
   * Simulated ms from the fault reaching traffic (its onset, or the new version's first
   * traffic if later) to all traffic back on the old slots.
   */
  readonly detectionMs: number | null;
  /** The first gate that failed: `<stage>: <gate>` (null: none). */
  readonly breach: string | null;
  /** The report's error, when the run failed (what failed where no gate did). */
  readonly error?: string | null;
  /** The invariants it broke. */
  readonly violations: readonly Violation[];
  /** Its run folder (kept when it broke one). */
  readonly runDir: string;
  /** Real ms the run took, and where they went. */
  readonly wallMs: number;
  /** Where the run's wall time went (ms by phase). */
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Where the traffic went over a run: when the new version first had any of it, when it
 * first had all of it, and when (after it had some) all of it was back on the old slots
 * to stay. Epoch ms of the run's clock; null: never.
 *
 * @example
 * ```ts
 * import type { TrafficOutcome } from "./summary.ts";
 * const o: TrafficOutcome = { firstAtMs: null, fullAtMs: null, backAtMs: null };
 * ```
 */
export interface TrafficOutcome {
  /** Simulated ms when the new version first got traffic (null: never). */
  readonly firstAtMs: number | null;
  /** Simulated ms when it had all traffic (null: never). */
  readonly fullAtMs: number | null;
  /** Simulated ms when all traffic was back on the old slots (null: never). */
  readonly backAtMs: number | null;
}

/**
 * The traffic outcome of an observation, given each service's new and old slot.
 *
 * @param o The observation.
 * @param newSlots Each service's slot running the new version.
 * @param oldSlots Each service's other slot.
 * @returns When the new version first had some traffic, all of it, and when it was back.
 *
 * @example
 * ```ts
 * import { trafficOutcome } from "./summary.ts";
 * const at = (atMs: number, green: number) => ({
 *   atMs,
 *   services: { web: { weights: { blue: 100 - green, green }, selector: "blue" } },
 * });
 * const o = { history: [at(0, 0), at(5, 5), at(9, 0)], deployedAt: {}, slots: [], leases: [], secrets: [], endMs: 9 };
 * const t = trafficOutcome(o, { web: "green" }, { web: "blue" });
 * console.assert(t.firstAtMs === 5 && t.fullAtMs === null && t.backAtMs === 9);
 * ```
 */
export function trafficOutcome(
  o: Observation,
  newSlots: Record<string, string | null>,
  oldSlots: Record<string, string | null>,
): TrafficOutcome {
  const shareNew = (s: Observation["history"][number]) =>
    Object.keys(newSlots).some((svc) => shareOn(s.services[svc], newSlots[svc] ?? null) > 0);
  const first = o.history.findIndex(shareNew);
  const full = o.history.find((s) => allOnNew(s, newSlots));
  let backAtMs: number | null = null;
  if (first >= 0 && o.history.length > 0 && allOnNew(o.history.at(-1)!, oldSlots)) {
    // The last return to the old slots, after the new version last had traffic.
    let i = o.history.length - 1;
    while (i > first && allOnNew(o.history[i - 1]!, oldSlots)) i--;
    backAtMs = o.history[i]!.atMs;
  }
  return {
    firstAtMs: first >= 0 ? o.history[first]!.atMs : null,
    fullAtMs: full?.atMs ?? null,
    backAtMs,
  };
}

/**
 * When a run's fault began (epoch ms): its onset after each service's new version was
 * first seen on a slot, the earliest over the services; null for none (healthy, or the
 * version never came).
 *
 * @param fault The fault injected.
 * @param o The observation.
 * @param version The version deployed (the `version` label).
 * @returns The onset, or null.
 *
 * @example
 * ```ts
 * import { faultOnsetAt } from "./summary.ts";
 * const o = { history: [], deployedAt: { web: { "1.1.0": 1000 } }, slots: [], leases: [], secrets: [], endMs: 0 };
 * console.assert(faultOnsetAt({ kind: "errors", errorRate: 0.03, onsetMs: 60_000 }, o, "1.1.0") === 61_000);
 * ```
 */
export function faultOnsetAt(fault: Fault, o: Observation, version: string): number | null {
  if (fault.kind === "healthy") return null;
  const came = Object.values(o.deployedAt).flatMap((v) => v[version] ?? []);
  return came.length ? Math.min(...came) + (fault.onsetMs ?? 0) : null;
}

/**
 * The new version's share of traffic at a moment (the largest over the services, %).
 *
 * @param o The observation.
 * @param newSlots Each service's new slot.
 * @param atMs The moment.
 * @returns 0..100.
 *
 * @example
 * ```ts
 * import { shareAt } from "./summary.ts";
 * const o = { history: [{ atMs: 0, services: { web: { weights: { blue: 95, green: 5 }, selector: "blue" } } }], deployedAt: {}, slots: [], leases: [], secrets: [], endMs: 0 };
 * console.assert(shareAt(o, { web: "green" }, 10) === 5);
 * ```
 */
export function shareAt(
  o: Observation,
  newSlots: Record<string, string | null>,
  atMs: number,
): number {
  const state = o.history.filter((s) => s.atMs <= atMs).at(-1);
  if (!state) return 0;
  return Math.max(
    0,
    ...Object.keys(newSlots).map((svc) => shareOn(state.services[svc], newSlots[svc] ?? null)),
  );
}

/**
 * The status of a run the watchdog abandoned (it broke `rehearsal-completes`): counted in
 * `runs` and `violations` only.
 *
 * @example
 * ```ts
 * import { STUCK } from "./summary.ts";
 * console.assert(STUCK === "stuck");
 * ```
 */
export const STUCK = "stuck";

/**
 * The summary of a simulation, per gate kind.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * console.assert(summarize([]).runs === 0);
 * ```
 */
export interface Summary {
  /** Runs done. */
  readonly runs: number;
  /** Each broken invariant, with the seed that reproduces it. */
  readonly violations: readonly {
    seed: number;
    gates: string;
    invariant: string;
    message: string;
    runDir: string;
  }[];
  /** Runs whose new version was healthy. */
  readonly healthy_runs: number;
  /** Healthy versions that did not end on 100% of traffic, or whose run failed. */
  readonly false_rollbacks: number;
  /**
   * Why each false rollback happened, counted: its first failed gate (`<stage>: <gate>`), or
   * where no gate failed the first clause of the run's error (`this run lost its deploy
   * lock`), else its status.
   */
  readonly false_rollback_gates: Readonly<Record<string, number>>;
  /** Versions with errors, latency or crashing pods, the fault live during the canary. */
  readonly faulty_runs: number;
  /** Of those, versions that reached 100% of traffic. */
  readonly missed_faults: number;
  /** The seeds of the missed faults. */
  readonly missed_seeds: readonly number[];
  /** Faulty versions whose fault began only after they had all traffic (or were back). */
  readonly late_faults: number;
  /**
   * The target's faults — 3% errors or more, +1 s latency or more — live in the canary, and
   * how many of them reached 100% (the target: none).
   */
  readonly target_faults: { readonly runs: number; readonly missed: number };
  /** Runs whose Kubernetes API was flaky (`api-chaos`), of any version. */
  readonly api_chaos_runs: number;
  /** Simulated seconds from a live fault to traffic back on the old slots. */
  readonly detection_seconds: Quantiles;
  /** The same, for 3% errors or more beginning before or at the 5% step. */
  readonly detection_seconds_errors_3pct_at_5pct: Quantiles;
  /** Real seconds per run: mean and the slowest. */
  readonly wall_seconds: { mean: number | null; max: number | null; total: number };
}

/**
 * The median and 95th percentile of some durations (seconds), and how many.
 *
 * @example
 * ```ts
 * import type { Quantiles } from "./summary.ts";
 * const q: Quantiles = { median: 20, p95: 40, count: 12 };
 * ```
 */
export interface Quantiles {
  /** The median (null without data). */
  readonly median: number | null;
  /** The 95th percentile (null without data). */
  readonly p95: number | null;
  /** How many values. */
  readonly count: number;
}

/**
 * Whether a fault is one of the target's: 3% errors or more, or +1 s latency or more.
 *
 * @param f The fault injected.
 * @returns True for a fault that must never reach 100% of traffic.
 *
 * @example
 * ```ts
 * import { isTargetFault } from "./summary.ts";
 * console.assert(isTargetFault({ kind: "errors", errorRate: 0.03 }) && !isTargetFault({ kind: "latency", latencyMs: 500 }));
 * ```
 */
export function isTargetFault(f: Fault): boolean {
  return (f.kind === "errors" && (f.errorRate ?? 0) >= 0.03 - 1e-9) ||
    (f.kind === "latency" && (f.latencyMs ?? 0) >= 1000);
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/**
 * Counts the runs of one gate kind.
 *
 * @param results The runs.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * const s = summarize([]);
 * console.assert(s.detection_seconds.median === null && s.violations.length === 0);
 * ```
 */
export function summarize(results: readonly RunResult[]): Summary {
  // A run that did not complete (stuck) is a violation, not a verdict on its gates.
  const done = results.filter((r) => r.status !== STUCK);
  const healthy = done.filter((r) => r.injected.kind === "healthy");
  const faulty = done.filter((r) => isFaulty(r.injected));
  const live = faulty.filter((r) => r.inCanary);
  const missed = live.filter((r) => r.reachedFull);
  const target = live.filter((r) => isTargetFault(r.injected));
  const falseRollbacks = healthy.filter((r) => !r.reachedFull || r.exitCode !== 0);
  const gates: Record<string, number> = {};
  for (const r of falseRollbacks) {
    const why = whyFailed(r);
    gates[why] = (gates[why] ?? 0) + 1;
  }
  const walls = results.map((r) => r.wallMs / 1000);
  return {
    runs: results.length,
    violations: results.flatMap((r) =>
      r.violations.map((v) => ({
        seed: r.seed,
        gates: r.gates,
        invariant: v.invariant,
        message: v.message,
        runDir: r.runDir,
      }))
    ),
    healthy_runs: healthy.length,
    false_rollbacks: falseRollbacks.length,
    false_rollback_gates: gates,
    faulty_runs: live.length,
    missed_faults: missed.length,
    missed_seeds: missed.map((r) => r.seed),
    late_faults: faulty.length - live.length,
    target_faults: { runs: target.length, missed: target.filter((r) => r.reachedFull).length },
    api_chaos_runs: done.filter((r) => (r.apiChaos ?? null) !== null).length,
    detection_seconds: quantiles(live),
    detection_seconds_errors_3pct_at_5pct: quantiles(
      live.filter((r) =>
        r.injected.kind === "errors" && isTargetFault(r.injected) && (r.shareAtOnset ?? 0) <= 5
      ),
    ),
    wall_seconds: {
      mean: walls.length ? r3(walls.reduce((a, b) => a + b, 0) / walls.length) : null,
      max: walls.length ? r3(Math.max(...walls)) : null,
      total: r3(walls.reduce((a, b) => a + b, 0)) ?? 0,
    },
  };
}

/** A false rollback's cause, for counting: the gate, else the error's first clause. */
function whyFailed(r: RunResult): string {
  if (r.breach) return r.breach;
  const clause = r.error?.split(/: |\. /)[0]?.trim();
  return clause ? clause.slice(0, 80) : r.status;
}

function quantiles(runs: readonly RunResult[]): Quantiles {
  const seconds = runs.flatMap((r) => r.detectionMs === null ? [] : [r.detectionMs / 1000])
    .sort((a, b) => a - b);
  return {
    median: r3(quantile(seconds, 0.5)),
    p95: r3(quantile(seconds, 0.95)),
    count: seconds.length,
  };
}
