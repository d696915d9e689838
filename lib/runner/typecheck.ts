/**
 * Type-checks a pipeline file with `deno check` before anything runs, and turns the
 * compiler's output into `file:line:column: message` lines.
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** A type error in a pipeline (or a module it imports). */
export interface TypeProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: string;
  readonly message: string;
}

/**
 * Parses `deno check` output (without colour) into problems.
 *
 * @param output What `deno check` printed.
 * @param cwd Paths are made relative to this folder.
 * @returns The problems, in order.
 *
 * @example
 * ```ts
 * import { parseCheckOutput } from "./typecheck.ts";
 * import assert from "node:assert/strict";
 * const out = "TS2345 [ERROR]: Bad gate.\ngate(\"x\")\n    at file:///p/deploy.ts:5:6\n";
 * assert.deepEqual(parseCheckOutput(out, "/p")[0]?.line, 5);
 * ```
 */
export function parseCheckOutput(output: string, cwd: string): TypeProblem[] {
  const problems: TypeProblem[] = [];
  const blocks = output.split(/\n(?=TS\d+ \[ERROR\]:)/);
  for (const block of blocks) {
    const head = /^(TS\d+) \[ERROR\]: ([\s\S]*?)\n/.exec(block);
    const at = /at (file:\/\/\S+?):(\d+):(\d+)/.exec(block);
    if (!head || !at) continue;
    const message = head[2]!.split("\n")[0]!.trim();
    problems.push({
      file: relative(cwd, fileURLToPath(at[1]!)),
      line: Number(at[2]),
      column: Number(at[3]),
      code: head[1]!,
      message,
    });
  }
  return problems;
}

/**
 * Runs `deno check` on a file.
 *
 * @param file The pipeline file.
 * @returns The problems found (empty when it type-checks), or one problem carrying
 * the raw output when `deno check` failed for another reason.
 */
export async function typeCheck(file: string): Promise<TypeProblem[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return [];
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const problems = parseCheckOutput(text, Deno.cwd());
  if (problems.length > 0) return problems;
  return [{
    file,
    line: 1,
    column: 1,
    code: "check",
    message: text.trim().split("\n").slice(0, 5).join(" ").replace(/\s+/g, " "),
  }];
}
