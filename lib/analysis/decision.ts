/**
 * Decisions on a paused stage: when a gate breaches on a stage that pauses instead of
 * rolling back, a person decides `promote` or `abort` — at the terminal, or from
 * another shell with `deno task decide <run-id> promote|abort`, which writes
 * `decision.json` in the run folder. No decision before the timeout aborts.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";

/**
 * A decision, as recorded in the report.
 *
 * @example
 * ```ts
 * import type { Decision } from "./decision.ts";
 * const d: Decision = { action: "abort", by: "timeout", at: "2026-01-01T00:00:00.000Z", method: "timeout" };
 * ```
 */
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

/**
 * The file `deno task decide` writes.
 *
 * @example
 * ```ts
 * import { DECISION_FILE } from "./decision.ts";
 * console.assert(DECISION_FILE === "decision.json");
 * ```
 */
export const DECISION_FILE = "decision.json";

/**
 * Writes a decision for a paused run (the `decide` command).
 *
 * @param runDir The run folder.
 * @param action promote or abort.
 * @param by Who decided.
 * @param clock Stamps the decision (default real time).
 * @returns The decision written.
 *
 * @example
 * ```ts
 * import { writeDecision } from "./decision.ts";
 * const dir = await Deno.makeTempDir();
 * const d = await writeDecision(dir, "promote", "ana@example.com");
 * console.assert(d.method === "command");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeDecision(
  runDir: string,
  action: "promote" | "abort",
  by: string,
  clock: Clock = realClock,
): Promise<Decision> {
  const decision: Decision = {
    action,
    by,
    at: new Date(clock.now()).toISOString(),
    method: "command",
  };
  const path = `${runDir}/${DECISION_FILE}`;
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(decision));
  await Deno.rename(`${path}.tmp`, path);
  return decision;
}

/**
 * Waits for a decision file (polling), a terminal answer, or the timeout (abort).
 *
 * @param runDir The run folder.
 * @param o `timeoutMs` (real ms: a person decides in wall time, whatever the run's clock);
 * `ask`: asks at a terminal, if there is one; `signal`; `pollMs` (real ms) between reads of
 * the file; `clock`, the run's (held while waiting, and stamps the timeout; default real time).
 * @returns The decision; a timeout is an abort by "timeout".
 *
 * @example
 * ```ts
 * import { waitForDecision } from "./decision.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const clock = virtualClock({ startMs: 0 });
 * const d = await waitForDecision(dir, { timeoutMs: 50, signal: new AbortController().signal, clock });
 * console.assert(d.action === "abort" && d.method === "timeout" && clock.now() === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function waitForDecision(
  runDir: string,
  o: {
    timeoutMs: number;
    signal: AbortSignal;
    pollMs?: number;
    ask?: () => Promise<Decision | null>;
    clock?: Clock;
  },
): Promise<Decision> {
  const clock = o.clock ?? realClock;
  // A person decides in real time: the wait and its timeout are wall time whatever the run's
  // clock, and the run's clock is held meanwhile (a virtual clock must not jump past them).
  const release = clock.hold("waiting for a person's decision");
  const path = `${runDir}/${DECISION_FILE}`;
  await Deno.remove(path).catch(() => {});
  const started = realClock.now();
  const fromFile = async (): Promise<Decision> => {
    while (realClock.since(started) < o.timeoutMs && !o.signal.aborted) {
      try {
        const d = JSON.parse(await Deno.readTextFile(path)) as Decision;
        if (d.action === "promote" || d.action === "abort") return d;
      } catch { /* not yet */ }
      await realClock.sleep(o.pollMs ?? 200, { signal: o.signal }).catch(() => {});
    }
    const at = new Date(clock.now()).toISOString();
    return { action: "abort", by: "timeout", at, method: "timeout" };
  };
  const asked = o.ask?.().then((d) => d ?? new Promise<Decision>(() => {}));
  try {
    return await (asked ? Promise.race([fromFile(), asked]) : fromFile());
  } finally {
    release();
  }
}
