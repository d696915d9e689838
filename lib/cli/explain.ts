/**
 * `deno task explain <run-id|run-dir> [--runs-dir <dir>] [--json]`: one screen that says
 * what happened in a run, the first cause of a failure, what the runner did about it, and
 * the next commands to run (the runbook's Troubleshooting section). Reads only the run's
 * folder. Exit 0 for any run it can explain (explaining a failure is not a failure); 2 for
 * bad usage or a run it cannot find or read, with what to do.
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { explainRun, findRun, renderExplanation } from "../explain/mod.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { InputError } from "../runner/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `explain`.
 *
 * @example
 * ```ts
 * import { EXPLAIN_USAGE } from "./explain.ts";
 * console.assert(EXPLAIN_USAGE.startsWith("usage: deno task explain"));
 * ```
 */
export const EXPLAIN_USAGE =
  `usage: deno task explain <run-id|run-dir> [--runs-dir <dir>] [--json] [--width <columns>]

Says, on one screen, what happened in a run (pipeline, environment, version, status,
duration, who), the first cause of a failure (the breaching gate with its values and
threshold per target and canary step, the failing check with its evidence, the pod that
would not run with its reason and last log lines, a migration, a lost lock, an interrupted
run), what the runner did about it (rollback, notifications, statuses, what did not arrive),
and the commands to run next. Reads only the run's folder (report.json, events.jsonl, logs/):
it works offline, after the fact. Exit 0 for every run it explains, failed or not.
  --runs-dir <dir>   where the run folders are (default ${RUNS_DIR})
  --json             the same content, structured
  --width <columns>  the screen's width (default 100; 40 lines either way)`;

/** The run folders under `runsDir`, newest first (their names start with their time). */
async function recentRuns(runsDir: string, limit: number): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(runsDir)) if (e.isDirectory) names.push(e.name);
  } catch {
    return [];
  }
  return names.sort().reverse().slice(0, limit);
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        "runs-dir": { type: "string" },
        json: { type: "boolean" },
        width: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new InputError(`${(error as Error).message}\n${EXPLAIN_USAGE}`);
  }
}

/**
 * Runs `explain`.
 *
 * @param args The arguments after `explain`.
 * @param io Where to write.
 * @returns 0 when the run was explained.
 * @throws {InputError} On bad usage, an unknown run (with the recent ones and what to do), or
 *   a run folder that cannot be read.
 *
 * @example
 * ```ts
 * import { explainCommand } from "./explain.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => explainCommand([], io), /usage: deno task explain/);
 * const runs = await Deno.makeTempDir();
 * await assert.rejects(() => explainCommand(["nope", "--runs-dir", runs], io), /No run "nope"/);
 * await Deno.remove(runs);
 * ```
 */
export async function explainCommand(
  args: string[],
  io: Pick<CliIo, "stdout" | "stderr">,
): Promise<number> {
  const parsed = parse(args);
  const [which, ...extra] = parsed.positionals;
  if (which === undefined || which.trim() === "" || extra.length > 0) {
    throw new InputError(
      `${
        which === undefined ? "explain needs a run id" : "explain takes one run"
      }\n${EXPLAIN_USAGE}`,
    );
  }
  const widthText = parsed.values.width;
  const width = widthText === undefined ? 100 : Number(widthText);
  if (!Number.isInteger(width) || width < 40 || width > 400) {
    throw new InputError(`--width takes a whole number from 40 to 400, got "${widthText}"`);
  }
  const runsDir = parsed.values["runs-dir"] ?? RUNS_DIR;
  const dir = await findRun(which, runsDir);
  if (!dir) {
    const recent = await recentRuns(runsDir, 5);
    throw new InputError(
      `No run "${which}": no report.json or events.jsonl in ${
        which.includes("/") ? which : `${runsDir}/${which}`
      }. ${
        recent.length
          ? `The latest runs in ${runsDir}: ${recent.join(", ")}`
          : `${runsDir} holds no runs`
      }; give a run id from there, a run's folder, or --runs-dir <dir> where the runs are`,
    );
  }
  // The commands that find the run again point at its folder's parent, unless it is the default.
  const parent = resolve(dir, "..");
  const runsDirFlag = parent === resolve(RUNS_DIR) ? [] : ["--runs-dir", parent];
  let explanation;
  try {
    explanation = await explainRun(dir, { runsDirFlag });
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new InputError(`${error.message}: nothing to explain in ${dir}`);
    }
    throw error;
  }
  if (parsed.values.json) io.stdout(JSON.stringify(explanation, null, 2) + "\n");
  else io.stdout(renderExplanation(explanation, { width }));
  return EXIT.ok;
}

/**
 * The `explain` command of the CLI.
 *
 * @example
 * ```ts
 * import { EXPLAIN_COMMAND } from "./explain.ts";
 * console.assert(EXPLAIN_COMMAND.name === "explain");
 * ```
 */
export const EXPLAIN_COMMAND: Command = {
  name: "explain",
  summary: "says what happened in a run, its first cause, and what to run next",
  usage: EXPLAIN_USAGE,
  run: explainCommand,
};
