/**
 * Connects gate analysis to the engine. What a gate measures comes from its stage's
 * output: the stage's work returns `{ analysisTargets: [{ service, slot }, ...] }`
 * ({@linkcode AnalysisTargets}), each target merged over the analyzer's
 * `defaultTarget` (e.g. the namespace). A gated stage that names no target fails
 * closed, with a message naming the stage, its gates and the fix. Every sample is
 * journalled and shown, and a stage that pauses on breach waits for a decision.
 * @module
 */
import type { AnalysisTargets, ComparedTarget, MetricDefinition } from "../dsl/gate.ts";
import type { Clock } from "../clock/mod.ts";
import type { GateAnalyzer } from "../runner/engine.ts";
import type { GateRecord, SampleRecord } from "../report/schema.ts";
import type { GateSpec } from "../dsl/stage.ts";
import { gateRecord } from "../report/gate_record.ts";
import { analyzeGates } from "./analyze.ts";
import { type Decision, waitForDecision } from "./decision.ts";
import type { MetricsProvider, SampleProgress, Target } from "./provider.ts";

export type { AnalysisTargets };

/**
 * Options of {@linkcode createGateAnalyzer}.
 *
 * @example
 * ```ts ignore
 * const o: GateAnalyzerOptions = { provider, metrics, defaultTarget: { namespace: "shop" }, clock };
 * ```
 */
export interface GateAnalyzerOptions {
  /** Where measurements come from. */
  readonly provider: MetricsProvider;
  /** The declared metrics, by name (their queries and units). */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** Labels every target gets unless the stage says otherwise (e.g. the namespace). */
  readonly defaultTarget: Target;
  /** The run's clock: analysis waits, stamps and decision timeouts (default real time). */
  readonly clock?: Clock;
  /**
   * The shortest wait before a stage's first measurement, in target ms: on a scaled
   * clock with Prometheus, time for the first scrapes of the new pods.
   */
  readonly settleMs?: number;
  /** @deprecated Pass `clock: scaledClock(n)`. Target time per real time. */
  readonly timeScale?: number;
  /** @deprecated Pass `settleMs` (target ms). The shortest real wait before measuring. */
  readonly minInitialDelayMs?: number;
  /** How long a paused stage waits for a decision before aborting (target ms). */
  readonly decisionTimeoutMs?: number;
  /** Asks at a terminal, when there is one. */
  readonly ask?: (question: string) => Promise<Decision | null>;
  /** Told of every sample (the live view), with its place in the analysis. */
  readonly onSample?: (
    stage: string,
    gate: GateSpec,
    target: Target,
    sample: SampleRecord,
    progress: SampleProgress,
  ) => void;
}

/**
 * The targets a stage's output names, merged over the defaults; or why there are none
 * (the stage's gates then fail closed, never measuring the defaults alone by accident).
 */
type Labels = Readonly<Record<string, string>>;

const isLabels = (x: unknown): x is Labels =>
  x !== null && typeof x === "object" && !Array.isArray(x) &&
  Object.values(x).every((v) => typeof v === "string");

/** A `{ canary, baseline }` pair; `baseline: null` says nothing is live to compare with. */
const isPair = (x: unknown): x is ComparedTarget =>
  x !== null && typeof x === "object" && Object.keys(x).length === 2 &&
  isLabels((x as ComparedTarget).canary) &&
  ((x as ComparedTarget).baseline === null || isLabels((x as ComparedTarget).baseline));

function targetsOf(
  output: unknown,
  defaults: Target,
): { targets: (Target | ComparedTarget)[] } | { problem: string } {
  const t = output !== null && typeof output === "object"
    ? (output as Partial<AnalysisTargets>).analysisTargets
    : undefined;
  const valid = Array.isArray(t) && t.length > 0 && t.every((x) => isLabels(x) || isPair(x));
  if (valid) {
    return {
      targets: t.map((x) =>
        isPair(x)
          ? {
            canary: { ...defaults, ...x.canary },
            baseline: x.baseline === null ? null : { ...defaults, ...x.baseline },
          }
          : { ...defaults, ...x }
      ),
    };
  }
  const what = t === undefined
    ? "its work returned no analysisTargets"
    : Array.isArray(t) && t.length === 0
    ? "its analysisTargets is empty"
    : "its analysisTargets is not a list of label sets with string values (or { canary, baseline } pairs of them, baseline: null when nothing is live)";
  const fix = `make the stage's run() return { analysisTargets: [{ service: "api", slot: ` +
    `"green" }] } (one label set per target, filled into the metric's query), or [{}] to ` +
    `measure ${Object.keys(defaults).length > 0 ? JSON.stringify(defaults) : "the defaults"} ` +
    `as a whole`;
  return { problem: `nothing to measure (${what}); ${fix}` };
}

/** How a baseline gate is told apart in logs from a gate of the same string. */
const named = (g: GateSpec) => g.decision?.method === "baseline" ? " (vs baseline)" : "";

function failAll(
  spec: { readonly id: string; readonly gates: readonly GateSpec[] },
  problem: string,
): GateRecord[] {
  return spec.gates.map((g) =>
    gateRecord(g, {
      verdict: "failed",
      reason: `Cannot measure gate "${g.gate.source}" of stage "${spec.id}": ${problem}`,
    })
  );
}

/**
 * Builds the engine's gate analyzer.
 *
 * @example
 * ```ts ignore
 * const analyze = createGateAnalyzer({ provider, metrics, defaultTarget: { namespace: "shop-prod" } });
 * await executeRun(prepared, { analyze, approve });
 * ```
 */
export function createGateAnalyzer(o: GateAnalyzerOptions): GateAnalyzer {
  return async (spec, ctx) => {
    const found = targetsOf(ctx.output, o.defaultTarget);
    if ("problem" in found) {
      const gates = failAll(spec, found.problem);
      ctx.log(`stage "${spec.id}" fails closed: ${found.problem}`);
      return { gates };
    }
    const targets = found.targets;
    ctx.log(
      `measuring ${
        spec.gates.map((g) => `${g.gate.source}${named(g)}`).join(", ")
      } on ${targets.length} target(s) with ${o.provider.name}`,
    );
    const result = await analyzeGates(spec.gates, spec.analysis, {
      provider: o.provider,
      metrics: o.metrics,
      targets,
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.settleMs ? { settleMs: o.settleMs } : {}),
      ...(o.timeScale ? { timeScale: o.timeScale } : {}),
      ...(o.minInitialDelayMs ? { minInitialDelayMs: o.minInitialDelayMs } : {}),
      signal: ctx.signal,
      onSample: (gate, target, sample, progress) => {
        void ctx.journal.append({
          type: "gate.sample",
          stage: spec.id,
          gate: gate.gate.source,
          // Two gates may share a string (a p95 tested sequentially and against the baseline).
          method: gate.decision?.method ?? "fixed",
          ...sample,
        });
        const e = sample.evidence;
        const counts = e
          ? ` [${e.requests} requests${e.errors !== undefined ? `, ${e.errors} errors` : ""}${
            e.over !== undefined ? `, ${e.over} over ${e.overMs}ms` : ""
          } in ${e.windowMs / 1000}s]`
          : "";
        ctx.log(
          `${gate.gate.source}${named(gate)} ${JSON.stringify(target)}: ${
            sample.value === null ? sample.verdict : sample.value
          }${counts}${sample.detail ? ` (${sample.detail})` : ""}${
            sample.decision ? ` ${sample.decision.state}` : ""
          }`,
        );
        o.onSample?.(spec.id, gate, target, sample, progress);
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
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.ask ? { ask: () => o.ask!(question) } : {}),
    });
    await ctx.journal.append({ type: "stage.decision", stage: spec.id, ...decision });
    return { gates: result.gates, decision };
  };
}
