/**
 * Test helpers: `deno task migrate`'s program as a subprocess in a clean environment (no
 * inherited DATABASE_URL), run to the end or spawned to be signalled.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./_helpers.ts";

/** What a finished `migrate` printed and how it exited. */
export interface CliResult {
  /** The exit code. */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/** Options of {@linkcode migrateProcess} and {@linkcode migrate}. */
export interface MigrateProcessOptions {
  /** Environment variables besides PATH, HOME and Deno's caches. */
  env?: Record<string, string>;
  /** Working folder (default the repository root). */
  cwd?: string;
}

/** The `migrate` subprocess's command: `deno run ... lib/cli/main.ts migrate <args>`. */
export function migrateProcess(args: string[], options: MigrateProcessOptions = {}): Deno.Command {
  const env: Record<string, string> = { NO_COLOR: "1", ...options.env };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${REPO_ROOT}/lib/cli/main.ts`,
      "migrate",
      ...args,
    ],
    cwd: options.cwd ?? REPO_ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `deno task migrate`'s program to the end. */
export async function migrate(
  args: string[],
  options: MigrateProcessOptions = {},
): Promise<CliResult> {
  const output = await migrateProcess(args, options).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Asserts the exit code, showing both outputs when it differs. */
export function expectCode(result: CliResult, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
}
