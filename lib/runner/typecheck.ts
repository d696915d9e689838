/**
 * Type-checks a pipeline file with `deno check` before anything runs, and turns the
 * compiler's output into `file:line:column: message` lines. A passing check is remembered
 * (see {@linkcode typeCheck}): the same sources, configuration, lock file and Deno pass
 * again without running the compiler (1.5 s cold in a fresh clone, whose paths Deno's own
 * cache does not know).
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TOOL_NAME } from "../product/mod.ts";

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

/** What {@linkcode typeCheck} takes. */
export interface TypeCheckOptions {
  /**
   * Where passing checks are remembered: default `$XDG_CACHE_HOME` (or `~/.cache`), under the
   * tool's name, `typecheck/`; `false` runs `deno check` every time.
   */
  readonly cacheDir?: string | false;
  /**
   * The project folder (default: the working directory): `file` is resolved, `deno check`
   * runs and the problems' paths are relative here; so are the cache's paths, so that a
   * copy of the same sources in another folder has the same key.
   */
  readonly cwd?: string;
  /** Called each time the compiler really runs (not for a remembered pass). */
  readonly onCompile?: () => void;
}

/** Where Deno says a module fails to parse or load: `at file:///...:3:1`. */
const AT_LOCATION = /\s+at (file:\/\/\S+?):(\d+):(\d+)/;

/** Bumped when a cache entry's meaning changes. */
const CACHE_FORMAT = 1;

/** Where passing checks are remembered by default (undefined: nowhere). */
function defaultCacheDir(): string | undefined {
  const base = Deno.env.get("XDG_CACHE_HOME") ||
    (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : undefined);
  return base ? join(base, TOOL_NAME, "typecheck") : undefined;
}

async function sha256(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The digest of a file, or undefined when it cannot be read. */
async function fileDigest(path: string): Promise<string | undefined> {
  try {
    return await sha256(await Deno.readFile(path));
  } catch {
    return undefined;
  }
}

/**
 * The `deno.json(c)` `deno check` uses when run in `root` (searched upwards from there, as
 * Deno does) and the `deno.lock` beside it.
 */
async function configOf(root: string): Promise<{ config: string; lock: string } | undefined> {
  for (let dir = root;; dir = dirname(dir)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const config = join(dir, name);
      if (await fileDigest(config) !== undefined) {
        const lock = join(dir, "deno.lock");
        return (await fileDigest(lock)) === undefined ? undefined : { config, lock };
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The cache key of a check: Deno's and TypeScript's versions, the pipeline's path and its
 * configuration's, and the digests of the configuration and the lock file (which pins every
 * npm and remote dependency). Paths are relative to the working directory, so a fresh clone
 * of the same sources elsewhere has the same key.
 */
async function cacheKey(file: string, root: string): Promise<string | undefined> {
  const found = await configOf(root);
  if (!found) return undefined; // without a lock file, dependencies may move: no cache
  return await sha256(JSON.stringify([
    CACHE_FORMAT,
    Deno.version.deno,
    Deno.version.typescript,
    relative(root, file),
    relative(root, found.config),
    await fileDigest(found.config),
    await fileDigest(found.lock),
  ]));
}

/** A file as the cache records it: relative to the root when inside it. */
function recorded(path: string, root: string): string {
  const rel = relative(root, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** Every local module of `file`'s graph (`deno info`), or undefined when it cannot say. */
async function graphOf(file: string, root: string): Promise<string[] | undefined> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return undefined;
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules?: { kind?: string; local?: string; error?: string }[];
  };
  const modules = info.modules ?? [];
  if (modules.some((m) => m.error !== undefined)) return undefined;
  return modules.filter((m) => m.kind === "esm" && m.local).map((m) => m.local!).sort();
}

/** The digests of `files` (relative to `root` where recorded so). */
async function digestsOf(files: readonly string[], root: string): Promise<[string, string][]> {
  return await Promise.all(files.map(async (f): Promise<[string, string]> => {
    const path = isAbsolute(f) ? f : resolve(root, f);
    return [f, (await fileDigest(path)) ?? "missing"];
  }));
}

/**
 * How many passing versions of the sources one key keeps (work trees of one project share a
 * key when their configuration and lock agree: each keeps its own pass).
 */
const VERSIONS_KEPT = 8;

/** The passes remembered under a key, newest first. */
async function versionsOf(entryDir: string): Promise<string[]> {
  const found: { path: string; mtime: number }[] = [];
  try {
    for await (const e of Deno.readDir(entryDir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const path = join(entryDir, e.name);
      const stat = await Deno.stat(path).catch(() => undefined);
      if (stat) found.push({ path, mtime: stat.mtime?.getTime() ?? 0 });
    }
  } catch {
    return [];
  }
  return found.sort((x, y) => y.mtime - x.mtime).map((f) => f.path);
}

/** True when one remembered version's files all still have their recorded digests. */
async function cachedPass(entryDir: string, root: string): Promise<boolean> {
  const digests = new Map<string, Promise<string>>();
  const digestOf = (f: string) => {
    let d = digests.get(f);
    if (!d) digests.set(f, d = digestsOf([f], root).then((pairs) => pairs[0]![1]));
    return d;
  };
  for (const version of (await versionsOf(entryDir)).slice(0, VERSIONS_KEPT)) {
    let files: [string, string][];
    try {
      files = JSON.parse(await Deno.readTextFile(version)).files;
    } catch {
      continue;
    }
    if (!Array.isArray(files) || files.length === 0) continue;
    const now = await Promise.all(files.map(([f]) => digestOf(f)));
    if (now.every((digest, i) => digest === files[i]![1])) return true;
  }
  return false;
}

/** Writes a version atomically (a reader sees all of it or none); keeps the newest few. */
async function remember(entryDir: string, files: [string, string][]): Promise<void> {
  try {
    await Deno.mkdir(entryDir, { recursive: true });
    const text = JSON.stringify({ files });
    const version = join(entryDir, `${(await sha256(text)).slice(0, 32)}.json`);
    const temp = `${version}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, version);
    for (const old of (await versionsOf(entryDir)).slice(VERSIONS_KEPT)) {
      await Deno.remove(old).catch(() => {});
    }
  } catch { /* a read-only cache: the next check runs deno check again */ }
}

/** Runs `deno check` and parses its problems (paths relative to `root`). */
async function denoCheck(file: string, root: string): Promise<TypeProblem[]> {
  // Run outside any project (no deno.json above the working directory), the pipeline's own
  // project's configuration, or this tool's, resolves its imports as the runner does.
  const config = await nearestConfig(root) ? undefined : await configFor(file);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...(config ? ["--config", config] : []), file],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return [];
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const problems = parseCheckOutput(text, root);
  if (problems.length > 0) return problems;
  // A module that does not parse: `error: SyntaxError: ... at file:///...:3:1`.
  const at = AT_LOCATION.exec(text);
  return [{
    file: relative(root, at ? fileURLToPath(at[1]!) : file),
    line: at ? Number(at[2]) : 1,
    column: at ? Number(at[3]) : 1,
    code: "check",
    message: (at ? text.slice(0, at.index) : text).trim().replace(/^error: /, "").split("\n")
      .slice(0, 5).join(" ").replace(/\s+/g, " "),
  }];
}

/**
 * Runs `deno check` on a file, unless the very same check passed before. A pass is
 * remembered under a key of Deno's and TypeScript's versions, the file's path, its
 * `deno.json` and `deno.lock` (their digests), with the digest of every local module of its
 * graph (`deno info`); it counts only while each of those modules still has that digest
 * (a key keeps the last few passing versions, so work trees of one project do not evict
 * each other's).
 * An edit to any of them, to the configuration or the lock, or another Deno, runs the
 * compiler again; so does a project without a `deno.lock`. Failures are never remembered.
 * (Files the configuration names outside the module graph, such as `compilerOptions.types`,
 * are covered only through the configuration's text.)
 *
 * @param file The pipeline file.
 * @param options Where passes are remembered (`cacheDir: false`: nowhere).
 * @returns The problems found (empty when it type-checks), or one problem carrying
 * the raw output when `deno check` failed for another reason.
 *
 * @example
 * ```ts ignore
 * import { typeCheck } from "./typecheck.ts";
 * const problems = await typeCheck("pipelines/deploy.ts"); // [] when it type-checks
 * ```
 */
export async function typeCheck(
  file: string,
  options: TypeCheckOptions = {},
): Promise<TypeProblem[]> {
  const root = resolve(options.cwd ?? Deno.cwd());
  const path = resolve(root, file);
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const key = cacheDir ? await cacheKey(path, root) : undefined;
  if (!cacheDir || !key) {
    options.onCompile?.();
    return await denoCheck(path, root);
  }
  const entry = join(cacheDir, key);
  if (await cachedPass(entry, root)) return [];
  const graph = await graphOf(path, root);
  const before = graph && await digestsOf(graph.map((f) => recorded(f, root)), root);
  options.onCompile?.();
  const problems = await denoCheck(path, root);
  if (problems.length > 0 || !before) return problems;
  // Remembered only if nothing changed while the compiler ran.
  const after = await digestsOf(before.map(([f]) => f), root);
  if (after.every(([, digest], i) => digest === before[i]![1])) await remember(entry, before);
  return problems;
}

/** The nearest `deno.json(c)` in `dir` or above it. */
async function nearestConfig(dir: string): Promise<string | undefined> {
  for (;; dir = dirname(dir)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      if (await fileDigest(join(dir, name)) !== undefined) return join(dir, name);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The configuration Deno would use for `file`: the nearest `deno.json(c)` above it, else this tool's. */
async function configFor(file: string): Promise<string | undefined> {
  const near = await nearestConfig(dirname(file));
  if (near) return near;
  const own = fileURLToPath(new URL("../../deno.json", import.meta.url));
  return await fileDigest(own) !== undefined ? own : undefined;
}

/** A module of `deno info --json`'s graph, as far as it is read here. */
export interface GraphModule {
  specifier?: string;
  error?: string;
  dependencies?: { specifier?: string; code?: GraphImport; type?: GraphImport }[];
}
/** An import of a {@linkcode GraphModule}: what it names, and where. */
export interface GraphImport {
  specifier?: string;
  span?: { start?: { line?: number; character?: number } };
}

/** A pipeline's module graph as `deno info --json` gives it, or why it could not be read. */
export type ModuleGraph =
  | { readonly ok: true; readonly modules: readonly GraphModule[] }
  | { readonly ok: false; readonly error: string };

/**
 * Reads a pipeline's module graph with `deno info --json` (tens of ms), with the
 * configuration of the pipeline's project (its nearest `deno.json`), or this tool's own for a
 * file outside any project.
 *
 * @param file The pipeline file (absolute).
 * @returns Its modules, or what `deno info` said when it failed.
 *
 * @example
 * ```ts ignore
 * import { readModuleGraph } from "./typecheck.ts";
 * const graph = await readModuleGraph("/project/pipelines/deploy.ts");
 * if (graph.ok) console.log(graph.modules.length);
 * ```
 */
export async function readModuleGraph(file: string): Promise<ModuleGraph> {
  const config = await configFor(file);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...(config ? ["--config", config] : []), file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) return { ok: false, error: new TextDecoder().decode(out.stderr) };
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules?: GraphModule[] };
  return { ok: true, modules: info.modules ?? [] };
}

/**
 * What keeps a pipeline module from loading, without running or type-checking it: a module
 * of its graph that does not parse, an import of a file that does not exist (at the line of
 * the import). `deno info` (tens of ms), with the configuration of the pipeline's project
 * (its nearest `deno.json`), or this tool's own for a file outside any project.
 *
 * @param file The pipeline file (absolute).
 * @param graph Its graph, when already read ({@linkcode readModuleGraph}).
 * @returns The problems (empty when the graph loads), paths relative to the working directory.
 *
 * @example
 * ```ts ignore
 * import { moduleGraphProblems } from "./typecheck.ts";
 * const problems = await moduleGraphProblems("/project/pipelines/deploy.ts"); // [] when it loads
 * ```
 */
export async function moduleGraphProblems(
  file: string,
  graph?: ModuleGraph,
): Promise<TypeProblem[]> {
  const out = graph ?? await readModuleGraph(file);
  const cwd = Deno.cwd();
  const shown = (url: string) => {
    const path = url.startsWith("file:") ? fileURLToPath(url) : url;
    const rel = relative(cwd, path);
    return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  };
  if (!out.ok) {
    const text = out.error.trim().replace(/^error: /, "");
    return [{ file: shown(file), line: 1, column: 1, code: "load", message: text.split("\n")[0]! }];
  }
  const modules = out.modules;
  const problems: TypeProblem[] = [];
  for (const m of modules) {
    if (m.error === undefined || m.specifier === undefined) continue;
    const at = AT_LOCATION.exec(m.error);
    if (at) {
      const message = m.error.slice(0, at.index).split("\n")[0]!;
      problems.push({
        file: shown(at[1]!),
        line: Number(at[2]),
        column: Number(at[3]),
        code: "load",
        message,
      });
      continue;
    }
    // A missing module: at the import that names it.
    const importer = modules.flatMap((x) =>
      (x.dependencies ?? []).flatMap((d) => [d.code, d.type]).filter((i) =>
        i?.specifier === m.specifier
      ).map((i) => ({ from: x.specifier!, start: i!.span?.start }))
    )[0];
    problems.push({
      file: shown(importer?.from ?? m.specifier),
      line: (importer?.start?.line ?? 0) + 1,
      column: (importer?.start?.character ?? 0) + 1,
      code: "load",
      message: m.error.split("\n")[0]!,
    });
  }
  return problems;
}
