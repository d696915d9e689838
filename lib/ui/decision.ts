/**
 * Promote or abort from the dashboard: the same decision `deno task decide <run-id>
 * promote|abort` records, recorded the same way — after the same checks (the run exists,
 * has not finished, and has a stage waiting), `writeDecision` writes the run's
 * `decision.json` with who decided; the paused runner reads it and journals it
 * (`stage.decision`, with `by`), and the report carries it.
 * @module
 */
import { type Decision, writeDecision } from "../analysis/decision.ts";
import { isRunId } from "./runs.ts";

export type { Decision };

/**
 * Why a decision cannot be recorded: no such run (`status` 404), or it has nothing to decide
 * (409).
 *
 * @example
 * ```ts
 * import { DecisionRefused } from "./decision.ts";
 * const e = new DecisionRefused("Run \"r1\" has finished", 409);
 * console.assert(e.status === 409 && e instanceof Error);
 * ```
 */
export class DecisionRefused extends Error {
  /** The HTTP status to answer with. */
  readonly status: 404 | 409;
  /**
   * A refusal.
   *
   * @param message Why.
   * @param status 404 or 409.
   */
  constructor(message: string, status: 404 | 409) {
    super(message);
    this.name = "DecisionRefused";
    this.status = status;
  }
}

/**
 * The stage of a run waiting for a decision, read from its journal as `decide` reads it:
 * the last `stage.paused` whose stage has no `stage.decision`.
 *
 * @param runDir The run's folder.
 * @returns The stage, or undefined when none waits.
 *
 * @example
 * ```ts
 * import { waitingStage } from "./decision.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/events.jsonl`, '{"type":"stage.paused","stage":"canary-5"}\n');
 * console.assert(await waitingStage(dir) === "canary-5");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function waitingStage(runDir: string): Promise<string | undefined> {
  const text = await Deno.readTextFile(`${runDir}/events.jsonl`);
  const events: { type?: string; stage?: string }[] = [];
  for (const line of text.split("\n")) {
    try {
      if (line) events.push(JSON.parse(line));
    } catch { /* a line being written */ }
  }
  const decided = new Set(events.filter((e) => e.type === "stage.decision").map((e) => e.stage));
  return events.filter((e) => e.type === "stage.paused" && !decided.has(e.stage))
    .map((e) => e.stage).at(-1);
}

/**
 * Records a decision for a paused run, as `deno task decide` does.
 *
 * @param runsDir The runs folder.
 * @param o The run's id, the action, and who decided.
 * @returns The decision written and the stage it decides.
 * @throws {DecisionRefused} No such run (404); finished, or no stage waiting (409).
 *
 * @example
 * ```ts
 * import { decideRun } from "./decision.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/r1`);
 * await Deno.writeTextFile(`${dir}/r1/events.jsonl`, '{"type":"stage.paused","stage":"canary-5"}\n');
 * const d = await decideRun(dir, { runId: "r1", action: "abort", user: "ana" });
 * assert.equal(d.stage, "canary-5");
 * assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/r1/decision.json`)).by, "ana");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function decideRun(
  runsDir: string,
  o: { runId: string; action: "promote" | "abort"; user: string },
): Promise<{ decision: Decision; stage: string }> {
  if (!isRunId(o.runId)) throw new DecisionRefused(`No run "${o.runId}"`, 404);
  const runDir = `${runsDir}/${o.runId}`;
  if (!(await Deno.stat(`${runDir}/events.jsonl`).catch(() => null))?.isFile) {
    throw new DecisionRefused(`No run "${o.runId}" in ${runsDir}`, 404);
  }
  if (await Deno.stat(`${runDir}/report.json`).catch(() => null)) {
    throw new DecisionRefused(`Run "${o.runId}" has finished: there is nothing to decide`, 409);
  }
  const stage = await waitingStage(runDir);
  if (stage === undefined) {
    throw new DecisionRefused(`Run "${o.runId}" has no stage waiting for a decision`, 409);
  }
  const decision = await writeDecision(runDir, o.action, o.user);
  return { decision, stage };
}
