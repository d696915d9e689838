/**
 * A stage's gates, after its work: measured by the run's analyzer over the stage's
 * analysis window; not measured in a dry run; failed closed when there is no metrics
 * source. A person's `promote` decision overrides a breach (and is logged).
 * @module
 */
import type { Ending } from "./engine_types.ts";
import type { EngineContext } from "./engine_context.ts";
import type { StageState } from "./recorder.ts";
import type { StepContext } from "./attempts.ts";
import { gateRecord } from "../report/gate_record.ts";

/**
 * Measures a stage's gates and records them.
 *
 * @param ctx The run.
 * @param s The stage, its work done (its output is what the analyzer measures).
 * @param step Its log and the signal that stops it.
 * @returns How the stage ended when a gate failed (or was interrupted); nothing when it passed.
 */
export async function runGates(
  ctx: EngineContext,
  s: StageState,
  step: StepContext,
): Promise<Ending | undefined> {
  const { o } = ctx;
  const { spec, record } = s;
  if (spec.gates.length === 0) return undefined;
  if (o.dryRun) {
    record.gates = spec.gates.map((g) =>
      gateRecord(g, { verdict: "not_measured", reason: "dry run" })
    );
    return undefined;
  }
  if (!o.analyze) {
    record.gates = spec.gates.map((g) =>
      gateRecord(g, {
        verdict: "failed",
        reason: "no metrics source is configured: gates fail closed",
      })
    );
    return {
      status: "failed",
      reason: "gates could not be measured: no metrics source is configured",
    };
  }
  const verdict = await o.analyze(spec, {
    signal: step.signal,
    output: s.output,
    log: (m) => step.log("info", m),
    journal: o.journal,
    runDir: o.runDir,
  });
  record.gates = verdict.gates;
  if (verdict.decision) record.decision = verdict.decision;
  const failed = record.gates.filter((g) => g.verdict === "failed");
  if (step.signal.aborted) return { status: "interrupted", reason: "interrupted during analysis" };
  if (verdict.decision?.action === "promote") {
    const despite = failed.map((g) => g.reason).join("; ");
    step.log("warn", `promoted by ${verdict.decision.by} despite: ${despite}`);
    return undefined;
  }
  if (failed.length > 0) {
    return {
      status: "failed",
      reason: failed.map((g) => `${g.gate}: ${g.reason ?? g.verdict}`).join("; "),
    };
  }
  return undefined;
}
