/**
 * The fault scenarios a sandbox can run, and how a pod of the version being deployed (or a
 * migration Job) behaves under each. A healthy version has a small baseline error rate and
 * a latency distribution; a fault is a *shift* from it or a failure, and may start a while
 * after the version is first deployed (`high-error-rate@4m`) or at a moment drawn from the
 * seed: the text, the specs and the shifts are in `traffic_faults.ts` (re-exported here).
 * Faults of the cluster's Jobs rather than of a version's traffic (`tests-fail`: the Jobs
 * labelled `type=test` fail) are read here and acted on by the Job controller.
 * @module
 */
import {
  faultActive,
  faultedProfile,
  type FaultKind,
  type FaultSpec,
  HEALTHY_PROFILE,
  lognormalOf,
  parseScenario as parseTrafficScenario,
  SCENARIO_FORMS,
  SCENARIOS as TRAFFIC_SCENARIOS,
  type ServiceProfile,
} from "./traffic_faults.ts";
import { API_CHAOS, API_CHAOS_TEXT, splitApiChaos } from "./api_chaos.ts";

export * from "./traffic_faults.ts";
export * from "./api_chaos.ts";

/**
 * The Job faults, by name: they change no version's traffic, only how Jobs end.
 *
 * @example
 * ```ts
 * import { JOB_SCENARIOS } from "./scenarios.ts";
 * console.assert("tests-fail" in JOB_SCENARIOS);
 * ```
 */
export const JOB_SCENARIOS: Readonly<Record<string, string>> = Object.freeze({
  "tests-fail": "every Job labelled type=test (smoke and integration tests) fails: its pod " +
    "exits 1 and the Job ends BackoffLimitExceeded; tests-fail/<suite> for one suite label",
});

/**
 * Every fault scenario, by name, with a one-line description: the traffic faults, the
 * Job faults ({@linkcode JOB_SCENARIOS}) and the API's (`api-chaos`, `api_chaos.ts`).
 *
 * @example
 * ```ts
 * import { SCENARIOS } from "./scenarios.ts";
 * console.assert("canary-errors" in SCENARIOS && "tests-fail" in SCENARIOS);
 * ```
 */
export const SCENARIOS: Readonly<Record<string, string>> = Object.freeze({
  ...TRAFFIC_SCENARIOS,
  ...JOB_SCENARIOS,
  [API_CHAOS]: API_CHAOS_TEXT,
});

/** A Job fault of a scenario: which test suites fail (`undefined`: every suite). */
export interface JobFault {
  /** The scenario name (`tests-fail`). */
  readonly name: string;
  /** The `suite` labels it fails; omitted: every Job labelled `type=test`. */
  readonly suites?: readonly string[];
}

function splitParts(text: string | undefined): { jobs: JobFault[]; rest: string } {
  // The API's faults are the API server's (api_chaos.ts), not a version's or a Job's.
  const trimmed = splitApiChaos(text).rest.trim();
  if (trimmed === "" || trimmed === "none") return { jobs: [], rest: "" };
  const jobs: JobFault[] = [];
  const rest: string[] = [];
  for (const raw of trimmed.split(",")) {
    const part = raw.trim();
    const m = /^([a-z-]+)(.*)$/.exec(part);
    if (!m || !Object.hasOwn(JOB_SCENARIOS, m[1]!)) {
      rest.push(part);
      continue;
    }
    const suffix = m[2] ?? "";
    const suites = /^\/([a-z0-9-]+(\+[a-z0-9-]+)*)$/.exec(suffix)?.[1]?.split("+");
    if (suffix !== "" && !suites) {
      throw new RangeError(
        `Cannot use scenario "${trimmed}": ${m[1]} takes no size or onset, only ` +
          `"/<suite>[+<suite>...]" (a Job's suite label, e.g. ${m[1]}/smoke). ` +
          `Valid forms: ${SCENARIO_FORMS}`,
      );
    }
    jobs.push({ name: m[1]!, ...(suites ? { suites } : {}) });
  }
  return { jobs, rest: rest.join(",") };
}

/**
 * Reads a scenario's traffic faults (`traffic_faults.ts`' forms); its Job faults
 * ({@linkcode JOB_SCENARIOS}) are checked and left out (see {@linkcode jobFaultsOf}).
 *
 * @param text The scenario as written (`--scenario`).
 * @param options `seed`: what random onsets are drawn from (default 0).
 * @returns The traffic faults, in the order written.
 * @throws {RangeError} Naming the part at fault and the valid forms.
 *
 * @example
 * ```ts
 * import { parseScenario } from "./scenarios.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseScenario("tests-fail,canary-errors").length, 1);
 * assert.deepEqual(parseScenario("tests-fail"), []);
 * ```
 */
export function parseScenario(
  text: string | undefined,
  options: { seed?: number | string } = {},
): FaultSpec[] {
  return parseTrafficScenario(splitParts(text).rest, options);
}

/**
 * A scenario's Job faults (`tests-fail`, `tests-fail/smoke`).
 *
 * @param text The scenario as written.
 * @returns The Job faults, in the order written.
 * @throws {RangeError} For a Job fault with a size or an onset.
 *
 * @example
 * ```ts
 * import { jobFaultsOf } from "./scenarios.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(jobFaultsOf("canary-errors,tests-fail/smoke"), [
 *   { name: "tests-fail", suites: ["smoke"] },
 * ]);
 * ```
 */
export function jobFaultsOf(text: string | undefined): JobFault[] {
  return splitParts(text).jobs;
}

/**
 * Whether a Job fails under a scenario's Job faults: a Job labelled `type=test` fails under
 * `tests-fail` (or `tests-fail/<suite>` when its `suite` label is one of them).
 *
 * @param text The scenario as written.
 * @param labels The Job's labels.
 * @returns Whether its pods fail.
 *
 * @example
 * ```ts
 * import { testJobFails } from "./scenarios.ts";
 * console.assert(testJobFails("tests-fail", { type: "test", suite: "smoke" }));
 * console.assert(!testJobFails("tests-fail/integration", { type: "test", suite: "smoke" }));
 * console.assert(!testJobFails("tests-fail", { job: "backup" }));
 * ```
 */
export function testJobFails(
  text: string | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (labels?.type !== "test") return false;
  return jobFaultsOf(text).some((f) =>
    !f.suites || (labels.suite !== undefined && f.suites.includes(labels.suite))
  );
}
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
 * console.assert(checkScenario("tests-fail") === "tests-fail");
 * console.assert(checkScenario("api-chaos:30%") === "api-chaos:30%");
 * ```
 */
export function checkScenario(name: string | undefined): string | undefined {
  let some: boolean;
  try {
    some = parseScenario(name).length > 0 || jobFaultsOf(name).length > 0 ||
      splitApiChaos(name).chaos !== undefined;
  } catch (error) {
    // The traffic faults' parser knows its own names: the Jobs' are scenarios too.
    if (!(error instanceof RangeError) || !error.message.includes("known scenarios are ")) {
      throw error;
    }
    throw new RangeError(
      error.message.replace(
        /known scenarios are ([^;]+)/,
        (_, list) =>
          `known scenarios are ${list}, ${[...Object.keys(JOB_SCENARIOS), API_CHAOS].join(", ")}`,
      ),
    );
  }
  return some ? (name ?? "").trim() : undefined;
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
