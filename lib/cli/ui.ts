/**
 * `deno task ui [--port <n>] [--runs-dir <dir>] [--user <name>]`: the local web dashboard
 * (lib/ui): the runs, a running run live, a finished run's report, promote/abort on a
 * paused canary. It listens on 127.0.0.1 only and prints its address with the token it
 * generated; every request without the token gets 401. Ctrl-C stops it.
 * @module
 */
import { parseArgs } from "node:util";
import { RUNS_DIR } from "../product/mod.ts";
import { actor, InputError } from "../runner/mod.ts";
import { LOOPBACK, startDashboard } from "../ui/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `ui`.
 *
 * @example
 * ```ts
 * import { UI_USAGE } from "./ui.ts";
 * console.assert(UI_USAGE.startsWith("usage: deno task ui"));
 * ```
 */
export const UI_USAGE =
  `usage: deno task ui [--port <n>] [--runs-dir <dir>] [--user <name>] [--host ${LOOPBACK}]

A local web dashboard: the runs (newest first, filtered by environment and status), a running
run live (its stages, gate charts and traffic split, as its journal grows), a finished run's
report, and promote/abort on a stage paused on a gate breach (recorded as deno task decide
records it, with --user as who decided). It listens on ${LOOPBACK} only and prints its
address with a token generated at start: every request without the token is refused (401).
Ctrl-C stops it.
  --port <n>        the port (default: a free one)
  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR})
  --user <name>     who a decision made here is recorded as (default: as decide records it:
                    DEPLOY_ACTOR, git's user.email, or the OS user)
  --host ${LOOPBACK}  the only address it listens on (any other is refused)`;

const FLAGS = {
  port: { type: "string" },
  "runs-dir": { type: "string" },
  user: { type: "string" },
  host: { type: "string" },
} as const;

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${UI_USAGE}`);
  }
}

function portOf(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InputError(`--port must be a port number from 1 to 65535, got "${raw}"`);
  }
  return n;
}

async function runsDirOf(raw: string | undefined): Promise<{ dir: string; note?: string }> {
  const dir = raw ?? RUNS_DIR;
  const stat = await Deno.stat(dir).catch(() => null);
  if (stat?.isDirectory) return { dir };
  if (raw === undefined && !stat) return { dir, note: `${dir} does not exist yet: no runs` };
  throw new InputError(`--runs-dir ${dir} is not a folder of runs`);
}

/**
 * Runs `ui` until its signal aborts (Ctrl-C).
 *
 * @param args The arguments after `ui`.
 * @param io Where to print the address, and the signal that stops it.
 * @returns 0 once stopped.
 * @throws {InputError} On bad usage, a host other than 127.0.0.1, a bad port or runs folder,
 * a port in use.
 *
 * @example
 * ```ts
 * import { uiCommand } from "./ui.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => uiCommand(["--host", "0.0.0.0"], io), /127\.0\.0\.1 only/);
 * await assert.rejects(() => uiCommand(["--port", "http"], io), /--port must be/);
 * ```
 */
export async function uiCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args);
  if (positionals.length > 0) {
    throw new InputError(`ui takes no arguments, got "${positionals[0]}"\n${UI_USAGE}`);
  }
  if (values.host !== undefined && values.host !== LOOPBACK) {
    throw new InputError(
      `Cannot listen on ${values.host}: the dashboard listens on ${LOOPBACK} only (it can ` +
        "promote and abort deploys; reach it from elsewhere through an SSH tunnel)",
    );
  }
  const port = portOf(values.port);
  // deno-lint-ignore no-control-regex
  if (values.user !== undefined && (values.user.trim() === "" || /[\x00-\x1f]/.test(values.user))) {
    throw new InputError(`--user must be a name, got ${JSON.stringify(values.user)}`);
  }
  const runs = await runsDirOf(values["runs-dir"]);
  const user = values.user ?? await actor();
  let dashboard;
  try {
    dashboard = await startDashboard({ runsDir: runs.dir, user, port });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new InputError(`Cannot listen on ${LOOPBACK}:${port}: the port is in use`);
    }
    throw err;
  }
  try {
    io.stdout(`dashboard: ${dashboard.url}\n`);
    io.stderr(
      `runs: ${runs.dir}${runs.note ? ` (${runs.note})` : ""}; decisions recorded as ${user}; ` +
        "Ctrl-C stops it\n",
    );
    const signal = io.signal;
    await (signal
      ? new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      })
      : dashboard.finished);
  } finally {
    await dashboard.stop();
  }
  return EXIT.ok;
}

/**
 * The `ui` command of the CLI.
 *
 * @example
 * ```ts
 * import { UI_COMMAND } from "./ui.ts";
 * console.assert(UI_COMMAND.name === "ui" && UI_COMMAND.stopsOnSignal === true);
 * ```
 */
export const UI_COMMAND: Command = {
  name: "ui",
  summary: "a local web dashboard: runs, a run live, promote/abort (127.0.0.1, with a token)",
  usage: UI_USAGE,
  stopsOnSignal: true,
  run: uiCommand,
};
