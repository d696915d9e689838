// Bad input, broadly: one malformed input per test, run through the real CLI (`deno task
// deploy`/`run`: lib/cli/main.ts) in a subprocess whose working directory is a fresh temporary
// folder. A refusal is exit 2, the expected (located) message on standard error, no stack
// trace, nothing on standard output, and the folder exactly as it was: no run folder, no
// sandbox state (`--sandbox --sandbox-dir <tmp>/sandbox`: no sandbox started, so no Lease
// taken), no default `.tracktion/` written by mistake.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { cliArgs, ENVIRONMENTS, inTempDir, REPO, tree } from "../runner/_isolated.ts";
import { DESCRIBE_TIMEOUT_MS } from "../../lib/runner/describe.ts";

export { ENVIRONMENTS, REPO };

/**
 * An argument given as raw bytes: a bash `$'...'` string (`$'dev\xffelopment'`), for what
 * `Deno.Command` cannot pass (its arguments are strings, so always valid UTF-8).
 */
export interface RawArgument {
  readonly bash: string;
}

/** One argument of the command line. */
export type CliArgument = string | RawArgument;

/** The flags that would start a sandbox and write a run folder, both inside `dir`. */
export function sandboxFlags(dir: string): string[] {
  return ["--sandbox", "--sandbox-dir", `${dir}/sandbox`, "--runs-dir", `${dir}/runs`];
}

/**
 * The longest a refusal may take before the test calls it a hang: the CLI's slowest legitimate
 * refusal is a pipeline that uses its whole load time limit (the product's constant), after
 * the process started; twice that leaves the start (and a type check) as long again.
 */
export const HANG_MS = 2 * DESCRIBE_TIMEOUT_MS;

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the CLI with `args` in `cwd`, killed after `killAfterMs`. */
export async function runCli(
  cwd: string,
  args: readonly CliArgument[],
  o: { env?: Record<string, string>; killAfterMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number; killed: boolean }> {
  const raw = args.some((a) => typeof a !== "string");
  const full = cliArgs(args.map((a) => (typeof a === "string" ? a : "")));
  const command = raw
    ? new Deno.Command("bash", {
      args: [
        "-c",
        `exec ${quote(Deno.execPath())} ${
          [
            ...full.slice(0, full.length - args.length).map(quote),
            ...args.map((a) => (typeof a === "string" ? quote(a) : a.bash)),
          ].join(" ")
        }`,
      ],
      cwd,
      env: { NO_COLOR: "1", ...o.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: full,
      cwd,
      env: { NO_COLOR: "1", ...o.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  const t0 = performance.now();
  const child = command.spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, o.killAfterMs ?? HANG_MS);
  try {
    const out = await child.output();
    const d = new TextDecoder();
    return {
      code: out.code,
      stdout: d.decode(out.stdout),
      stderr: d.decode(out.stderr),
      ms: performance.now() - t0,
      killed,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** What one refusal case is. */
export interface Refusal {
  /** Writes the malformed files into the temporary folder (before its snapshot). */
  readonly setup?: (dir: string) => Promise<void> | void;
  /** The command line, after `deno task`: e.g. `["run", file, "development", ...]`. */
  readonly args: (dir: string) => readonly CliArgument[];
  /** What standard error must say (each must match; `dir` in them as the folder). */
  readonly message: (dir: string) => RegExp | readonly RegExp[];
  /** What standard error must not say (a secret's value, the parser's noise). */
  readonly absent?: readonly RegExp[];
  /** Environment variables for the CLI. */
  readonly env?: Record<string, string>;
  /** The longest the refusal may take (default {@linkcode HANG_MS}). */
  readonly killAfterMs?: number;
}

/**
 * Runs one malformed input in a fresh temporary folder and asserts it is refused: exit 2,
 * the message, no stack trace, nothing printed on standard output, nothing changed in the
 * folder. Returns what the CLI printed and how long it took.
 */
export async function refuses(c: Refusal): Promise<{ stderr: string; ms: number }> {
  return await inTempDir(async (dir) => {
    await c.setup?.(dir);
    const before = await tree(dir);
    const args = c.args(dir);
    const r = await runCli(dir, args, {
      ...(c.env ? { env: c.env } : {}),
      ...(c.killAfterMs ? { killAfterMs: c.killAfterMs } : {}),
    });
    const shown = args.map((a) => (typeof a === "string" ? a : a.bash)).join(" ").slice(0, 400);
    const what =
      `deno task ${shown}\n--- exit ${r.code}, stdout:\n${r.stdout}--- stderr:\n${r.stderr}`;
    assert.ok(!r.killed, `still running after ${c.killAfterMs ?? HANG_MS} ms: ${what}`);
    assert.equal(r.code, 2, what);
    for (const m of [c.message(dir)].flat()) assert.match(r.stderr, m, what);
    for (const m of c.absent ?? []) assert.doesNotMatch(r.stderr, m, what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${what}`);
    assert.doesNotMatch(r.stderr, /Uncaught|\bpanicked\b/, `no runtime error printed: ${what}`);
    assert.equal(r.stdout, "", `nothing ran, nothing printed: ${what}`);
    assert.deepEqual(await tree(dir), before, `nothing changed in the folder: ${what}`);
    return { stderr: r.stderr, ms: r.ms };
  });
}

/** Escapes `text` for a RegExp. */
export function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The 1-based line of the first occurrence of `needle` in `text` (it must be there). */
export function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${JSON.stringify(needle)} is not in the file`);
  return text.slice(0, at).split("\n").length;
}

const BASE_ENVIRONMENT = `${ENVIRONMENTS}/development.yml`;

/**
 * Writes `<dir>/environments/<name>.yml`: the repository's development.yml (its
 * `environment.name` set to `name`) with `edits` applied, each `[old, new]` replacing the first
 * `old` (which must be there: a changed base file fails here, not quietly). Returns the text.
 */
export async function environmentFile(
  dir: string,
  name: string,
  edits: readonly (readonly [string, string])[],
): Promise<string> {
  let text = (await Deno.readTextFile(BASE_ENVIRONMENT)).replace(
    "name: development",
    `name: ${name}`,
  );
  for (const [old, replacement] of edits) {
    assert.ok(text.includes(old), `development.yml has no ${JSON.stringify(old)}`);
    text = text.replace(old, replacement);
  }
  await Deno.mkdir(`${dir}/environments`, { recursive: true });
  await Deno.writeTextFile(`${dir}/environments/${name}.yml`, text);
  return text;
}

/** The fixture pipeline the environment cases run (its stages need nothing but an environment). */
export const BASIC = `${REPO}tests/runner/fixtures/basic.ts`;

/** `run basic.ts <name>` with `<dir>/environments`, no type check, a sandbox in `dir`. */
export function runWithEnvironment(dir: string, name: string): string[] {
  return [
    "run",
    BASIC,
    name,
    "--environments-dir",
    `${dir}/environments`,
    "--skip-type-check",
    ...sandboxFlags(dir),
  ];
}

/** The DSL's entry, as a pipeline file in a temporary folder imports it. */
export const MOD = pathToFileURL(`${REPO}mod.ts`).href;

/**
 * Writes `<dir>/pipelines/<name>.ts`: `import { pipeline, stage } from <mod.ts>;` then
 * `body`. Returns the file's path and text.
 */
export async function pipelineFile(
  dir: string,
  name: string,
  body: string,
): Promise<{ path: string; text: string }> {
  const text = `import { pipeline, stage } from ${JSON.stringify(MOD)};\n${body}\n`;
  await Deno.mkdir(`${dir}/pipelines`, { recursive: true });
  const path = `${dir}/pipelines/${name}.ts`;
  await Deno.writeTextFile(path, text);
  return { path, text };
}

/** `run <pipeline> development` with the repository's environments and a sandbox in `dir`. */
export function runPipeline(dir: string, name: string, o: { typeCheck?: boolean } = {}): string[] {
  return [
    "run",
    `${dir}/pipelines/${name}.ts`,
    "development",
    "--environments-dir",
    ENVIRONMENTS,
    ...(o.typeCheck ? [] : ["--skip-type-check"]),
    ...sandboxFlags(dir),
  ];
}
