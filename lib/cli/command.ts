/**
 * What every command of the CLI shares: the one table of exit codes, where a command writes
 * (and what it knows of its terminal), and the shape of a command in the table `main.ts`
 * dispatches on.
 * @module
 */

/**
 * The exit codes of every command: `0` done; `1` it ran and failed (a pipeline rolled back, a
 * migration failed, a release step failed, a journal that does not verify); `2` bad input with
 * nothing changed (usage, configuration, a state to fix first); `130` interrupted.
 *
 * @example
 * ```ts
 * import { EXIT } from "./command.ts";
 * console.assert(EXIT.ok === 0 && EXIT.failed === 1 && EXIT.input === 2);
 * console.assert(EXIT.interrupted === 130);
 * ```
 */
export const EXIT = { ok: 0, failed: 1, input: 2, interrupted: 130 } as const;

/**
 * One of the exit codes of {@linkcode EXIT}.
 *
 * @example
 * ```ts
 * import { EXIT, type ExitCode } from "./command.ts";
 * const code: ExitCode = EXIT.input;
 * console.assert(code === 2);
 * ```
 */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Where a command writes (raw text: each write brings its own newlines), and what it knows of
 * its terminal. Tests pass their own.
 *
 * @example
 * ```ts
 * import type { CliIo } from "./command.ts";
 * const out: string[] = [];
 * const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => out.push(t), tty: false, colour: false };
 * io.stdout("hello\n");
 * console.assert(out.join("") === "hello\n");
 * ```
 */
export interface CliIo {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error. */
  readonly stderr: (text: string) => void;
  /** Whether a person is at a terminal (standard input and output are both terminals). */
  readonly tty: boolean;
  /** Whether to colour the output. */
  readonly colour: boolean;
  /** Aborted on SIGINT/SIGTERM, for the commands that stop cleanly on them. */
  readonly signal?: AbortSignal;
}

/**
 * A command of the CLI: its name, a line for the overview, its own usage (printed by
 * `--help`/`-h` with exit 0), and how it runs.
 *
 * @example
 * ```ts
 * import { type Command, EXIT } from "./command.ts";
 * const hello: Command = {
 *   name: "hello",
 *   summary: "says hello",
 *   usage: "usage: deno task hello",
 *   run: (_args, io) => {
 *     io.stdout("hello\n");
 *     return Promise.resolve(EXIT.ok);
 *   },
 * };
 * console.assert(hello.usage.startsWith("usage:"));
 * ```
 */
export interface Command {
  /** The command's name (`deno task <name>`). */
  readonly name: string;
  /** One line for the overview of every command. */
  readonly summary: string;
  /** The command's usage. */
  readonly usage: string;
  /**
   * Whether SIGINT/SIGTERM abort `io.signal` (the command stops cleanly, a second signal
   * exits 130) instead of ending the process at once.
   */
  readonly stopsOnSignal?: boolean;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}
