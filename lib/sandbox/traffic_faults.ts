/**
 * Faults as shifts from a healthy version: {@linkcode FaultSpec}, the scenario text
 * ({@linkcode parseScenario}: `high-error-rate@4m`, `latency:1s@random/api`, ...), the
 * healthy profile ({@linkcode HEALTHY_PROFILE}) and how active faults move it
 * ({@linkcode faultedProfile}). A random onset is drawn from the run's seed.
 * @module
 */
import { seededRandom } from "../random/mod.ts";
import { parseDuration } from "./measurements.ts";
/** What a fault does. */
export type FaultKind =
  | "errors"
  | "latency"
  | "crash"
  | "slow-start"
  | "migration"
  | "metrics-down";

/**
 * One fault of a scenario, as {@linkcode parseScenario} reads it.
 *
 * @example
 * ```ts
 * import type { FaultSpec } from "./scenarios.ts";
 * const f: FaultSpec = { kind: "errors", name: "high-error-rate", size: 0.03, onsetMs: 240_000 };
 * ```
 */
export interface FaultSpec {
  /** What the fault does. */
  readonly kind: FaultKind;
  /** The scenario name it was written as (e.g. `high-error-rate`). */
  readonly name: string;
  /**
   * How big: `errors` — the fraction of requests added to the error rate (0.03 = +3
   * points); `latency` — milliseconds added to every request (median and p95 move by it);
   * `slow-start` — milliseconds from start to Ready; other kinds: 0.
   */
  readonly size: number;
  /** `latency` only: the p95 becomes at least this many ms (scenario `slow`). */
  readonly p95Ms?: number;
  /** Target ms after the version is first deployed when the fault starts (0: at once). */
  readonly onsetMs: number;
  /** The services it hits (by name); omitted: every service. */
  readonly services?: readonly string[];
}

/** A version's traffic profile: its error rate and latency distribution (log-normal). */
export interface ServiceProfile {
  /** Fraction of requests answered with HTTP 500 (0..1). */
  readonly errorRate: number;
  /** Median latency, ms. */
  readonly medianMs: number;
  /** 95th percentile latency, ms (> median). */
  readonly p95Ms: number;
}

/**
 * A healthy version: 0.05% errors, median 60 ms, p95 140 ms (a service whose environment
 * file gives no profile of its own).
 *
 * @example
 * ```ts
 * import { HEALTHY_PROFILE } from "./scenarios.ts";
 * console.assert(HEALTHY_PROFILE.errorRate === 0.0005);
 * ```
 */
export const HEALTHY_PROFILE: ServiceProfile = Object.freeze({
  errorRate: 0.0005,
  medianMs: 60,
  p95Ms: 140,
});

/** The z-score of the 95th percentile of a normal distribution. */
const Z95 = 1.6448536269514722;
/** A random onset without bounds is drawn from [0, 15 minutes). */
const RANDOM_ONSET_MS = 900_000;

type SizeUnit = "percent" | "duration" | "none";
interface Definition {
  readonly kind: FaultKind;
  readonly size: number;
  readonly unit: SizeUnit;
  readonly p95Ms?: number;
  readonly onset: boolean;
  readonly text: string;
}

const DEFINITIONS: Readonly<Record<string, Definition>> = {
  "canary-errors": {
    kind: "errors",
    size: 0.03,
    unit: "percent",
    onset: true,
    text: "the version being deployed fails 3% more of its requests (HTTP 500); " +
      "canary-errors:5% for another size",
  },
  "high-error-rate": {
    kind: "errors",
    size: 0.03,
    unit: "percent",
    onset: true,
    text: "the same as canary-errors",
  },
  "slow": {
    kind: "latency",
    size: 0,
    p95Ms: 2500,
    unit: "none",
    onset: true,
    text: "the version being deployed answers with a p95 latency of 2,500 ms",
  },
  "latency": {
    kind: "latency",
    size: 500,
    unit: "duration",
    onset: true,
    text: "the version being deployed answers 500 ms slower (median and p95); latency:1s for 1 s",
  },
  "crashloop": {
    kind: "crash",
    size: 0,
    unit: "none",
    onset: true,
    text: "the version being deployed never becomes Ready (CrashLoopBackOff, restarts grow)",
  },
  "crash-loop": {
    kind: "crash",
    size: 0,
    unit: "none",
    onset: true,
    text: "the same as crashloop",
  },
  "slow-rollout": {
    kind: "slow-start",
    size: 180_000,
    unit: "duration",
    onset: false,
    text: "pods of the version being deployed take 3 minutes of sandbox time to become Ready",
  },
  "migration-fails": {
    kind: "migration",
    size: 0,
    unit: "none",
    onset: false,
    text: "a Job whose name or labels mark it as a migration fails (BackoffLimitExceeded)",
  },
  "metrics-down": {
    kind: "metrics-down",
    size: 0,
    unit: "none",
    onset: true,
    text: "the metrics source is unreachable: measurements answer 503, pods' /metrics fail",
  },
};

/** The fault scenarios, by name, with a one-line description each. */
export const SCENARIOS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(DEFINITIONS).map(([name, d]) => [name, d.text])),
);

/** The scenario text forms, for error messages and usage. */
export const SCENARIO_FORMS: string =
  '<name>[:<size>][@<onset>][/<service>[+<service>...]], several joined by "," ' +
  '(size: "5%" for errors, "1s" for latency; onset: "4m", "random" or "1m..10m" after ' +
  'the version is first deployed), e.g. "high-error-rate@4m", "latency:1s@random/api"';

function refuse(text: string, why: string): never {
  throw new RangeError(`Cannot use scenario "${text}": ${why}. Valid forms: ${SCENARIO_FORMS}`);
}

function parseSize(text: string, name: string, def: Definition, size: string): number {
  const clean = size.replace(/^\+/, "");
  if (def.unit === "percent") {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(clean);
    const value = m ? Number(m[1]) / 100 : NaN;
    if (!(value > 0 && value <= 1)) {
      refuse(text, `the size of ${name} is a percentage from 0% to 100% like "5%", not "${size}"`);
    }
    return value;
  }
  if (def.unit === "duration") {
    let ms = NaN;
    try {
      ms = parseDuration(clean);
    } catch { /* refused below */ }
    if (!(ms > 0)) refuse(text, `the size of ${name} is a duration like "500ms" or "1s"`);
    return ms;
  }
  return refuse(text, `${name} takes no size`);
}

function parseOnset(text: string, name: string, onset: string, draw: () => number): number {
  const at = (part: string) => {
    try {
      return parseDuration(part);
    } catch {
      return refuse(text, `the onset of ${name} is a duration like "4m", "random" or "1m..10m"`);
    }
  };
  if (onset === "random") return Math.floor(draw() * RANDOM_ONSET_MS);
  const range = onset.split("..");
  if (range.length === 2) {
    const [from, to] = [at(range[0] ?? ""), at(range[1] ?? "")];
    if (!(to > from)) refuse(text, `the onset range ${onset} must end after it starts`);
    return from + Math.floor(draw() * (to - from));
  }
  return at(onset);
}

function parseFault(text: string, part: string, draw: () => number): FaultSpec {
  const m = /^([a-z-]+)(?::([^@/]+))?(?:@([^/]+))?(?:\/(.+))?$/.exec(part);
  const name = m?.[1] ?? part;
  const def = Object.hasOwn(DEFINITIONS, name) ? DEFINITIONS[name] : undefined;
  if (!m || !def) {
    refuse(
      text,
      `unknown scenario "${part}"; known scenarios are ${Object.keys(DEFINITIONS).join(", ")}`,
    );
  }
  const [, , size, onset, services] = m;
  if (onset !== undefined && !def.onset) {
    refuse(text, `${name} has no onset (it acts when the pods start or the Job runs)`);
  }
  const names = services?.split("+") ?? [];
  for (const s of names) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s)) {
      refuse(text, `"${s}" is not a service name (lowercase letters, digits and "-")`);
    }
  }
  return {
    kind: def.kind,
    name,
    size: size === undefined ? def.size : parseSize(text, name, def, size),
    ...(def.p95Ms !== undefined ? { p95Ms: def.p95Ms } : {}),
    onsetMs: onset === undefined ? 0 : parseOnset(text, name, onset, draw),
    ...(names.length ? { services: names } : {}),
  };
}

/**
 * Reads a scenario: `""`, `none` or `undefined` is no fault; else one or more faults
 * ({@linkcode SCENARIO_FORMS}). A random onset is drawn from `seed`: the same text and
 * seed give the same faults.
 *
 * @param text The scenario as written (`--scenario`).
 * @param options `seed`: what random onsets are drawn from (default 0).
 * @returns The faults, in the order written.
 * @throws {RangeError} Naming the part at fault and the valid forms.
 *
 * @example
 * ```ts
 * import { parseScenario } from "./scenarios.ts";
 * import assert from "node:assert/strict";
 * const [f] = parseScenario("high-error-rate:5%@4m/api");
 * assert.deepEqual(f, { kind: "errors", name: "high-error-rate", size: 0.05, onsetMs: 240_000, services: ["api"] });
 * assert.throws(() => parseScenario("chaos-monkey"), /unknown scenario "chaos-monkey"/);
 * ```
 */
export function parseScenario(
  text: string | undefined,
  options: { seed?: number | string } = {},
): FaultSpec[] {
  const trimmed = (text ?? "").trim();
  if (trimmed === "" || trimmed === "none") return [];
  return trimmed.split(",").map((part, i) => {
    const random = seededRandom(`${options.seed ?? 0}|scenario|${i}`);
    return parseFault(trimmed, part.trim(), () => random.next());
  });
}

/**
 * Whether a fault is on, for a version first deployed `sinceDeployMs` ago (`undefined`:
 * the version is not the one being deployed, so no version fault applies to it).
 *
 * @param fault The fault.
 * @param sinceDeployMs Target ms since the version was first deployed, or `undefined`.
 * @param service The pod's service, when the fault names some.
 * @returns Whether it acts now.
 *
 * @example
 * ```ts
 * import { faultActive, parseScenario } from "./scenarios.ts";
 * const [f] = parseScenario("high-error-rate@4m");
 * console.assert(!faultActive(f!, 60_000) && faultActive(f!, 240_000));
 * ```
 */
export function faultActive(
  fault: FaultSpec,
  sinceDeployMs: number | undefined,
  service?: string,
): boolean {
  if (sinceDeployMs === undefined || sinceDeployMs < fault.onsetMs) return false;
  return !fault.services || service === undefined || fault.services.includes(service);
}

/**
 * A profile with the active error and latency faults applied: errors add to the error
 * rate (at most 100%); latency adds to every request, so median and p95 move alike (`slow`
 * moves them until the p95 is 2,500 ms).
 *
 * @param base The healthy profile.
 * @param faults The scenario's faults.
 * @param sinceDeployMs Target ms since the version was first deployed, or `undefined` when
 *   it is not the version being deployed.
 * @param service The service's name (for faults limited to some services).
 * @returns The profile now.
 *
 * @example
 * ```ts
 * import { faultedProfile, HEALTHY_PROFILE, parseScenario } from "./scenarios.ts";
 * const p = faultedProfile(HEALTHY_PROFILE, parseScenario("latency"), 0);
 * console.assert(p.p95Ms === HEALTHY_PROFILE.p95Ms + 500);
 * ```
 */
export function faultedProfile(
  base: ServiceProfile,
  faults: readonly FaultSpec[],
  sinceDeployMs: number | undefined,
  service?: string,
): ServiceProfile {
  let { errorRate, medianMs, p95Ms } = base;
  for (const f of faults) {
    if (!faultActive(f, sinceDeployMs, service)) continue;
    if (f.kind === "errors") errorRate = Math.min(1, errorRate + f.size);
    if (f.kind === "latency") {
      const add = Math.max(f.size, (f.p95Ms ?? 0) - p95Ms);
      medianMs += add;
      p95Ms += add;
    }
  }
  return { errorRate, medianMs, p95Ms };
}

/**
 * The log-normal parameters of a profile: `mu = ln(median)`, `sigma = ln(p95/median)/1.645`.
 *
 * @example
 * ```ts
 * import { lognormalOf } from "./scenarios.ts";
 * const { mu, sigma } = lognormalOf({ errorRate: 0, medianMs: 100, p95Ms: 300 });
 * console.assert(Math.abs(Math.exp(mu + 1.6449 * sigma) - 300) < 0.1);
 * ```
 */
export function lognormalOf(profile: ServiceProfile): { mu: number; sigma: number } {
  const ratio = Math.max(1, profile.p95Ms / profile.medianMs);
  return { mu: Math.log(profile.medianMs), sigma: Math.log(ratio) / Z95 };
}
