/**
 * `deno task decide <run-id> promote|abort`: decides a paused stage from another shell.
 * @module
 */
import { parseArgs } from "node:util";
import { writeDecision } from "../analysis/decision.ts";
import { InputError } from "../runner/errors.ts";

/**
 * Runs `decide`.
 *
 * @returns 0 when the decision was written.
 * @throws {InputError} On bad usage, an unknown run, or a run that has finished.
 */
export async function decideCommand(
  args: string[],
  io: { stdout: (t: string) => void },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "runs-dir": { type: "string" } },
      allowPositionals: true,
    });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const [runId, action, ...extra] = parsed.positionals;
  if (!runId || (action !== "promote" && action !== "abort") || extra.length > 0) {
    throw new InputError("usage: deno task decide <run-id> promote|abort [--runs-dir <dir>]");
  }
  const runDir = `${parsed.values["runs-dir"] ?? ".tracktion/runs"}/${runId}`;
  try {
    await Deno.stat(`${runDir}/events.jsonl`);
  } catch {
    throw new InputError(`No run "${runId}" in ${parsed.values["runs-dir"] ?? ".tracktion/runs"}`);
  }
  try {
    await Deno.stat(`${runDir}/report.json`);
    throw new InputError(`Run "${runId}" has finished: there is nothing to decide`);
  } catch (err) {
    if (err instanceof InputError) throw err;
  }
  const events = await Deno.readTextFile(`${runDir}/events.jsonl`);
  const lines = events.trimEnd().split("\n").map((l) =>
    JSON.parse(l) as { type: string; stage?: string }
  );
  const paused = lines.filter((e) => e.type === "stage.paused").map((e) => e.stage);
  const decided = new Set(lines.filter((e) => e.type === "stage.decision").map((e) => e.stage));
  const waiting = paused.filter((s) => !decided.has(s));
  if (waiting.length === 0) {
    throw new InputError(`Run "${runId}" has no stage waiting for a decision`);
  }
  const user = Deno.env.get("USER") ?? "unknown";
  await writeDecision(runDir, action, user);
  io.stdout(`${action} recorded for stage "${waiting.at(-1)}" of run ${runId} (by ${user})\n`);
  return 0;
}
