/**
 * Decisions on a paused stage: when a gate breaches on a stage that pauses instead of
 * rolling back, a person decides `promote` or `abort` — at the terminal, or from
 * another shell with `deno task decide <run-id> promote|abort`, which writes
 * `decision.json` in the run folder. No decision before the timeout aborts.
 * @module
 */
import { delay } from "../async/delay.ts";

/** A decision, as recorded in the report. */
export interface Decision {
  /** Promote despite the breach, or abort (the failure path runs). */
  readonly action: "promote" | "abort";
  /** Who decided. */
  readonly by: string;
  /** When (ISO 8601). */
  readonly at: string;
  /** How: at the terminal, with `deno task decide`, or by the timeout (abort). */
  readonly method: "tty" | "command" | "timeout";
}

/** The file `deno task decide` writes. */
export const DECISION_FILE = "decision.json";

/**
 * Writes a decision for a paused run (the `decide` command).
 *
 * @param runDir The run folder.
 * @param action promote or abort.
 * @param by Who decided.
 */
export async function writeDecision(
  runDir: string,
  action: "promote" | "abort",
  by: string,
): Promise<Decision> {
  const decision: Decision = { action, by, at: new Date().toISOString(), method: "command" };
  const path = `${runDir}/${DECISION_FILE}`;
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(decision));
  await Deno.rename(`${path}.tmp`, path);
  return decision;
}

/**
 * Waits for a decision file (polling), a terminal answer, or the timeout (abort).
 *
 * @param runDir The run folder.
 * @param o `timeoutMs`; `ask`: asks at a terminal, if there is one; `signal`.
 * @returns The decision; a timeout is an abort by "timeout".
 */
export async function waitForDecision(
  runDir: string,
  o: {
    timeoutMs: number;
    signal: AbortSignal;
    pollMs?: number;
    ask?: () => Promise<Decision | null>;
  },
): Promise<Decision> {
  const path = `${runDir}/${DECISION_FILE}`;
  await Deno.remove(path).catch(() => {});
  const deadline = Date.now() + o.timeoutMs;
  const fromFile = async (): Promise<Decision> => {
    while (Date.now() < deadline && !o.signal.aborted) {
      try {
        const d = JSON.parse(await Deno.readTextFile(path)) as Decision;
        if (d.action === "promote" || d.action === "abort") return d;
      } catch { /* not yet */ }
      await delay(o.pollMs ?? 200);
    }
    return { action: "abort", by: "timeout", at: new Date().toISOString(), method: "timeout" };
  };
  const asked = o.ask?.().then((d) => d ?? new Promise<Decision>(() => {}));
  return await (asked ? Promise.race([fromFile(), asked]) : fromFile());
}
