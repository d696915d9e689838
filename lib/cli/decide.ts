/**
 * `deno task decide <run-id> promote|abort`: decides a paused stage from another shell.
 * @module
 */
import { parseArgs } from "node:util";
import { decideRun, DecisionRefused } from "../ui/decision.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { actor } from "../runner/mod.ts";

/**
 * The usage of `decide`.
 *
 * @example
 * ```ts
 * import { DECIDE_USAGE } from "./decide.ts";
 * console.assert(DECIDE_USAGE.startsWith("usage: deno task decide"));
 * ```
 */
export const DECIDE_USAGE = `usage: deno task decide <run-id> promote|abort [--runs-dir <dir>]

Decides, from another shell, a stage that paused on a gate breach (a gate with
onBreach("pause")): promote carries on, abort fails the stage (and runs the failure path).
The run waits for a decision as long as deploy's --decision-timeout (default 30m).
  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR})`;

/**
 * Runs `decide`.
 *
 * @returns 0 when the decision was written.
 * @throws {InputError} On bad usage, an unknown run, or a run that has finished.
 *
 * @example
 * ```ts
 * import { decideCommand } from "./decide.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => decideCommand(["run-1", "maybe"], io), /usage: deno task decide/);
 * ```
 */
export async function decideCommand(
  args: string[],
  io: Pick<CliIo, "stdout">,
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
    throw new InputError(DECIDE_USAGE);
  }
  const runsDir = parsed.values["runs-dir"] ?? RUNS_DIR;
  const user = await actor();
  // The dashboard's promote/abort records the same decision with the same checks.
  let decided;
  try {
    decided = await decideRun(runsDir, { runId, action, user });
  } catch (err) {
    if (err instanceof DecisionRefused) throw new InputError(err.message);
    throw err;
  }
  io.stdout(`${action} recorded for stage "${decided.stage}" of run ${runId} (by ${user})\n`);
  return EXIT.ok;
}

/**
 * The `decide` command of the CLI.
 *
 * @example
 * ```ts
 * import { DECIDE_COMMAND } from "./decide.ts";
 * console.assert(DECIDE_COMMAND.name === "decide");
 * ```
 */
export const DECIDE_COMMAND: Command = {
  name: "decide",
  summary: "promote or abort a stage paused on a gate breach, from another shell",
  usage: DECIDE_USAGE,
  run: decideCommand,
};
