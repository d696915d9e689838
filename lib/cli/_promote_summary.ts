/**
 * The train's closing lines (`deno task promote`): the outcome, then one line per step.
 * @module
 */
import type { StepResult, TrainOutcome } from "../promote/mod.ts";

/** Printed after the build: every step after it runs the build's digests. */
export const PINNED_NOTE =
  "the steps below deploy the build's digests (--option digests=..., from its record)";

const MARK: Record<StepResult["status"], string> = {
  succeeded: "✓",
  failed: "✗",
  refused: "✗",
  interrupted: "!",
  "not-run": "-",
};

/** The summary lines: the outcome, then one line per step. */
export function summary(version: string, outcome: TrainOutcome): string[] {
  const width = Math.max(...outcome.steps.map((s) => s.step.id.length));
  const stop = outcome.stoppedAt;
  const head = stop
    ? `promotion ${version}: ${outcome.status} at ${stop.step.id}${
      stop.runId ? ` (run ${stop.runId})` : ""
    }${stop.error ? `: ${stop.error}` : ""}`
    : `promotion ${version}: succeeded (${outcome.steps.map((s) => s.step.id).join(" → ")})`;
  const lines = outcome.steps.map((s) => {
    const took = s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : "";
    const what = s.status === "not-run"
      ? "not run"
      : `${s.status}${s.runId ? `, run ${s.runId}` : ""}${took}`;
    return `  ${MARK[s.status]} ${s.step.id.padEnd(width)}  ${what}`;
  });
  if (stop?.runId) lines.push(`explain: deno task explain ${stop.runId}`);
  return [head, ...lines];
}
