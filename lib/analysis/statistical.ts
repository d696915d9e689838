/**
 * One look of a statistical gate (the loop is `statistical_analysis.ts`): `sequential` gates run the anytime-valid
 * test of `sequential.ts` on each look's counts (errors of requests; requests slower
 * than the threshold for a latency quantile), `baseline` gates compare canary with
 * baseline at each look over the last `RECENT_LOOKS` looks (`baseline.ts`; `α` spent
 * evenly over the looks, so repeated looks keep the false-alarm rate within `α`; latencies
 * by Mann–Whitney, or, from a source with none, the shares over the threshold). Looks come
 * every `look` (default 10 s) from the start of the analysis, no initial delay; each
 * measures the window since the previous look, so no request counts twice. A breach
 * stops the analysis at once; a gate still undecided at the end fails (fail closed);
 * no data, NaN or a failed query never passes.
 * @module
 */
import type { GateSpec } from "../dsl/stage.ts";
import type { MetricDefinition } from "../dsl/gate.ts";
import type { SampleDecision, SampleRecord } from "../report/schema.ts";
import type { Evidence, Measurement, Target } from "./provider.ts";
import { sequentialBounds, type SequentialState, sequentialUpdate } from "./sequential.ts";
import {
  type Comparison,
  mannWhitneySorted,
  mergeSorted,
  proportionDifference,
} from "./baseline.ts";
import {
  baselineOf,
  canaryOf,
  type ComparedTarget,
  evidenceRecord,
  type Resolved,
} from "./targets.ts";

/** Latencies asked for per side and look (baseline gates on a latency quantile). */
const SAMPLES = 1000;
/** Fewest latencies per side for a Mann–Whitney comparison to count. */
const MIN_LATENCIES = 5;
/** A baseline comparison uses the last this many looks (a minute at 10 s looks). */
export const RECENT_LOOKS = 6;

/**
 * What a gate's metric is a share of, resolved against its threshold.
 *
 * @example
 * ```ts
 * import type { Share } from "./statistical.ts";
 * const s: Share = { p0: 0.01, events: (e) => e.errors, what: "errors" };
 * ```
 */
export interface Share {
  /** The threshold as a share of requests. */
  readonly p0: number;
  /** For a latency quantile: the threshold in ms (requests over it are counted). */
  readonly overMs?: number;
  /** The bad requests in a window's evidence, if the source counted them. */
  events(e: Evidence): number | undefined;
  /** What the bad requests are, for people. */
  readonly what: string;
}

/**
 * What a statistical gate's metric is a share of, or why it cannot be tested.
 *
 * @param g The gate.
 * @param metric Its metric's definition, if declared.
 * @returns The share, or the problem.
 *
 * @example
 * ```ts
 * import { shareOf } from "./statistical.ts";
 * import { parseGate } from "../dsl/gate.ts";
 * const g = { gate: parseGate("error_rate < 1%"), failureLimit: 0, consecutiveErrorLimit: 3 };
 * const s = shareOf(g, { unit: "%", query: "q", evidence: { kind: "error_ratio" } });
 * console.assert("p0" in s && s.p0 === 0.01);
 * ```
 */
export function shareOf(
  g: GateSpec,
  metric: MetricDefinition | undefined,
): Share | { problem: string } {
  const { gate } = g;
  if (!metric) return { problem: `metric ${gate.metric} is not declared` };
  const e = metric.evidence;
  const fix = `declare its evidence in the metric's definition ({ kind: "error_ratio" } or ` +
    `{ kind: "quantile", quantile: 0.95 }, with the queries that count requests)`;
  if (!e) return { problem: `${gate.metric} says nothing of its requests' counts; ${fix}` };
  if (e.kind === "error_ratio") {
    const p0 = metric.unit === "%"
      ? gate.threshold / 100
      : metric.unit === ""
      ? gate.threshold
      : NaN;
    if (!(p0 > 0 && p0 < 1)) {
      return { problem: `${gate.source}: an error ratio's threshold must be between 0 and 100%` };
    }
    return { p0, events: (ev) => ev.errors, what: "errors" };
  }
  const overMs = metric.unit === "ms"
    ? gate.threshold
    : metric.unit === "s"
    ? gate.threshold * 1000
    : NaN;
  if (!(e.quantile > 0 && e.quantile < 1) || !(overMs > 0)) {
    return {
      problem: `${gate.source}: a latency quantile needs a quantile in (0, 1) and a time threshold`,
    };
  }
  return {
    p0: 1 - e.quantile,
    overMs,
    events: (ev) => ev.overMs === overMs ? ev.over : undefined,
    what: `requests over ${overMs}ms`,
  };
}

/**
 * One target's state in one statistical gate.
 *
 * @example
 * ```ts ignore
 * const st: TargetState = { seq, errors: 0, lastTo: 0, conclusive: 0, minP: 1, lastDetail: "" };
 * ```
 */
export interface TargetState {
  seq: SequentialState;
  errors: number;
  lastTo: number;
  passedAt?: string;
  conclusive: number;
  minP: number;
  lastDetail: string;
  /** Baseline gates: the last {@linkcode RECENT_LOOKS} looks' evidence, canary and baseline. */
  recent?: { canary: Evidence; baseline: Evidence }[];
}

/**
 * An e-value from its log, kept finite for the report.
 *
 * @param log The log e-value.
 * @returns `exp(log)`, at most `Number.MAX_VALUE`.
 *
 * @example
 * ```ts
 * import { eValue } from "./statistical.ts";
 * console.assert(eValue(0) === 1 && Number.isFinite(eValue(1e6)));
 * ```
 */
export const eValue = (log: number): number => Math.min(Math.exp(log), Number.MAX_VALUE);

/**
 * `x` of `n` as a percentage for people.
 *
 * @param x The part.
 * @param n The whole.
 * @returns E.g. `"3%"`, or `"n/a"` for nothing.
 *
 * @example
 * ```ts
 * import { pct } from "./statistical.ts";
 * console.assert(pct(3, 100) === "3%" && pct(0, 0) === "n/a");
 * ```
 */
export const pct = (x: number, n: number): string =>
  n > 0 ? `${+(100 * x / n).toFixed(3)}%` : "n/a";

/** The batch a window's evidence adds: requests not seen at an earlier look. */
function batchOf(e: Evidence | undefined, share: Share, st: TargetState) {
  if (!e) return undefined;
  const events = share.events(e);
  if (events === undefined) return undefined;
  const from = Date.parse(e.from), to = Date.parse(e.to);
  // A window reaching back over the previous look's (a source's shortest window is
  // longer than the look): keep the new part's share of its counts.
  const f = from < st.lastTo && to > from ? Math.max(0, to - st.lastTo) / (to - from) : 1;
  st.lastTo = Math.max(st.lastTo, to);
  const trials = Math.round(e.requests * f);
  return { trials, events: Math.min(trials, Math.round(events * f)) };
}

/** Each look's latencies, sorted once: a window of looks is then a merge, not a sort. */
const SORTED = new WeakMap<Evidence, Float64Array>();

function sortedLatencies(e: Evidence): Float64Array {
  let sorted = SORTED.get(e);
  if (!sorted) {
    sorted = Float64Array.from(e.latencies ?? []).sort();
    SORTED.set(e, sorted);
  }
  return sorted;
}

/**
 * Canary against baseline over recent looks: a difference of error proportions, or for a
 * latency quantile Mann–Whitney U on latencies. A source that gives no latencies
 * (Prometheus has only its histogram) is compared on its counts of requests slower than
 * the threshold, as a difference of proportions. `NaN` p-value when there is too little
 * to compare.
 *
 * @param share What the metric is a share of (`overMs` set: a latency quantile).
 * @param recent The recent looks' evidence.
 * @returns The comparison, and `by` (what it compared).
 *
 * @example
 * ```ts
 * import { compare } from "./statistical.ts";
 * const e = (errors: number) => ({ requests: 600, errors, windowMs: 60_000, from: "", to: "" });
 * const c = compare({ p0: 0.01, events: (x) => x.errors, what: "errors" }, [{ canary: e(18), baseline: e(0) }]);
 * console.assert(c.pValue < 0.001 && c.by === "errors");
 * ```
 */
export function compare(
  share: Share,
  recent: readonly { canary: Evidence; baseline: Evidence }[],
): Comparison & { readonly by: "errors" | "latencies" | "over" } {
  const sum = (side: "canary" | "baseline", events: (e: Evidence) => number | undefined) =>
    recent.reduce((a, r) => ({
      events: a.events + (events(r[side]) ?? NaN),
      trials: a.trials + r[side].requests,
    }), { events: 0, trials: 0 });
  if (share.overMs === undefined) {
    const errors = (e: Evidence) => e.errors;
    return {
      ...proportionDifference(sum("canary", errors), sum("baseline", errors)),
      by: "errors",
    };
  }
  const lat = (side: "canary" | "baseline") =>
    mergeSorted(recent.map((r) => sortedLatencies(r[side])));
  const noLatencies = recent.every((r) => !r.canary.latencies && !r.baseline.latencies);
  if (noLatencies) {
    // Requests over the threshold (`over`, the source's histogram bucket), when counted.
    const over = (e: Evidence) => e.overMs === share.overMs ? e.over : undefined;
    return { ...proportionDifference(sum("canary", over), sum("baseline", over)), by: "over" };
  }
  const [c, b] = [lat("canary"), lat("baseline")];
  if (c.length < MIN_LATENCIES || b.length < MIN_LATENCIES) {
    return { statistic: NaN, z: NaN, pValue: NaN, by: "latencies" };
  }
  return { ...mannWhitneySorted(c, b), by: "latencies" };
}

/**
 * Measures one target at one look of a statistical gate, updating its state.
 *
 * @returns The look's sample, with its evidence and where the gate stands.
 *
 * @example
 * ```ts ignore
 * const sample = await look(gate, share, resolved, target, state, 10_000, 90);
 * ```
 */
export async function look(
  g: GateSpec,
  share: Share,
  o: Resolved,
  target: Target | ComparedTarget,
  st: TargetState,
  windowMs: number,
  horizon: number,
): Promise<SampleRecord> {
  const metric = { ...o.metrics[g.gate.metric]!, name: g.gate.metric };
  const baseline = g.decision!.method === "baseline";
  const ask = {
    windowMs,
    ...(share.overMs !== undefined ? { overMs: share.overMs } : {}),
    ...(baseline && share.overMs !== undefined ? { samples: SAMPLES } : {}),
  };
  const canary = canaryOf(target);
  const against = baseline ? baselineOf(target) : undefined;
  const [m, b] = await Promise.all([
    o.provider.measure(metric, canary, ask),
    against ? o.provider.measure(metric, against, ask) : undefined,
  ]);
  const at = new Date(o.clock.now()).toISOString();
  const base = { at, labels: { ...canary } };
  const failed = [m, b].find((x): x is Measurement & { kind: "error" } => x?.kind === "error");
  if (failed) {
    st.errors++;
    st.lastDetail = failed.detail;
    return { ...base, value: null, verdict: "error", detail: failed.detail };
  }
  st.errors = 0;
  const value = m.kind === "value" ? m.value : null;
  const evidence = m.kind !== "error" && m.evidence ? evidenceRecord(m.evidence) : undefined;
  const withEvidence = { ...base, value, ...(evidence ? { evidence } : {}) };
  const noCounts = (detail: string): SampleRecord => {
    st.lastDetail = detail;
    return { ...withEvidence, verdict: "inconclusive", detail };
  };
  if (baseline) {
    const be = b && b.kind !== "error" ? b.evidence : undefined;
    const ce = m.kind !== "error" ? m.evidence : undefined;
    if (!ce || !be) {
      return noCounts(m.kind === "inconclusive" ? m.detail : "no counts from the source");
    }
    st.recent = [...(st.recent ?? []), { canary: ce, baseline: be }].slice(-RECENT_LOOKS);
    const c = compare(share, st.recent);
    const level = (1 - g.decision!.confidence) / horizon;
    const sample = { ...withEvidence, baseline: evidenceRecord(be) };
    if (Number.isNaN(c.pValue)) {
      st.lastDetail =
        `too little to compare (${ce.requests} canary, ${be.requests} baseline requests)`;
      return { ...sample, verdict: "inconclusive", detail: st.lastDetail };
    }
    st.conclusive++;
    st.minP = Math.min(st.minP, c.pValue);
    const state = c.pValue < level ? "breach" : "undecided";
    const decision: SampleDecision = { state, pValue: c.pValue, level };
    const how = c.by === "over"
      ? { detail: `the source gives no latencies: compared the shares of ${share.what}` }
      : {};
    return { ...sample, verdict: state === "breach" ? "failed" : "successful", decision, ...how };
  }
  const batch = batchOf(m.kind !== "error" ? m.evidence : undefined, share, st);
  if (!batch) {
    return noCounts(
      m.kind === "inconclusive"
        ? m.detail
        : `the source gave no counts of requests and ${share.what}`,
    );
  }
  st.seq = sequentialUpdate(st.seq, batch);
  const bounds = sequentialBounds(st.seq);
  if (bounds.decision === "pass" && !st.passedAt) st.passedAt = at;
  const state = bounds.decision === "breach" ? "breach" : st.passedAt ? "pass" : "undecided";
  const decision: SampleDecision = {
    state,
    breachE: eValue(bounds.breachLogE),
    passE: eValue(bounds.passLogE),
  };
  const verdict = state === "breach"
    ? "failed"
    : batch.trials === 0
    ? "inconclusive"
    : "successful";
  return {
    ...withEvidence,
    verdict,
    decision,
    ...(batch.trials === 0 ? { detail: "no requests in the window" } : {}),
  };
}
