/**
 * Messages a run meant to send and could not: a notification or a status that still failed
 * after its retries. Nothing is dropped silently: a stage that gave up on a delivery says so
 * in its output (`{ undelivered: [...] }`), and the report gathers every such entry into its
 * top-level `undelivered`, which the CLI prints at the end of the run.
 * @module
 */
import { z } from "zod";

/** One delivery that did not arrive. */
export interface UndeliveredRecord {
  /** The stage that tried (filled in by the runner when the stage left it out). */
  stage: string;
  /** Where it was going: `slack`, `pagerduty`, `github`... */
  channel: string;
  /** What it was: `notification: deployed`, `deployment status: success`... */
  what: string;
  /** How many times it was tried. */
  attempts: number;
  /** The last error, secrets redacted. */
  error: string;
}

/** The zod schema of an {@linkcode UndeliveredRecord}. */
export const undeliveredSchema = z.object({
  stage: z.string(),
  channel: z.string(),
  what: z.string(),
  attempts: z.int().nonnegative(),
  error: z.string(),
});

/**
 * Gathers the undelivered messages from the stages' outputs, in stage order. An output
 * counts when it is an object whose `undelivered` is an array; entries that are not
 * well-formed are kept, with what could be read, rather than dropped.
 *
 * @param stages The stages' ids and outputs.
 * @returns Every undelivered message.
 *
 * @example
 * ```ts
 * import { undeliveredOf } from "./undelivered.ts";
 * import assert from "node:assert/strict";
 * const found = undeliveredOf([
 *   { id: "notify", output: { undelivered: [{ channel: "slack", what: "notification", attempts: 3, error: "503" }] } },
 *   { id: "lock", output: null },
 * ]);
 * assert.equal(found[0]?.stage, "notify");
 * ```
 */
export function undeliveredOf(
  stages: readonly { id: string; output?: unknown }[],
): UndeliveredRecord[] {
  const found: UndeliveredRecord[] = [];
  for (const s of stages) {
    const list = (s.output as { undelivered?: unknown } | null | undefined)?.undelivered;
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const e = (raw ?? {}) as Record<string, unknown>;
      found.push({
        stage: typeof e.stage === "string" ? e.stage : s.id,
        channel: typeof e.channel === "string" ? e.channel : "unknown",
        what: typeof e.what === "string" ? e.what : "a message",
        attempts: Number.isInteger(e.attempts) && (e.attempts as number) >= 0
          ? e.attempts as number
          : 0,
        error: typeof e.error === "string" ? e.error : "not delivered",
      });
    }
  }
  return found;
}
