/**
 * The command line: one entry (`deno run -A lib/cli/main.ts <command>`, what every
 * `deno task` runs) with its table of commands — deploy, run, plan, rollback, decide, report,
 * config, sandbox, migrate, release — one table of exit codes, and a usage per command. It
 * parses arguments, prints, and maps errors to exit codes; the work is the library's.
 *
 * ```ts
 * import { EXIT, main } from "./mod.ts";
 * const out: string[] = [];
 * const io = { stdout: (t: string) => out.push(t), stderr: () => {}, tty: false, colour: false };
 * console.assert(await main(["migrate", "--help"], io) === EXIT.ok);
 * ```
 *
 * @module
 */
export { COMMANDS, main, USAGE } from "./main.ts";
export * from "./command.ts";
