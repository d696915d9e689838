/**
 * What gate analysis measures: targets (label sets, or `{ canary, baseline }` pairs),
 * how they read for people, and the evidence of a measurement as the report keeps it.
 * @module
 */
import type { ComparedTarget } from "../dsl/gate.ts";
import type { MetricDefinition } from "../dsl/gate.ts";
import type { GateSpec } from "../dsl/stage.ts";
import type { Clock } from "../clock/mod.ts";
import type { SampleEvidence, SampleRecord } from "../report/schema.ts";
import type { Evidence, MetricsProvider, SampleProgress, Target } from "./provider.ts";

export type { ComparedTarget };

/**
 * What both kinds of analysis are given: `analyzeGates`' options, resolved.
 *
 * @example
 * ```ts ignore
 * const r: Resolved = { provider, metrics, targets, clock, settleMs: 0, signal };
 * ```
 */
export interface Resolved {
  readonly provider: MetricsProvider;
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  readonly targets: readonly (Target | ComparedTarget)[];
  readonly clock: Clock;
  readonly settleMs: number;
  readonly signal: AbortSignal;
  readonly onSample?: (
    gate: GateSpec,
    target: Target,
    sample: SampleRecord,
    progress: SampleProgress,
  ) => void;
}

/**
 * The labels a target's measurements are taken on (a compared target's canary).
 *
 * @param t A target.
 * @returns Its canary's labels, or the target itself.
 *
 * @example
 * ```ts
 * import { canaryOf } from "./targets.ts";
 * console.assert(canaryOf({ canary: { slot: "green" }, baseline: { slot: "blue" } }).slot === "green");
 * ```
 */
export function canaryOf(t: Target | ComparedTarget): Target {
  return isCompared(t) ? t.canary : t;
}

/**
 * Whether a target is a `{ canary, baseline }` pair.
 *
 * @param t A target.
 * @returns `true` for a pair.
 *
 * @example
 * ```ts
 * import { isCompared } from "./targets.ts";
 * console.assert(!isCompared({ service: "api" }));
 * ```
 */
export function isCompared(t: Target | ComparedTarget): t is ComparedTarget {
  const c = (t as ComparedTarget).canary;
  return typeof c === "object" && c !== null;
}

/**
 * Why a `{ canary, baseline: null }` target is not compared by a baseline gate.
 *
 * @example
 * ```ts
 * import { NO_BASELINE } from "./targets.ts";
 * console.assert(NO_BASELINE.includes("baseline: null"));
 * ```
 */
export const NO_BASELINE = "no live slot to compare with: the stage said baseline: null";

/**
 * What a baseline gate compares a target with: its baseline's labels; `null` when the
 * stage said there is none (`baseline: null`); `undefined` when the target is no pair, or
 * its baseline is missing or malformed (a baseline gate then fails closed).
 *
 * @param t A target.
 * @returns The baseline's labels, `null`, or `undefined`.
 *
 * @example
 * ```ts
 * import { baselineOf } from "./targets.ts";
 * console.assert(baselineOf({ canary: { slot: "green" }, baseline: { slot: "blue" } })?.slot === "blue");
 * console.assert(baselineOf({ canary: { slot: "green" }, baseline: null }) === null);
 * console.assert(baselineOf({ slot: "green" }) === undefined);
 * ```
 */
export function baselineOf(t: Target | ComparedTarget): Target | null | undefined {
  if (!isCompared(t)) return undefined;
  const b = (t as { baseline?: unknown }).baseline;
  if (b === null) return null;
  return typeof b === "object" && b !== undefined && !Array.isArray(b) ? b as Target : undefined;
}

/**
 * A target's labels for people (`service=api,slot=green`), the namespace left out.
 *
 * @param t The target.
 * @returns The labels, or `all`.
 *
 * @example
 * ```ts
 * import { describeTarget } from "./targets.ts";
 * console.assert(describeTarget({ namespace: "x", service: "api" }) === "service=api");
 * ```
 */
export function describeTarget(t: Target): string {
  return Object.entries(t).filter(([k]) => k !== "namespace").map(([k, v]) => `${k}=${v}`).join(
    ",",
  ) || "all";
}

/**
 * A measurement's evidence as the report keeps it: counts and window (the latencies
 * themselves are not kept, only how many there were).
 *
 * @param e The provider's evidence.
 * @returns The sample's evidence.
 *
 * @example
 * ```ts
 * import { evidenceRecord } from "./targets.ts";
 * const e = evidenceRecord({ requests: 3, errors: 0, windowMs: 10_000, from: "1970-01-01T00:00:00.000Z", to: "1970-01-01T00:00:10.000Z", latencies: [1, 2, 3] });
 * console.assert(e.latencies === 3 && e.requests === 3);
 * ```
 */
export function evidenceRecord(e: Evidence): SampleEvidence {
  const { latencies, ...rest } = e;
  return { ...rest, ...(latencies ? { latencies: latencies.length } : {}) };
}
