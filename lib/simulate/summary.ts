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
import { allOnNew, type Violation } from "./invariants.ts";

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
  /** The run's exit code. */
  readonly exitCode: number;
  /** The report's status. */
  readonly status: string;
  /** The new version had all traffic at some point. */
  readonly reachedFull: boolean;
  /** The run ended with traffic back on the previous version. */
  readonly rolledBack: boolean;
  /** Simulated ms from the fault reaching traffic to traffic back on the old slot. */
  readonly detectionMs: number | null;
  /** The invariants it broke. */
  readonly violations: readonly Violation[];
  /** Its run folder (kept when it broke one). */
  readonly runDir: string;
  /** Real ms the run took, and where they went. */
  readonly wallMs: number;
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Whether the new version reached all traffic, whether traffic ended back on the old
 * slots, and how long (clock ms) from the new version's first traffic to that.
 *
 * @param o The observation, each service's new and old slot.
 * @returns The three answers.
 *
 * @example
 * ```ts
 * import { trafficOutcome } from "./summary.ts";
 * const o = { history: [], slots: [], leases: [], secrets: [], endMs: 0 };
 * console.assert(trafficOutcome(o, {}, {}).reachedFull === false);
 * ```
 */
export function trafficOutcome(
  o: Observation,
  newSlots: Record<string, string | null>,
  oldSlots: Record<string, string | null>,
): { reachedFull: boolean; rolledBack: boolean; backAfterMs: number | null } {
  const reachedFull = o.history.some((s) => allOnNew(s, newSlots));
  const shareNew = (s: Observation["history"][number]) =>
    Object.keys(newSlots).some((svc) => {
      const t = s.services[svc];
      const slot = newSlots[svc];
      if (!t || !slot) return false;
      return t.weights ? (t.weights[slot] ?? 0) > 0 : t.selector === slot;
    });
  const first = o.history.findIndex(shareNew);
  const last = o.history.at(-1);
  const rolledBack = first >= 0 && last !== undefined && allOnNew(last, oldSlots);
  let backAfterMs: number | null = null;
  if (rolledBack) {
    const back = o.history.slice(first).find((s) => allOnNew(s, oldSlots));
    if (back) backAfterMs = back.atMs - o.history[first]!.atMs;
  }
  return { reachedFull, rolledBack, backAfterMs };
}

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
  readonly runs: number;
  readonly violations: readonly {
    seed: number;
    gates: string;
    invariant: string;
    message: string;
    runDir: string;
  }[];
  readonly healthy_runs: number;
  /** Healthy versions that did not end on 100% of traffic. */
  readonly false_rollbacks: number;
  readonly faulty_runs: number;
  /** Faulty versions that had 100% of traffic at some point. */
  readonly missed_faults: number;
  readonly detection_seconds: { median: number | null; p95: number | null; count: number };
  /** Real seconds per run: mean and the slowest. */
  readonly wall_seconds: { mean: number | null; max: number | null; total: number };
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
  const healthy = results.filter((r) => r.injected.kind === "healthy");
  const faulty = results.filter((r) => isFaulty(r.injected));
  const detections = faulty.flatMap((r) => r.detectionMs === null ? [] : [r.detectionMs / 1000])
    .sort((a, b) => a - b);
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
    false_rollbacks: healthy.filter((r) => !r.reachedFull || r.exitCode !== 0).length,
    faulty_runs: faulty.length,
    missed_faults: faulty.filter((r) => r.reachedFull).length,
    detection_seconds: {
      median: r3(quantile(detections, 0.5)),
      p95: r3(quantile(detections, 0.95)),
      count: detections.length,
    },
    wall_seconds: {
      mean: walls.length ? r3(walls.reduce((a, b) => a + b, 0) / walls.length) : null,
      max: walls.length ? r3(Math.max(...walls)) : null,
      total: r3(walls.reduce((a, b) => a + b, 0)) ?? 0,
    },
  };
}
