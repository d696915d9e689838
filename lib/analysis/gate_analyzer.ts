/**
 * Connects gate analysis to the engine: what to measure comes from the stage's output
 * (`analysisTargets`), every sample is journalled and shown, and a stage that pauses
 * on breach waits for a decision.
 * @module
 */
import type { MetricDefinition } from "../dsl/gate.ts";
import type { GateAnalyzer } from "../runner/engine.ts";
import type { SampleRecord } from "../report/schema.ts";
import type { GateSpec } from "../dsl/stage.ts";
import { analyzeGates } from "./analyze.ts";
import { type Decision, waitForDecision } from "./decision.ts";
import type { MetricsProvider, Target } from "./provider.ts";

/**
 * What a gated stage returns to say what its gates measure: one target per label set
 * (e.g. `{ namespace, service, slot }` for each service in lockstep).
 */
export interface AnalysisTargets {
  readonly analysisTargets: readonly Target[];
}

/** Options of {@linkcode createGateAnalyzer}. */
export interface GateAnalyzerOptions {
  readonly provider: MetricsProvider;
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** Labels every target gets unless the stage says otherwise (e.g. the namespace). */
  readonly defaultTarget: Target;
  /** Target time per real time (the sandbox's scale). Default 1. */
  readonly timeScale?: number;
  /** The shortest real wait before a stage's first measurement (see `analyzeGates`). */
  readonly minInitialDelayMs?: number;
  /** How long a paused stage waits for a decision before aborting (real ms). */
  readonly decisionTimeoutMs?: number;
  /** Asks at a terminal, when there is one. */
  readonly ask?: (question: string) => Promise<Decision | null>;
  /** Told of every sample (the live view). */
  readonly onSample?: (stage: string, gate: GateSpec, target: Target, sample: SampleRecord) => void;
}

function targetsOf(output: unknown, fallback: Target): Target[] {
  const t = (output as Partial<AnalysisTargets> | undefined)?.analysisTargets;
  if (!Array.isArray(t)) return [fallback];
  return t.map((x) => ({ ...fallback, ...x }));
}

/**
 * Builds the engine's gate analyzer.
 *
 * @example
 * ```ts ignore
 * const analyze = createGateAnalyzer({ provider, metrics, defaultTarget: { namespace: "tracktion-prod" } });
 * await executeRun(prepared, { analyze, approve });
 * ```
 */
export function createGateAnalyzer(o: GateAnalyzerOptions): GateAnalyzer {
  return async (spec, ctx) => {
    const targets = targetsOf(ctx.output, o.defaultTarget);
    ctx.log(
      `measuring ${
        spec.gates.map((g) => g.gate.source).join(", ")
      } on ${targets.length} target(s) with ${o.provider.name}`,
    );
    const result = await analyzeGates(spec.gates, spec.analysis, {
      provider: o.provider,
      metrics: o.metrics,
      targets,
      ...(o.timeScale ? { timeScale: o.timeScale } : {}),
      ...(o.minInitialDelayMs ? { minInitialDelayMs: o.minInitialDelayMs } : {}),
      signal: ctx.signal,
      onSample: (gate, target, sample) => {
        void ctx.journal.append({
          type: "gate.sample",
          stage: spec.id,
          gate: gate.gate.source,
          ...sample,
        });
        ctx.log(
          `${gate.gate.source} ${JSON.stringify(target)}: ${
            sample.value === null ? sample.verdict : sample.value
          }${sample.detail ? ` (${sample.detail})` : ""}`,
        );
        o.onSample?.(spec.id, gate, target, sample);
      },
    });
    const failed = result.gates.filter((g) => g.verdict === "failed");
    if (failed.length === 0 || spec.analysis.onBreach !== "pause" || ctx.signal.aborted) {
      return { gates: result.gates };
    }
    const question = `stage "${spec.id}" breached: ${failed.map((g) => g.reason).join("; ")}`;
    ctx.log(`${question}; paused for a decision (deno task decide <run-id> promote|abort)`);
    await ctx.journal.append({ type: "stage.paused", stage: spec.id, reason: question });
    const decision = await waitForDecision(ctx.runDir, {
      timeoutMs: o.decisionTimeoutMs ?? 30 * 60_000,
      signal: ctx.signal,
      ...(o.ask ? { ask: () => o.ask!(question) } : {}),
    });
    await ctx.journal.append({ type: "stage.decision", stage: spec.id, ...decision });
    return { gates: result.gates, decision };
  };
}
