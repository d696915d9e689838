/**
 * The fault scenarios a sandbox can run, and how a pod of the version being deployed (or a
 * migration Job) behaves under each.
 * @module
 */
/** The fault scenarios, by name, with a one-line description each. */
export const SCENARIOS: Readonly<Record<string, string>> = {
  "canary-errors": "the version being deployed answers 3% of requests with HTTP 500",
  "slow": "the version being deployed answers with a p95 latency of 2,500 ms",
  "crashloop": "the version being deployed never becomes Ready (CrashLoopBackOff, restarts grow)",
  "slow-rollout":
    "pods of the version being deployed take 3 minutes of sandbox time to become Ready",
  "migration-fails":
    "a Job whose name or labels mark it as a migration fails (BackoffLimitExceeded)",
  "metrics-down": "the metrics source is unreachable: measurements answer 503, pods' /metrics fail",
};

/** How a pod of some version behaves under the active scenario. */
export interface PodBehaviour {
  /** Fraction of requests answered with HTTP 500 (0..1). */
  errorRate: number;
  /** Median latency in (unscaled) milliseconds. */
  medianMs: number;
  /** Log-normal sigma of the latency. */
  sigma: number;
  /** Sandbox milliseconds from start to Ready. */
  startupMs: number;
  /** The container crashes instead of becoming Ready. */
  crashes: boolean;
  /** `/metrics` is unavailable. */
  metricsDown: boolean;
}

/**
 * Check a scenario name; throws a RangeError listing the known ones.
 *
 * @example
 * ```ts
 * import { checkScenario } from "./scenarios.ts";
 * console.assert(checkScenario("slow") === "slow");
 * ```
 */
export function checkScenario(name: string | undefined): string | undefined {
  if (name === undefined || name === "" || name === "none") return undefined;
  if (!Object.hasOwn(SCENARIOS, name)) {
    throw new RangeError(
      `Cannot use scenario "${name}": unknown scenario: known scenarios are ${
        Object.keys(SCENARIOS).join(", ")
      }`,
    );
  }
  return name;
}

/**
 * The behaviour of a pod, given the scenario and whether the pod runs the version being
 * deployed (the newest one in its namespace): faults apply only to that version.
 */
export function podBehaviour(scenario: string | undefined, newest: boolean): PodBehaviour {
  const base: PodBehaviour = {
    // A healthy version answers without errors: the strictest gate (full rollout,
    // error rate < 0.1%) must not breach on a few hundred requests by chance.
    errorRate: 0,
    medianMs: 60,
    sigma: 0.5,
    startupMs: 5_000,
    crashes: false,
    metricsDown: scenario === "metrics-down",
  };
  if (!newest) return base;
  switch (scenario) {
    case "canary-errors":
      return { ...base, errorRate: 0.03 };
    case "slow":
      // p95 = median * exp(1.645 * sigma) = 2500 ms
      return { ...base, medianMs: 1200, sigma: Math.log(2500 / 1200) / 1.645 };
    case "crashloop":
      return { ...base, crashes: true };
    case "slow-rollout":
      return { ...base, startupMs: 180_000 };
    default:
      return base;
  }
}

/** Whether a Job is a migration (its name or a label says so). */
export function isMigrationJob(name: string, labels: Record<string, string> | undefined): boolean {
  if (/migrat/i.test(name)) return true;
  return Object.entries(labels ?? {}).some(([k, v]) => /migrat/i.test(k) || /migrat/i.test(v));
}
