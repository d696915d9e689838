/**
 * The one entry of the CLI: `deno run -A lib/cli/main.ts <command> ...` (what every `deno task`
 * runs). It finds the command in the table, prints its usage for `--help`/`-h` (exit 0),
 * turns SIGINT/SIGTERM into an abort for the commands that stop cleanly on them, and maps
 * what is thrown to the one table of exit codes ({@linkcode EXIT}: 0 ok, 1 failed, 2 bad
 * input with nothing changed, 130 interrupted).
 * @module
 */
import { InputError, InterruptedError } from "../runner/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { APPROVE_COMMAND } from "./approve_command.ts";
import { CLEANUP_COMMAND } from "./cleanup.ts";
import { CONFIG_COMMAND } from "./config.ts";
import { DECIDE_COMMAND } from "./decide.ts";
import { EXPLAIN_COMMAND } from "./explain.ts";
import { KEYGEN_COMMAND } from "./keygen.ts";
import { MIGRATE_COMMAND } from "./migrate.ts";
import { MONITORING_COMMAND } from "./monitoring.ts";
import { PIPELINE_COMMANDS } from "./pipeline.ts";
import { PROMOTE_COMMAND } from "./promote.ts";
import { RELEASE_COMMAND } from "./release.ts";
import { REPORT_COMMAND } from "./report.ts";
import { RESUME_COMMAND } from "./resume.ts";
import { SANDBOX_COMMAND } from "./sandbox.ts";
import { SIMULATE_COMMAND } from "./simulate.ts";
import { STATUS_COMMAND } from "./status.ts";
import { UI_COMMAND } from "./ui.ts";

/**
 * Every command of the CLI, in the order the overview lists them.
 *
 * @example
 * ```ts
 * import { COMMANDS } from "./main.ts";
 * console.assert(COMMANDS.some((c) => c.name === "migrate"));
 * ```
 */
export const COMMANDS: readonly Command[] = [
  ...PIPELINE_COMMANDS,
  PROMOTE_COMMAND,
  RESUME_COMMAND,
  STATUS_COMMAND,
  KEYGEN_COMMAND,
  APPROVE_COMMAND,
  CLEANUP_COMMAND,
  DECIDE_COMMAND,
  REPORT_COMMAND,
  EXPLAIN_COMMAND,
  CONFIG_COMMAND,
  SANDBOX_COMMAND,
  SIMULATE_COMMAND,
  MIGRATE_COMMAND,
  RELEASE_COMMAND,
  MONITORING_COMMAND,
  UI_COMMAND,
];

/**
 * The overview: every command with its line (`deno task <command> --help` for its usage).
 *
 * @example
 * ```ts
 * import { USAGE } from "./main.ts";
 * console.assert(USAGE.startsWith("usage: deno task <command>"));
 * ```
 */
export const USAGE: string = [
  "usage: deno task <command> [arguments]   (deno task <command> --help for its usage)",
  "",
  ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
  "",
  "Exit codes: 0 ok; 1 it ran and failed; 2 bad input, nothing changed; 130 interrupted.",
].join("\n");

const isHelp = (arg: string) => arg === "--help" || arg === "-h";

/**
 * Runs a CLI command.
 *
 * @param args The arguments after `deno run ... main.ts`: the command, then its own.
 * @param io Where to write and what the terminal is.
 * @returns The exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const out: string[] = [];
 * const io = { stdout: (t: string) => out.push(t), stderr: () => {}, tty: false, colour: false };
 * console.assert(await main(["deploy", "--help"], io) === 0);
 * console.assert(out.join("").startsWith("usage: deno task deploy"));
 * console.assert(await main(["frobnicate"], io) === 2);
 * ```
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || isHelp(name)) {
    (name === undefined ? io.stderr : io.stdout)(`${USAGE}\n`);
    return name === undefined ? EXIT.input : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`error: unknown command "${name}"\n${USAGE}\n`);
    return EXIT.input;
  }
  if (rest.some(isHelp)) {
    io.stdout(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.input;
    }
    if (err instanceof InterruptedError) {
      io.stderr(`${err.message}\n`);
      return EXIT.interrupted;
    }
    throw err;
  }
}

/** Writes all of `text` (a pipe may take it in parts). */
function writeAll(file: typeof Deno.stdout, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/** SIGINT/SIGTERM abort the returned signal; a second one exits 130 at once. */
function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(EXIT.interrupted);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return controller.signal;
}

if (import.meta.main) {
  const command = COMMANDS.find((c) => c.name === Deno.args[0]);
  const tty = Deno.stdout.isTerminal();
  const code = await main(Deno.args, {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeAll(Deno.stderr, t),
    tty: tty && Deno.stdin.isTerminal(),
    colour: tty && !Deno.env.get("NO_COLOR"),
    ...(command?.stopsOnSignal ? { signal: abortOnSignals() } : {}),
  });
  // Done: nothing left to wait for, even if a client still holds a socket.
  Deno.exit(code);
}
