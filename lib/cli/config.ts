/**
 * `deno task config validate [<environment>...]` and `config diff <a> <b>`: environment files
 * checked (every problem, with file, line and field) and compared (secrets as references).
 * @module
 */
import { parseArgs } from "node:util";
import {
  ConfigError,
  describeSecretRef,
  diffEnvironments,
  displayPath,
  type Environment,
  ENVIRONMENTS_DIR,
  isDuration,
  isSecretRef,
  listEnvironments,
  loadEnvironment,
} from "../config/mod.ts";
import { type Command, EXIT } from "./command.ts";

/** Where {@linkcode configCommand} writes raw text (each write ends with a newline). */
export interface CommandIo {
  /** Writes normal output. */
  stdout: (text: string) => void;
  /** Writes errors and usage. */
  stderr: (text: string) => void;
}

/** Options for {@linkcode configCommand}. */
export interface ConfigCommandOptions {
  /** The environments folder (default `ENVIRONMENTS_DIR`); `--environments-dir` overrides it. */
  environmentsDir?: string;
}

/**
 * The usage of `config` (`deno task config --help` prints it).
 *
 * @example
 * ```ts
 * import { CONFIG_USAGE } from "./config.ts";
 * console.assert(CONFIG_USAGE.startsWith("usage: deno task config"));
 * ```
 */
export const CONFIG_USAGE: string =
  `usage: deno task config validate [<environment>...] [--environments-dir <dir>]
       deno task config diff <a> <b> [--environments-dir <dir>]

  validate  checks environment files (all *.yml in the folder when none is named);
            prints "ok <file>" per valid file, every problem otherwise (exit 0 or 2)
  diff      lists the fields that differ between two environments
            (secrets are shown as references, never resolved)
  --environments-dir <dir>  the environments folder (default ${ENVIRONMENTS_DIR})`;

/**
 * Runs `config validate [env...]` or `config diff <a> <b>`.
 *
 * @param args The arguments after `config`.
 * @param rawIo Where to write output and errors.
 * @param options The environments folder.
 * @returns The exit code: 0 success, 2 bad usage or invalid environment.
 *
 * @example
 * ```ts
 * import { configCommand } from "./config.ts";
 * import assert from "node:assert/strict";
 * const errors: string[] = [];
 * const code = await configCommand(["frobnicate"], { stdout: () => {}, stderr: (s) => errors.push(s) });
 * assert.equal(code, 2);
 * ```
 */
export async function configCommand(
  args: string[],
  rawIo: CommandIo,
  options: ConfigCommandOptions = {},
): Promise<number> {
  const io: CommandIo = {
    stdout: (text) => rawIo.stdout(`${text}\n`),
    stderr: (text) => rawIo.stderr(`${text}\n`),
  };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { "environments-dir": { type: "string" } },
    });
  } catch (error) {
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n${CONFIG_USAGE}`);
    return EXIT.input;
  }
  const dir = parsed.values["environments-dir"] ?? options.environmentsDir ?? ENVIRONMENTS_DIR;
  const [command, ...rest] = parsed.positionals;
  if (command === "validate") return await validate(rest, dir, io);
  if (command === "diff" && rest.length === 2) return await diff(rest[0]!, rest[1]!, dir, io);
  const problem = command === undefined
    ? "expected a command: validate or diff"
    : command === "diff"
    ? `expected two environments for diff, got ${rest.length}`
    : `unknown command ${JSON.stringify(command)}: expected validate or diff`;
  io.stderr(`error: ${problem}\n${CONFIG_USAGE}`);
  return EXIT.input;
}

async function validate(names: string[], dir: string, io: CommandIo): Promise<number> {
  const targets = names.length > 0 ? names : await listEnvironments({ dir });
  if (targets.length === 0) {
    io.stderr(`No environment files (*.yml) in ${displayPath(dir)}`);
    return EXIT.input;
  }
  let failed = 0;
  for (const name of targets) {
    try {
      const env = await loadEnvironment(name, { dir });
      io.stdout(`ok ${env.file}`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      failed++;
      io.stderr(error.message);
    }
  }
  if (failed > 0) {
    io.stderr(`${failed} of ${targets.length} environments have problems`);
    return EXIT.input;
  }
  return EXIT.ok;
}

/**
 * Shows a configuration value in a table cell: durations as written, secrets as references.
 *
 * @param value A value from an environment.
 * @returns Text for people.
 */
export function formatConfigValue(value: unknown): string {
  if (value === undefined) return "(absent)";
  if (isDuration(value)) return value.text;
  if (isSecretRef(value)) return describeSecretRef(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

async function diff(a: string, b: string, dir: string, io: CommandIo): Promise<number> {
  let left: Environment;
  let right: Environment;
  try {
    left = await loadEnvironment(a, { dir });
    right = await loadEnvironment(b, { dir });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return EXIT.input;
  }
  const differences = diffEnvironments(left, right);
  if (differences.length === 0) {
    io.stdout(`No differences between ${a} and ${b}`);
    return EXIT.ok;
  }
  const rows = [
    ["path", a, b],
    ...differences.map((d) => [d.path, formatConfigValue(d.a), formatConfigValue(d.b)]),
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`.trimEnd()
  );
  const count = `${differences.length} field${differences.length === 1 ? "" : "s"} differ`;
  io.stdout([...lines, "", count].join("\n"));
  return EXIT.ok;
}

/**
 * The `config` command of the CLI.
 *
 * @example
 * ```ts
 * import { CONFIG_COMMAND } from "./config.ts";
 * console.assert(CONFIG_COMMAND.usage.includes("config validate"));
 * ```
 */
export const CONFIG_COMMAND: Command = {
  name: "config",
  summary: "validates environment files, or lists what differs between two",
  usage: CONFIG_USAGE,
  run: (args, io) => configCommand(args, io),
};
