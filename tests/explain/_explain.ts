// Helpers of the explain tests: runs of the fixture pipeline through the real engine (a run
// folder as the runner writes it), `explain` through the CLI's own entry (in process), and the
// one-screen bound every explanation is held to.
import assert from "node:assert/strict";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun, type RunOutcome } from "../../lib/runner/run.ts";
import type { StageRecord } from "../../lib/report/types.ts";
import type { Explanation } from "../../lib/explain/mod.ts";
import { main } from "../../lib/cli/main.ts";

export const FIXTURE = new URL("./fixtures/explained.ts", import.meta.url).pathname;

/** The screen an explanation must fit. */
export const SCREEN = { lines: 40, columns: 100 };

/** A run of the fixture pipeline in `runsDir`, started as the CLI would with `invocation`. */
export async function fixtureRun(
  runsDir: string,
  o: {
    options?: Record<string, string>;
    dryRun?: boolean;
    signal?: AbortSignal;
    failure?: AbortSignal;
    onChange?: (record: StageRecord, running: boolean) => void;
  } = {},
): Promise<RunOutcome> {
  const options = o.options ?? {};
  const prepared = await prepareRun({
    pipelineFile: FIXTURE,
    environment: "development",
    version: "v2.0.0",
    options,
    skipTypeCheck: true,
  });
  return await executeRun(prepared, {
    runsDir,
    concurrency: 2,
    dryRun: o.dryRun ?? false,
    approve: () => Promise.reject(new Error("no approvals here")),
    invocation: [
      "run",
      FIXTURE,
      "development",
      "v2.0.0",
      "--sandbox",
      "--sandbox-dir",
      `${runsDir}/../sandbox`,
      "--runs-dir",
      runsDir,
      ...Object.entries(options).flatMap(([k, v]) => ["--option", `${k}=${v}`]),
    ],
    target: { kind: "sandbox", cluster: "test-sandbox", namespace: "shop" },
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.failure ? { failure: o.failure } : {}),
    ...(o.onChange ? { onChange: o.onChange } : {}),
  });
}

/** `deno task explain <args>` through the CLI's entry, in process: its exit code and output. */
export async function explain(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(["explain", ...args], {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    tty: false,
    colour: false,
  });
  return { code, stdout, stderr };
}

/** The explanation as `--json` gives it (exit 0 asserted). */
export async function explainJson(...args: string[]): Promise<Explanation> {
  const out = await explain(...args, "--json");
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as Explanation;
}

/** The text form (exit 0 asserted), held to one screen. */
export async function explainText(...args: string[]): Promise<string> {
  const out = await explain(...args);
  assert.equal(out.code, 0, out.stderr);
  assertScreen(out.stdout);
  return out.stdout;
}

/** At most 40 lines of at most 100 columns. */
export function assertScreen(text: string): void {
  const lines = text.trimEnd().split("\n");
  assert.ok(lines.length <= SCREEN.lines, `${lines.length} lines:\n${text}`);
  for (const l of lines) {
    assert.ok([...l].length <= SCREEN.columns, `a line of ${[...l].length} columns: ${l}`);
  }
}

/** The commands of the "Next" section, continuation lines joined (as a shell reads them). */
export function nextCommands(text: string): string[] {
  const commands: string[] = [];
  let current: string | undefined;
  for (const line of text.split("\n")) {
    if (current !== undefined) {
      current += ` ${line.trim().replace(/ \\$/, "")}`;
      if (!line.endsWith(" \\")) {
        commands.push(current);
        current = undefined;
      }
      continue;
    }
    const m = /^ {2}\$ (.*)$/.exec(line);
    if (!m) continue;
    if (m[1]!.endsWith(" \\")) current = m[1]!.slice(0, -2);
    else commands.push(m[1]!);
  }
  return commands;
}

/** Every file of a folder with its bytes, to show that explaining it wrote nothing. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (at: string) => {
    for await (const e of Deno.readDir(at)) {
      const path = `${at}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else out.set(path, await Deno.readTextFile(path));
    }
  };
  await walk(dir);
  return out;
}
