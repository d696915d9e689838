/**
 * Gate analysis. Fixed-threshold gates as progressive-delivery tools do them, with
 * their holes closed: a measurement every interval over the stage's duration (after an
 * initial delay);
 * each sample is successful, failed, inconclusive (counted as a failure unless the
 * metric says `ignore`) or an error (retried next interval; too many in a row fail
 * the gate). A gate fails when its failed samples for any one target **exceed** its
 * failure limit (`failures > limit`; limit 0 = the first failure fails it) — and the
 * analysis stops at once, so a rollback starts within one interval of the breach. A
 * gate with no successful sample at the end fails: no data is never a pass.
 * Statistical gates (`decide: "sequential"` or `"baseline"`) run beside them
 * (`statistical.ts`); a breach of either kind stops both. All waiting is on the run's
 * {@linkcode Clock}, in target time.
 * @module
 */
import { gatePasses, type MetricDefinition } from "../dsl/gate.ts";
import type { AnalysisSpec, GateSpec } from "../dsl/stage.ts";
import type { GateRecord, SampleRecord } from "../report/schema.ts";
import type { Measurement, MetricsProvider, SampleProgress, Target } from "./provider.ts";
import { type Clock, realClock, scaledClock } from "../clock/mod.ts";
import { gateRecord } from "../report/gate_record.ts";
import { analyzeStatistical } from "./statistical_analysis.ts";
import {
  canaryOf,
  type ComparedTarget,
  describeTarget,
  evidenceRecord,
  type Resolved,
} from "./targets.ts";

/**
 * The shortest wall time between two looks of a statistical gate on a real or scaled clock.
 *
 * @example
 * ```ts
 * import { MIN_REAL_LOOK_MS } from "./analyze.ts";
 * console.assert(MIN_REAL_LOOK_MS === 250);
 * ```
 */
export const MIN_REAL_LOOK_MS = 250;

/**
 * What a breach decision returns when a stage pauses instead of rolling back.
 *
 * @example
 * ```ts
 * import type { BreachDecision } from "./analyze.ts";
 * const d: BreachDecision = "abort";
 * ```
 */
export type BreachDecision = "promote" | "abort";

/**
 * Options of {@linkcode analyzeGates}.
 *
 * @example
 * ```ts ignore
 * const o: AnalyzeOptions = { provider, metrics, targets: [{ service: "api" }], clock, signal };
 * ```
 */
export interface AnalyzeOptions {
  /** Where measurements come from. */
  readonly provider: MetricsProvider;
  /** The declared metrics, by name (their queries and units). */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /**
   * Each target is measured for each gate (e.g. four services, one slot). A
   * `{ canary, baseline }` target is measured on its canary, and compared with its
   * baseline by baseline gates.
   */
  readonly targets: readonly (Target | ComparedTarget)[];
  /** The run's clock: every wait and stamp (default real time). */
  readonly clock?: Clock;
  /**
   * The shortest wait before the first measurement (target ms), for every kind of gate:
   * a scraping source (Prometheus beside a scaled sandbox) needs a few scrapes of new
   * pods before a rate means anything.
   */
  readonly settleMs?: number;
  /** @deprecated Pass `clock: scaledClock(n)`: target time runs this much faster. */
  readonly timeScale?: number;
  /** @deprecated Pass `settleMs` (target ms): the shortest *real* wait before measuring. */
  readonly minInitialDelayMs?: number;
  /** Stops the analysis (a timeout, an interrupted run). */
  readonly signal: AbortSignal;
  /** Told of every sample as it is taken, with its place in the analysis. */
  readonly onSample?: (
    gate: GateSpec,
    target: Target,
    sample: SampleRecord,
    progress: SampleProgress,
  ) => void;
}

/**
 * The analysis' outcome.
 *
 * @example
 * ```ts
 * import type { AnalysisResult } from "./analyze.ts";
 * const r: AnalysisResult = { gates: [] };
 * ```
 */
export interface AnalysisResult {
  /** One record per gate, with every sample and the verdict. */
  readonly gates: GateRecord[];
  /** When the first breach was seen, if any. */
  readonly breachedAt?: string;
}

interface Counter {
  failures: number;
  successes: number;
  consecutiveErrors: number;
  lastDetail?: string;
}

/**
 * Measures gates over an analysis window: fixed-threshold gates every interval,
 * statistical ones at their looks, concurrently; a breach of one stops all.
 *
 * @param gates The stage's gates.
 * @param analysis Duration, interval, window, initial delay.
 * @param o Provider, metric definitions, targets, clock, signal.
 * @returns One record per gate (in the stage's order) with every sample and the verdict.
 *
 * @example
 * ```ts ignore
 * const r = await analyzeGates(spec.gates, spec.analysis, { provider, metrics, targets, clock, signal });
 * ```
 */
export async function analyzeGates(
  gates: readonly GateSpec[],
  analysis: AnalysisSpec,
  o: AnalyzeOptions,
): Promise<AnalysisResult> {
  const clock = o.clock ??
    (o.timeScale && o.timeScale !== 1 ? scaledClock(o.timeScale) : realClock);
  const stop = new AbortController();
  const onAbort = () => stop.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  const r: Resolved = {
    provider: o.provider,
    metrics: o.metrics,
    targets: o.targets,
    clock,
    settleMs: Math.max(
      o.settleMs ?? 0,
      o.minInitialDelayMs && Number.isFinite(clock.scale) ? o.minInitialDelayMs * clock.scale : 0,
    ),
    signal: stop.signal,
    ...(o.onSample ? { onSample: o.onSample } : {}),
  };
  const fixed = gates.filter((g) => !g.decision);
  // A look costs real time (a request per target, a journal line per sample): on a scaled
  // clock looks are at least MIN_REAL_LOOK_MS of wall time apart (at ×240, a 10 s look becomes
  // a minute). Each look measures the window since the one before, so no request is lost;
  // only decisions come a little later. A virtual clock keeps the gate's own look.
  const statistical = gates.filter((g) => g.decision).map((g) =>
    Number.isFinite(clock.scale) && g.decision!.lookMs < MIN_REAL_LOOK_MS * clock.scale
      ? { ...g, decision: { ...g.decision!, lookMs: MIN_REAL_LOOK_MS * clock.scale } }
      : g
  );
  let cause = "";
  const stopOthers = (res: AnalysisResult) => {
    const failed = res.gates.filter((g) => g.verdict === "failed").map((g) => g.gate);
    if (res.breachedAt && !cause) {
      cause = failed.join(", ");
      stop.abort(new Error(`${cause} breached`));
    }
    return res;
  };
  try {
    const [a, b] = await Promise.all([
      fixed.length ? analyzeFixed(fixed, analysis, r).then(stopOthers) : undefined,
      statistical.length
        ? analyzeStatistical(statistical, analysis, r).then(stopOthers)
        : undefined,
    ]);
    const byGate = new Map<GateSpec, GateRecord>();
    fixed.forEach((g, i) => byGate.set(g, a!.gates[i]!));
    gates.filter((g) => g.decision).forEach((g, i) => byGate.set(g, b!.gates[i]!));
    const records = gates.map((g) => byGate.get(g)!);
    if (cause && !o.signal.aborted) {
      for (const rec of records) {
        if (rec.verdict !== "failed") {
          rec.verdict = "not_measured";
          rec.reason = `analysis stopped when ${cause} breached`;
        }
      }
    }
    const at = [a?.breachedAt, b?.breachedAt].filter((x): x is string => !!x).sort()[0];
    return { gates: records, ...(at ? { breachedAt: at } : {}) };
  } finally {
    o.signal.removeEventListener("abort", onAbort);
  }
}

async function analyzeFixed(
  gates: readonly GateSpec[],
  analysis: AnalysisSpec,
  o: Resolved,
): Promise<AnalysisResult> {
  const clock = o.clock;
  const stamp = () => new Date(clock.now()).toISOString();
  const targets = o.targets.map(canaryOf);
  const records: GateRecord[] = gates.map((g) =>
    gateRecord(g, {
      verdict: "not_measured",
      inconclusivePolicy: g.inconclusive ?? o.metrics[g.gate.metric]?.inconclusive ?? "fail",
    })
  );
  const counters = gates.map(() =>
    targets.map((): Counter => ({ failures: 0, successes: 0, consecutiveErrors: 0 }))
  );
  if (targets.length === 0) {
    for (const r of records) {
      r.verdict = "failed";
      r.reason =
        "nothing to measure: no targets were given (a stage names them in its output's analysisTargets)";
    }
    return { gates: records, breachedAt: stamp() };
  }
  const count = analysis.durationMs > 0
    ? Math.max(1, Math.floor(analysis.durationMs / analysis.intervalMs))
    : 1;
  const windowMs = analysis.windowMs || analysis.intervalMs;
  await clock.sleep(Math.max(analysis.initialDelayMs, o.settleMs), { signal: o.signal })
    .catch(() => {}); // aborted: the loop below does not start

  for (let i = 0; i < count && !o.signal.aborted; i++) {
    const started = clock.now();
    const at = stamp();
    const jobs = gates.flatMap((g, gi) =>
      targets.map(async (target, ti) => {
        const metric = o.metrics[g.gate.metric];
        const m: Measurement = metric
          ? await o.provider.measure({ ...metric, name: g.gate.metric }, target, { windowMs })
          : { kind: "error", detail: `metric ${g.gate.metric} is not declared` };
        const c = counters[gi]![ti]!;
        const rec = records[gi]!;
        let sample: SampleRecord;
        if (m.kind === "value") {
          const ok = gatePasses(g.gate, m.value);
          c.consecutiveErrors = 0;
          if (ok) c.successes++;
          else c.failures++;
          sample = {
            at,
            value: m.value,
            verdict: ok ? "successful" : "failed",
            labels: { ...target },
            ...(m.evidence ? { evidence: evidenceRecord(m.evidence) } : {}),
          };
        } else if (m.kind === "inconclusive") {
          c.consecutiveErrors = 0;
          if (rec.inconclusivePolicy === "fail") c.failures++;
          sample = {
            at,
            value: null,
            verdict: "inconclusive",
            detail: m.detail,
            labels: { ...target },
          };
        } else {
          c.consecutiveErrors++;
          sample = { at, value: null, verdict: "error", detail: m.detail, labels: { ...target } };
        }
        c.lastDetail = sample.detail ?? `${sample.value}`;
        rec.samples.push(sample);
        o.onSample?.(g, target, sample, { look: i + 1, of: count, everyMs: analysis.intervalMs });
      })
    );
    await Promise.all(jobs);

    let breached = false;
    gates.forEach((g, gi) => {
      const rec = records[gi]!;
      targets.forEach((target, ti) => {
        const c = counters[gi]![ti]!;
        if (rec.verdict === "failed") return;
        if (c.failures > g.failureLimit) {
          const values = rec.samples.filter((s) =>
            describeTarget(s.labels ?? {}) === describeTarget(target)
          )
            .slice(-3).map((s) =>
              s.value === null ? s.verdict : `${+s.value.toFixed(3)}${g.gate.unit}`
            );
          rec.verdict = "failed";
          rec.reason =
            `${g.gate.source} breached for ${describeTarget(target)}: ${c.failures} failed ` +
            `measurement${c.failures > 1 ? "s" : ""} > failure limit ${g.failureLimit} (last: ${
              values.join(", ")
            })`;
          breached = true;
        } else if (c.consecutiveErrors > g.consecutiveErrorLimit) {
          rec.verdict = "failed";
          rec.reason = `${g.gate.metric} could not be measured for ${describeTarget(target)}: ` +
            `${c.consecutiveErrors} consecutive errors > limit ${g.consecutiveErrorLimit} (${c.lastDetail})`;
          breached = true;
        }
      });
    });
    if (breached) {
      const cause = records.filter((r) => r.verdict === "failed").map((r) => r.gate).join(", ");
      for (const r of records) {
        if (r.verdict === "not_measured") r.reason = `analysis stopped when ${cause} breached`;
      }
      return { gates: records, breachedAt: stamp() };
    }
    if (i < count - 1) {
      await clock.sleep(Math.max(0, analysis.intervalMs - clock.since(started)), {
        signal: o.signal,
      }).catch(() => {}); // aborted: the loop ends
    }
  }

  gates.forEach((g, gi) => {
    const rec = records[gi]!;
    if (rec.verdict === "failed") return;
    const starved = targets.findIndex((_, ti) => counters[gi]![ti]!.successes === 0);
    if (o.signal.aborted && rec.samples.length === 0) {
      rec.reason = "interrupted before the first measurement";
      return;
    }
    if (starved >= 0) {
      rec.verdict = "failed";
      rec.reason = `${g.gate.metric} had no conclusive measurement for ${
        describeTarget(targets[starved]!)
      }: no data is not a pass`;
    } else {
      rec.verdict = "passed";
    }
  });
  const failed = records.some((r) => r.verdict === "failed");
  return { gates: records, ...(failed ? { breachedAt: stamp() } : {}) };
}
