/**
 * The loop of the statistical gates (`decide: "sequential"` or `"baseline"`): one look
 * every `look` from the start of the analysis (no initial delay), every target measured
 * at each, over the window since the previous look; a breach stops it at once; at the
 * end, a gate still undecided fails (fail closed); a gate stopped early (another breached,
 * or the run was interrupted) is not measured, never passed. A baseline gate compares each
 * `{ canary, baseline }` pair; a pair whose stage said `baseline: null` (nothing live) is
 * named as not compared and does not fail it; a target with no baseline named fails it
 * closed. Each look's math is `statistical.ts`.
 * @module
 */
import type { AnalysisSpec, GateSpec } from "../dsl/stage.ts";
import type { GateRecord } from "../report/schema.ts";
import { gateRecord } from "../report/gate_record.ts";
import { sequentialBounds, sequentialStart } from "./sequential.ts";
import { eValue, look, pct, type Share, shareOf, type TargetState } from "./statistical.ts";
import { baselineOf, canaryOf, describeTarget, NO_BASELINE, type Resolved } from "./targets.ts";
import { SharedTicks } from "./ticks.ts";

/** The analysis' shared look times (target ms since it began). */
interface Looks {
  readonly ticks: SharedTicks;
}

/** A gate's outcome: its record, and when it failed. */
interface Outcome {
  readonly record: GateRecord;
  readonly breachedAt?: string;
  /** Never to be measured (a baseline gate with nothing live to compare with). */
  readonly unmeasured?: true;
}

function failNow(rec: GateRecord, reason: string, at: string): Outcome {
  rec.verdict = "failed";
  rec.reason = reason;
  return { record: rec, breachedAt: at };
}

/** Why a gate cannot run at all, or undefined. */
function problemOf(g: GateSpec, share: Share | { problem: string }, o: Resolved) {
  if ("problem" in share) return share.problem;
  if (o.targets.length === 0) {
    return "nothing to measure: no targets were given (a stage names them in its output's analysisTargets)";
  }
  const unpaired = o.targets.find((t) => baselineOf(t) === undefined);
  if (g.decision!.method === "baseline" && unpaired) {
    return `a baseline gate compares each target with its baseline: the stage's analysisTargets ` +
      `must be { canary: {...}, baseline: {...} } pairs (e.g. the new and the live slot), or ` +
      `{ canary: {...}, baseline: null } when nothing is live to compare with; ` +
      `${describeTarget(canaryOf(unpaired))} names no baseline`;
  }
  return undefined;
}

/** Fills in the gate's decision record from its targets' states. */
function decisionOf(g: GateSpec, states: TargetState[], horizon: number, lookMs: number) {
  const d = g.decision!;
  const breach = Math.max(...states.map((s) => sequentialBounds(s.seq).breachLogE));
  const pass = Math.min(...states.map((s) => sequentialBounds(s.seq).passLogE));
  return {
    method: d.method,
    confidence: d.confidence,
    lookMs,
    horizon,
    state: "undecided" as "breach" | "pass" | "undecided",
    ...(d.method === "sequential"
      ? {
        bound: +(1 / (1 - d.confidence)).toPrecision(12),
        breachE: eValue(breach),
        passE: eValue(pass),
      }
      : { pValue: Math.min(1, ...states.map((s) => s.minP)) }),
    requests: states.reduce((n, s) => n + s.seq.trials, 0),
    events: states.reduce((n, s) => n + s.seq.events, 0),
  };
}

/**
 * Runs one statistical gate. A baseline gate leaves out the targets whose stage said
 * `baseline: null` (nothing live to compare with), naming them in its reason; with none
 * left it is not measured (and does not fail). A target with no baseline named at all
 * fails closed (`problemOf`).
 */
async function runGate(
  g: GateSpec,
  analysis: AnalysisSpec,
  o: Resolved,
  signal: AbortSignal,
  looks: Looks,
): Promise<Outcome> {
  const alone = o.targets.filter((t) => baselineOf(t) === null);
  if (
    g.decision!.method !== "baseline" || alone.length === 0 ||
    problemOf(g, shareOf(g, o.metrics[g.gate.metric]), o)
  ) {
    return await measureGate(g, analysis, o, signal, looks);
  }
  const note = `not compared for ${alone.map((t) => describeTarget(canaryOf(t))).join("; ")}: ` +
    NO_BASELINE;
  const compared = o.targets.filter((t) => baselineOf(t));
  if (compared.length === 0) {
    const reason = `${g.gate.source} ${note}`;
    return { record: gateRecord(g, { verdict: "not_measured", reason }), unmeasured: true };
  }
  const out = await measureGate(g, analysis, { ...o, targets: compared }, signal, looks);
  out.record.reason = out.record.reason ? `${out.record.reason}; ${note}` : note;
  return out;
}

/**
 * Measures one statistical gate over the analysis: looks at `begin + settle + i × look`,
 * on the timers the analysis' gates share.
 */
async function measureGate(
  g: GateSpec,
  analysis: AnalysisSpec,
  o: Resolved,
  signal: AbortSignal,
  looks: Looks,
): Promise<Outcome> {
  const clock = o.clock;
  const stamp = () => new Date(clock.now()).toISOString();
  const rec = gateRecord(g, { verdict: "not_measured" });
  const share = shareOf(g, o.metrics[g.gate.metric]);
  const problem = problemOf(g, share, o);
  if (problem) return failNow(rec, `${g.gate.source} cannot be decided: ${problem}`, stamp());
  const s = share as Share;
  const d = g.decision!;
  const lookMs = Math.max(d.lookMs, o.provider.minWindowMs ?? 0);
  const horizon = analysis.durationMs > 0
    ? Math.max(1, Math.floor(analysis.durationMs / lookMs))
    : 1;
  const states: TargetState[] = o.targets.map(() => ({
    seq: sequentialStart({ threshold: s.p0, confidence: d.confidence, horizon }),
    errors: 0,
    lastTo: -Infinity,
    conclusive: 0,
    minP: 1,
    lastDetail: "",
  }));
  const finish = (state: "breach" | "pass" | "undecided", at?: string) => {
    rec.decision = {
      ...decisionOf(g, states, horizon, lookMs),
      state,
      ...(at ? { decidedAt: at } : {}),
    };
  };
  for (let i = 1; i <= horizon && !signal.aborted; i++) {
    if (!await looks.ticks.at(o.settleMs + i * lookMs, signal)) break;
    const samples = await Promise.all(
      o.targets.map((t, ti) => look(g, s, o, t, states[ti]!, lookMs, horizon)),
    );
    samples.forEach((sample, ti) => {
      rec.samples.push(sample);
      o.onSample?.(g, canaryOf(o.targets[ti]!), sample, { look: i, of: horizon, everyMs: lookMs });
    });
    for (const [ti, sample] of samples.entries()) {
      const st = states[ti]!;
      const who = describeTarget(canaryOf(o.targets[ti]!));
      if (sample.decision?.state === "breach") {
        finish("breach", sample.at);
        const why = d.method === "sequential"
          ? `the evidence says above the threshold at ${d.confidence * 100}% confidence ` +
            `(e-value ${sample.decision.breachE!.toPrecision(3)} >= ${+(1 / (1 - d.confidence))
              .toFixed(1)} after ` +
            `${st.seq.trials} requests, ${st.seq.events} ${s.what} (${
              pct(st.seq.events, st.seq.trials)
            }) in ${i} looks)`
          : `the canary is worse than its baseline at ${d.confidence * 100}% confidence ` +
            `(p = ${sample.decision.pValue!.toPrecision(3)} < ${
              sample.decision.level!.toPrecision(3)
            }, look ${i} of ${horizon})`;
        return failNow(rec, `${g.gate.source} breached for ${who}: ${why}`, sample.at);
      }
      if (st.errors > g.consecutiveErrorLimit) {
        finish("undecided");
        return failNow(
          rec,
          `${g.gate.metric} could not be measured for ${who}: ${st.errors} consecutive errors > ` +
            `limit ${g.consecutiveErrorLimit} (${st.lastDetail})`,
          sample.at,
        );
      }
    }
  }
  return settle(g, rec, states, o, signal, finish, stamp);
}

/** The verdict at the end of the analysis: passed, or failed closed. */
function settle(
  g: GateSpec,
  rec: GateRecord,
  states: TargetState[],
  o: Resolved,
  signal: AbortSignal,
  finish: (state: "breach" | "pass" | "undecided", at?: string) => void,
  stamp: () => string,
): Outcome {
  const d = g.decision!;
  if (signal.aborted) {
    // Stopped (another gate breached, or the run was interrupted): not measured to the
    // end, so neither passed nor failed closed; the caller says what stopped it.
    finish("undecided");
    rec.reason = rec.samples.length === 0
      ? "interrupted before the first measurement"
      : "stopped before the end of the analysis";
    return { record: rec };
  }
  const open = states.findIndex((st) =>
    d.method === "sequential" ? !st.passedAt : st.conclusive === 0
  );
  if (open < 0) {
    const at = d.method === "sequential"
      ? states.map((st) => st.passedAt!).sort().at(-1)
      : undefined;
    finish("pass", at);
    rec.verdict = "passed";
    return { record: rec };
  }
  finish("undecided");
  const st = states[open]!;
  const who = describeTarget(canaryOf(o.targets[open]!));
  const reason = d.method === "sequential"
    ? `${g.gate.source} undecided for ${who} at the end of the analysis: ${st.seq.trials} requests, ` +
      `${st.seq.events} bad (${
        pct(st.seq.events, st.seq.trials)
      }) do not show it below the threshold ` +
      `at ${d.confidence * 100}% confidence (pass e-value ${
        eValue(sequentialBounds(st.seq).passLogE).toPrecision(3)
      } ` +
      `< ${+(1 / (1 - d.confidence)).toFixed(1)}${
        st.lastDetail ? `; last: ${st.lastDetail}` : ""
      }): fail closed — ` +
      `more traffic or a longer step decides`
    : `${g.gate.metric} had no conclusive comparison with the baseline for ${who}` +
      `${st.lastDetail ? ` (${st.lastDetail})` : ""}: no data is not a pass`;
  return failNow(rec, reason, stamp());
}

/**
 * Runs a stage's statistical gates concurrently; a breach of one stops the others.
 *
 * @param gates The statistical gates (each with a `decision`).
 * @param analysis The stage's analysis (its duration sets the looks planned).
 * @param o The resolved options (provider, metrics, targets, clock, signal).
 * @returns One record per gate, in order, and when the first failed.
 *
 * @example
 * ```ts ignore
 * const { gates } = await analyzeStatistical(spec.gates, spec.analysis, resolved);
 * ```
 */
export async function analyzeStatistical(
  gates: readonly GateSpec[],
  analysis: AnalysisSpec,
  o: Resolved,
): Promise<{ gates: GateRecord[]; breachedAt?: string }> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  const looks = { ticks: new SharedTicks(o.clock) };
  try {
    const outcomes = await Promise.all(gates.map(async (g) => {
      const r = await runGate(g, analysis, o, stop.signal, looks);
      if (r.breachedAt) stop.abort(new Error(`${g.gate.source} failed`));
      return r;
    }));
    // A p95 may be gated twice (sequentially and against the baseline): say which breached.
    const failed = outcomes.filter((r) => r.breachedAt).map((r) =>
      `${r.record.gate}${r.record.method === "baseline" ? " (vs baseline)" : ""}`
    );
    if (failed.length > 0 && !o.signal.aborted) {
      for (const r of outcomes) {
        if (r.record.verdict !== "failed" && !r.unmeasured) {
          r.record.verdict = "not_measured";
          r.record.reason = `analysis stopped when ${failed.join(", ")} breached`;
        }
      }
    }
    const at = outcomes.map((r) => r.breachedAt).filter((x): x is string => !!x).sort()[0];
    return { gates: outcomes.map((r) => r.record), ...(at ? { breachedAt: at } : {}) };
  } finally {
    o.signal.removeEventListener("abort", onAbort);
  }
}
