/**
 * The fault scenarios a sandbox can run, and how a pod of the version being deployed (or a
 * migration Job) behaves under each. A healthy version has a small baseline error rate and
 * a latency distribution; a fault is a *shift* from it or a failure, and may start a while
 * after the version is first deployed (`high-error-rate@4m`) or at a moment drawn from the
 * seed: the text, the specs and the shifts are in `traffic_faults.ts` (re-exported here).
 * @module
 */
import {
  faultActive,
  faultedProfile,
  type FaultKind,
  type FaultSpec,
  HEALTHY_PROFILE,
  lognormalOf,
  parseScenario,
  type ServiceProfile,
} from "./traffic_faults.ts";

export * from "./traffic_faults.ts";
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
 * Checks a scenario's text; throws a RangeError naming the known scenarios and forms.
 *
 * @param name The scenario as written.
 * @returns The trimmed text, or `undefined` for no scenario (`""`, `none`).
 *
 * @example
 * ```ts
 * import { checkScenario } from "./scenarios.ts";
 * console.assert(checkScenario("slow") === "slow");
 * console.assert(checkScenario("high-error-rate@4m") === "high-error-rate@4m");
 * ```
 */
export function checkScenario(name: string | undefined): string | undefined {
  return parseScenario(name).length ? (name ?? "").trim() : undefined;
}

const parsed = new Map<string, FaultSpec[]>();

function faultsOf(scenario: string | readonly FaultSpec[] | undefined): readonly FaultSpec[] {
  if (typeof scenario !== "string") return scenario ?? [];
  let faults = parsed.get(scenario);
  if (!faults) parsed.set(scenario, faults = parseScenario(scenario));
  return faults;
}

/** Options of {@linkcode podBehaviour}. */
export interface PodBehaviourOptions {
  /**
   * Target ms since the pod's version was first deployed (a fault with an onset starts
   * then). Omitted for the version being deployed: every fault is on.
   */
  readonly sinceDeployMs?: number;
  /**
   * The service's healthy profile. Omitted: {@linkcode HEALTHY_PROFILE}'s latency and no
   * baseline errors (a real pod answers a few hundred requests a window: one error in
   * 2,000 would read as a breach of a 0.1% gate there).
   */
  readonly profile?: ServiceProfile;
  /** The pod's service (for faults limited to some services). */
  readonly service?: string;
}

/**
 * The behaviour of a pod, given the scenario (its text, or faults from
 * {@linkcode parseScenario}) and whether the pod runs the version being deployed (the
 * newest one in its namespace): version faults apply only to that version; `metrics-down`
 * to every pod.
 *
 * @example
 * ```ts
 * import { podBehaviour } from "./scenarios.ts";
 * console.assert(podBehaviour("canary-errors", true).errorRate === 0.03);
 * console.assert(podBehaviour("canary-errors@4m", true, { sinceDeployMs: 1000 }).errorRate === 0);
 * ```
 */
export function podBehaviour(
  scenario: string | readonly FaultSpec[] | undefined,
  newest: boolean,
  options: PodBehaviourOptions = {},
): PodBehaviour {
  const faults = faultsOf(scenario);
  const since = newest ? options.sinceDeployMs ?? Infinity : undefined;
  const base = options.profile ?? { ...HEALTHY_PROFILE, errorRate: 0 };
  const profile = faultedProfile(base, faults, since, options.service);
  const { sigma } = lognormalOf(profile);
  const on = (kind: FaultKind) =>
    faults.find((f) => f.kind === kind && faultActive(f, since, options.service));
  // metrics-down is the metrics source's fault: every pod at once, the newest after onset.
  const metricsDown = faults.some((f) =>
    f.kind === "metrics-down" && (f.onsetMs === 0 || faultActive(f, since, options.service))
  );
  return {
    errorRate: profile.errorRate,
    medianMs: profile.medianMs,
    sigma,
    startupMs: on("slow-start")?.size ?? 5_000,
    crashes: on("crash") !== undefined,
    metricsDown,
  };
}

/**
 * Whether a Job is a migration (its name or a label says so).
 *
 * @example
 * ```ts
 * import { isMigrationJob } from "./scenarios.ts";
 * console.assert(isMigrationJob("db-migrate-42", {}) && !isMigrationJob("backup", {}));
 * ```
 */
export function isMigrationJob(name: string, labels: Record<string, string> | undefined): boolean {
  if (/migrat/i.test(name)) return true;
  return Object.entries(labels ?? {}).some(([k, v]) => /migrat/i.test(k) || /migrat/i.test(v));
}
