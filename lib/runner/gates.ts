/**
 * A stage's gates, after its work: measured by the run's analyzer over the stage's
 * analysis window; not measured in a dry run; failed closed when there is no metrics
 * source. A person's `promote` decision overrides a breach (and is logged).
 *
 * Each gate's verdict is journalled (`gate.verdict`: the gate's record without its samples,
 * and `sampleSeqs`, the lines of its `gate.sample` events, which the analyzer journals as it
 * measures; a sample it did not journal is journalled here), so that every sample of the
 * report is found in the journal, in its gate, even when two gates of a stage share a string.
 * @module
 */
import type { Ending } from "./engine_types.ts";
import type { EngineContext } from "./engine_context.ts";
import type { StageState } from "./recorder.ts";
import type { StepContext } from "./attempts.ts";
import type { JournalEvent } from "../journal/journal.ts";
import type { GateRecord, StageRecord } from "../report/schema.ts";
import { gateRecord } from "../report/gate_record.ts";

/** What the analyzer journalled for a stage: its samples' lines, by gate and content. */
interface Journalled {
  readonly samples: Map<string, number[]>;
  decision: boolean;
}

/** A sample's identity: its gate (string and method) and its fields. */
function sampleKey(gate: unknown, method: unknown, sample: unknown): string {
  return JSON.stringify([gate, method ?? "fixed", sample]);
}

/** Watches the journal for the analyzer's lines of this stage until the returned stop. */
function watch(ctx: EngineContext, stageId: string): { seen: Journalled; stop: () => void } {
  const seen: Journalled = { samples: new Map(), decision: false };
  const stop = ctx.o.journal.observe((seq, e: JournalEvent) => {
    if (e.stage !== stageId) return;
    if (e.type === "stage.decision") seen.decision = true;
    if (e.type !== "gate.sample") return;
    const { type: _t, stage: _s, gate, method, index: _i, ...sample } = e;
    const key = sampleKey(gate, method, sample);
    seen.samples.set(key, [...(seen.samples.get(key) ?? []), seq]);
  });
  return { seen, stop };
}

/** Journals each gate's verdict with the lines of its samples (and what the analyzer left out). */
async function journalGates(
  ctx: EngineContext,
  s: StageState,
  gates: readonly GateRecord[],
  seen: Journalled,
  decision?: StageRecord["decision"],
): Promise<void> {
  const { journal } = ctx.o;
  const stage = s.spec.id;
  const writes: Promise<void>[] = [];
  if (decision && !seen.decision) {
    writes.push(journal.append({ type: "stage.decision", stage, ...decision }));
  }
  for (const [index, g] of gates.entries()) {
    const sampleSeqs = g.samples.map((sample) => {
      const seq = seen.samples.get(sampleKey(g.gate, g.method, sample))?.shift();
      if (seq !== undefined) return seq;
      const { method = "fixed" } = g;
      writes.push(
        journal.append({ type: "gate.sample", stage, gate: g.gate, method, index, ...sample }),
      );
      return journal.length; // the line just appended (appends are numbered when called)
    });
    const { samples: _samples, ...verdict } = g;
    writes.push(journal.append({ type: "gate.verdict", stage, index, ...verdict, sampleSeqs }));
  }
  await Promise.all(writes);
}

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
  const none: Journalled = { samples: new Map(), decision: false };
  if (o.dryRun) {
    record.gates = spec.gates.map((g) =>
      gateRecord(g, { verdict: "not_measured", reason: "dry run" })
    );
    await journalGates(ctx, s, record.gates, none);
    return undefined;
  }
  if (!o.analyze) {
    record.gates = spec.gates.map((g) =>
      gateRecord(g, {
        verdict: "failed",
        reason: "no metrics source is configured: gates fail closed",
      })
    );
    await journalGates(ctx, s, record.gates, none);
    return {
      status: "failed",
      reason: "gates could not be measured: no metrics source is configured",
    };
  }
  const { seen, stop } = watch(ctx, spec.id);
  let verdict;
  try {
    verdict = await o.analyze(spec, {
      signal: step.signal,
      output: s.output,
      log: (m) => step.log("info", m),
      journal: o.journal,
      runDir: o.runDir,
    });
  } finally {
    stop();
  }
  record.gates = verdict.gates;
  if (verdict.decision) record.decision = verdict.decision;
  await journalGates(ctx, s, record.gates, seen, verdict.decision);
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
