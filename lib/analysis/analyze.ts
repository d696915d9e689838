/**
 * Gate analysis, as progressive-delivery tools do it, with their holes closed: a
 * measurement every interval over the stage's duration (after an initial delay);
 * each sample is successful, failed, inconclusive (counted as a failure unless the
 * metric says `ignore`) or an error (retried next interval; too many in a row fail
 * the gate). A gate fails when its failed samples for any one target **exceed** its
 * failure limit (`failures > limit`; limit 0 = the first failure fails it) — and the
 * analysis stops at once, so a rollback starts within one interval of the breach. A
 * gate with no successful sample at the end fails: no data is never a pass.
 * @module
 */
import { gatePasses, type MetricDefinition } from "../dsl/gate.ts";
import type { AnalysisSpec, GateSpec } from "../dsl/stage.ts";
import type { GateRecord, SampleRecord } from "../report/schema.ts";
import type { Measurement, MetricsProvider, Target } from "./provider.ts";
import { delay } from "../async/delay.ts";
import { gateRecord } from "../report/gate_record.ts";

/** What a breach decision returns when a stage pauses instead of rolling back. */
export type BreachDecision = "promote" | "abort";

/** Options of {@linkcode analyzeGates}. */
export interface AnalyzeOptions {
  /** Where measurements come from. */
  readonly provider: MetricsProvider;
  /** The declared metrics, by name (their queries and units). */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** Each target is measured for each gate (e.g. four services, one slot). */
  readonly targets: readonly Target[];
  /** Target time runs this much faster than real time (the sandbox). Default 1. */
  readonly timeScale?: number;
  /**
   * The shortest real wait before the first measurement, whatever the scale: a scraping
   * source needs a few scrapes of new pods before a rate means anything.
   */
  readonly minInitialDelayMs?: number;
  /** Stops the analysis (a timeout, an interrupted run). */
  readonly signal: AbortSignal;
  /** Told of every sample as it is taken. */
  readonly onSample?: (gate: GateSpec, target: Target, sample: SampleRecord) => void;
}

/** The analysis' outcome. */
export interface AnalysisResult {
  /** One record per gate, with every sample and the verdict. */
  readonly gates: GateRecord[];
  /** When the first breach was seen, if any. */
  readonly breachedAt?: string;
}

function describeTarget(t: Target): string {
  return Object.entries(t).filter(([k]) => k !== "namespace").map(([k, v]) => `${k}=${v}`).join(
    ",",
  ) || "all";
}

interface Counter {
  failures: number;
  successes: number;
  consecutiveErrors: number;
  lastDetail?: string;
}

/**
 * Measures gates over an analysis window.
 *
 * @param gates The stage's gates.
 * @param analysis Duration, interval, initial delay.
 * @param o Provider, metric definitions, targets, clock scale, signal.
 * @returns One record per gate with every sample and the verdict.
 */
export async function analyzeGates(
  gates: readonly GateSpec[],
  analysis: AnalysisSpec,
  o: AnalyzeOptions,
): Promise<AnalysisResult> {
  const scale = o.timeScale ?? 1;
  const records: GateRecord[] = gates.map((g) =>
    gateRecord(g, {
      verdict: "not_measured",
      inconclusivePolicy: g.inconclusive ?? o.metrics[g.gate.metric]?.inconclusive ?? "fail",
    })
  );
  const counters = gates.map(() =>
    o.targets.map((): Counter => ({ failures: 0, successes: 0, consecutiveErrors: 0 }))
  );
  if (o.targets.length === 0) {
    for (const r of records) {
      r.verdict = "failed";
      r.reason =
        "nothing to measure: no targets were given (a stage names them in its output's analysisTargets)";
    }
    return { gates: records, breachedAt: new Date().toISOString() };
  }
  const count = analysis.durationMs > 0
    ? Math.max(1, Math.floor(analysis.durationMs / analysis.intervalMs))
    : 1;
  const windowMs = analysis.windowMs || analysis.intervalMs;
  await delay(Math.max(analysis.initialDelayMs / scale, o.minInitialDelayMs ?? 0), {
    signal: o.signal,
  }).catch(() => {}); // aborted: the loop below does not start

  for (let i = 0; i < count && !o.signal.aborted; i++) {
    const started = performance.now();
    const at = new Date().toISOString();
    const jobs = gates.flatMap((g, gi) =>
      o.targets.map(async (target, ti) => {
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
        o.onSample?.(g, target, sample);
      })
    );
    await Promise.all(jobs);

    let breached = false;
    gates.forEach((g, gi) => {
      const rec = records[gi]!;
      o.targets.forEach((target, ti) => {
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
      return { gates: records, breachedAt: new Date().toISOString() };
    }
    if (i < count - 1) {
      await delay(analysis.intervalMs / scale - (performance.now() - started), {
        signal: o.signal,
      }).catch(() => {}); // aborted: the loop ends
    }
  }

  gates.forEach((g, gi) => {
    const rec = records[gi]!;
    if (rec.verdict === "failed") return;
    const starved = o.targets.findIndex((_, ti) => counters[gi]![ti]!.successes === 0);
    if (o.signal.aborted && rec.samples.length === 0) {
      rec.reason = "interrupted before the first measurement";
      return;
    }
    if (starved >= 0) {
      rec.verdict = "failed";
      rec.reason = `${g.gate.metric} had no conclusive measurement for ${
        describeTarget(o.targets[starved]!)
      }: no data is not a pass`;
    } else {
      rec.verdict = "passed";
    }
  });
  const failed = records.some((r) => r.verdict === "failed");
  return { gates: records, ...(failed ? { breachedAt: new Date().toISOString() } : {}) };
}
