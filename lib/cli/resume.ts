/**
 * `deno task resume <run-id>`: goes on with a run whose runner died. The run's journal says
 * how it was started (its command line) and how far it got; the run is started again the
 * same way, under the same run id, appending to the same journal: it takes its lock again
 * (taking over the dead runner's hold), re-reads the cluster, skips the stages that
 * finished (their outputs are the journal's), runs again the one that was running (every
 * stage of the deploy is idempotent), and goes on — or, when a stage had failed, finishes
 * the failure path; at its end it is signed as a new run is (`pipeline.ts`), keeping the link
 * to the previous run its journal recorded when it started. Refused (exit 2, nothing changed)
 * when the run finished, or its runner is still alive on this machine.
 * @module
 */
import { parseArgs } from "node:util";
import { hostname } from "node:os";
import { InputError } from "../runner/mod.ts";
import { readRunStart } from "../runner/resume_run.ts";
import { RUNS_DIR } from "../product/mod.ts";
import type { CliIo, Command } from "./command.ts";
import { runArguments } from "./run_args.ts";
import { runPipeline } from "./pipeline.ts";

/**
 * The usage of `resume`.
 *
 * @example
 * ```ts
 * import { RESUME_USAGE } from "./resume.ts";
 * console.assert(RESUME_USAGE.startsWith("usage: deno task resume"));
 * ```
 */
export const RESUME_USAGE = `usage: deno task resume <run-id> [--runs-dir <dir>]

Goes on with a run whose runner died (kill -9, a lost machine), from its journal: the same
command line, the same run id. Finished stages are not run again; the one that was running
runs again; a run that had failed finishes its failure path. At its end it is signed as the
command it resumes would sign it (its --signing-key, the environment file's key, the sandbox's),
and it keeps the link to the run before it that it recorded when it started.

  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR}, or the run's own)
`;

const PIPELINE_COMMANDS = new Set(["deploy", "run", "rollback"]);

/** Whether a process of this machine is alive and a Deno runner (its command line says). */
function runnerAlive(pid: number): boolean {
  try {
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return /deno/.test(cmdline);
  } catch {
    return false;
  }
}

/**
 * Runs `resume` and returns the exit code.
 *
 * @param args The arguments after `resume`.
 * @param io Where output goes, and the interrupt.
 * @returns The resumed run's exit code (as `deploy`'s).
 * @throws {InputError} Bad usage, no such run, a finished run, a live runner.
 *
 * @example
 * ```ts ignore
 * const code = await resumeCommand(["20260101T120000Z-a1b2c3"], io);
 * ```
 */
export async function resumeCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "runs-dir": { type: "string" } },
      allowPositionals: true,
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${RESUME_USAGE}`);
  }
  const [runId] = parsed.positionals;
  if (!runId || parsed.positionals.length > 1) throw new InputError(RESUME_USAGE);
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === "." || runId === "..") {
    throw new InputError(
      `Cannot resume "${runId}": a run id has only letters, digits, ".", "_" and "-"`,
    );
  }
  const runsDir = parsed.values["runs-dir"] ?? RUNS_DIR;
  const start = await readRunStart(`${runsDir}/${runId}`);
  if (start.finished) {
    throw new InputError(
      `Cannot resume run ${runId}: it finished (${start.finished}); see deno task report ${runId}`,
    );
  }
  if (start.broken) {
    throw new InputError(
      `Cannot resume run ${runId}: its journal does not verify (${start.broken}): it was changed ` +
        `after it was written; see deno task report ${runId}`,
    );
  }
  const [command, ...rest] = start.invocation ?? [];
  if (!command || !PIPELINE_COMMANDS.has(command)) {
    throw new InputError(`Cannot resume run ${runId}: its journal does not say how it was started`);
  }
  if (
    start.pid !== undefined && start.host === hostname() && start.pid !== Deno.pid &&
    runnerAlive(start.pid)
  ) {
    throw new InputError(
      `Cannot resume run ${runId}: its runner (pid ${start.pid}) is still running on this machine; ` +
        `stop it (Ctrl-C runs its failure path) or wait for it`,
    );
  }
  // The run's own --runs-dir, unless one is given here.
  const withDir = parsed.values["runs-dir"] === undefined || rest.includes("--runs-dir")
    ? rest
    : [...rest, "--runs-dir", runsDir];
  // A run started with --json streams NDJSON on stdout: the line for people goes to stderr.
  const say = rest.includes("--json") ? io.stderr : io.stdout;
  say(`resume: run ${runId} (${command} ${rest.join(" ")})\n`);
  return await runPipeline(runArguments(command as "deploy", withDir), io, {
    invocation: [command, ...withDir],
    resume: runId,
  });
}

/**
 * The `resume` command of the CLI.
 *
 * @example
 * ```ts
 * import { RESUME_COMMAND } from "./resume.ts";
 * console.assert(RESUME_COMMAND.name === "resume");
 * ```
 */
export const RESUME_COMMAND: Command = {
  name: "resume",
  summary: "goes on with a run whose runner died, from its journal",
  usage: RESUME_USAGE,
  stopsOnSignal: true,
  run: resumeCommand,
};
