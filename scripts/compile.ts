/**
 * `deno task compile [--out <file>]` (default `dist/tracktion-deploy`): makes ONE executable
 * file, `tracktion-deploy`, that runs the CLI (`tracktion-deploy plan staging v1.2.4`,
 * `deploy ... --sandbox`, `report <run-id>`, every command) on a Linux x86-64 machine with no
 * Deno installed and no network.
 *
 * **This is not `deno compile`'s format.** `deno compile` embeds the program in `denort`, a
 * runtime it downloads from dl.deno.land, which this project's machines cannot reach (only the
 * npm registry and Debian's packages are reachable) and which no npm package ships; pointed at
 * the full `deno` binary instead (`DENORT_BIN`), it makes an executable that starts the REPL
 * and ignores the embedded program. So the executable made here is a POSIX sh stub
 * (scripts/compile_stub.ts) followed by a tar.gz payload holding:
 *
 * - `deno`: the Deno runtime that runs this script (`Deno.execPath()`, the npm package
 *   `@deno/linux-x64-glibc`), the full one: the binary can type-check pipelines as
 *   `deno task` does (no `--skip-type-check` needed);
 * - `project/`: lib/, pipelines/, checks/, environments/, migrations/, schemas/, fixtures/,
 *   mod.ts, deno.json, deno.lock, as they are in the working tree;
 * - `deno_dir/npm/`: deno.json's npm packages but those only the tests and `deno task check`
 *   use, with their dependencies, copied from Deno's npm cache (scripts/compile_npm.ts); the
 *   binary's deno.json and deno.lock are pruned to them, and it runs `--cached-only --frozen`,
 *   so it never asks a registry.
 *
 * The stub checks the payload's SHA-256, unpacks it once into
 * `${XDG_CACHE_HOME:-~/.cache}/tracktion-deploy/<sha256>` and `exec`s the runtime (exit codes
 * and signals are the CLI's). The payload is reproducible (sorted, dated 0, owned by 0), so
 * the same tree gives the same digest and the same cache folder. `release.yml` builds the
 * release's binary with this script too. Details: docs/compile.md.
 *
 * Exit codes: 0 written; 1 it failed; 2 bad arguments, nothing written.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { copyNpmPackages, pruneConfig } from "./compile_npm.ts";
import { stubScript } from "./compile_stub.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** The project's files the binary carries (folders and files at the top of the repository). */
const PROJECT: readonly string[] = [
  "lib",
  "pipelines",
  "checks",
  "environments",
  "migrations",
  "schemas",
  "fixtures",
  "mod.ts",
  "deno.json",
  "deno.lock",
];

const USAGE = `usage: deno task compile [--out <file>]

Makes one executable, tracktion-deploy (default dist/tracktion-deploy): a sh stub and a tar.gz
of the Deno runtime, the project and its npm packages, unpacked once into
\${XDG_CACHE_HOME:-~/.cache}/tracktion-deploy/<sha256> on its first run. Not deno compile's
format (see docs/compile.md).
  --out <file>  where the executable goes (its folder is made)`;

/**
 * What {@linkcode compile} made.
 *
 * @example
 * ```ts
 * import type { Compiled } from "./compile.ts";
 * const c: Compiled = { file: "dist/tracktion-deploy", bytes: 1, sha256: "ab".repeat(32), packages: 1 };
 * console.assert(c.sha256.length === 64);
 * ```
 */
export interface Compiled {
  /** The executable's path. */
  readonly file: string;
  /** Its size. */
  readonly bytes: number;
  /** The payload's SHA-256 (the cache folder's name). */
  readonly sha256: string;
  /** How many npm packages it carries. */
  readonly packages: number;
}

async function run(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args[0]} failed: ${d.decode(out.stderr).trim()}`);
  return d.decode(out.stdout);
}

async function copyProject(to: string): Promise<void> {
  const copy = async (src: string, dst: string): Promise<void> => {
    const info = await Deno.stat(src);
    if (!info.isDirectory) return await Deno.copyFile(src, dst);
    await Deno.mkdir(dst, { recursive: true });
    for await (const e of Deno.readDir(src)) {
      // Dotfiles are a tool's or a test's leftovers (.tracktion/, .readme-example-0.ts).
      if (!e.name.startsWith(".")) await copy(join(src, e.name), join(dst, e.name));
    }
  };
  await Deno.mkdir(to, { recursive: true });
  for (const entry of PROJECT) await copy(join(ROOT, entry), join(to, entry));
}

async function sha256File(file: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(file));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Makes the executable.
 *
 * @param out Where it goes (its folder is made; an existing file is replaced atomically).
 * @returns What was made.
 *
 * @example
 * ```ts ignore
 * import { compile } from "./compile.ts";
 * const c = await compile("dist/tracktion-deploy"); // ~20 s: copies and packs ~60 MB
 * console.assert(c.bytes > 0);
 * ```
 */
export async function compile(out: string): Promise<Compiled> {
  const stage = await Deno.makeTempDir({ prefix: "tracktion-compile-" });
  try {
    // Every locked package in Deno's npm cache (a fresh machine's first step; at once if there).
    await run(Deno.execPath(), ["install", "--frozen"]);
    await copyProject(join(stage, "project"));
    // Deno installs every import of deno.json first: the binary's are pruned to what it runs.
    const pruned = pruneConfig(
      JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))),
      JSON.parse(await Deno.readTextFile(join(ROOT, "deno.lock"))),
    );
    const packages = pruned.packages;
    await Deno.writeTextFile(
      join(stage, "project", "deno.json"),
      JSON.stringify(pruned.config, null, 2) + "\n",
    );
    await Deno.writeTextFile(
      join(stage, "project", "deno.lock"),
      JSON.stringify(pruned.lock, null, 2) + "\n",
    );
    const cache = JSON.parse(await run(Deno.execPath(), ["info", "--json"])).npmCache as string;
    await copyNpmPackages(packages, { from: cache, to: join(stage, "deno_dir", "npm") });
    await Deno.copyFile(Deno.execPath(), join(stage, "deno"));
    await Deno.chmod(join(stage, "deno"), 0o755);
    const payload = join(stage, "payload.tar.gz");
    // Reproducible: the same tree gives the same bytes, so the same cache folder.
    await run("sh", [
      "-c",
      'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - ' +
      'deno deno_dir project | gzip -n -6 > "$2"',
      "sh",
      stage,
      payload,
    ]);
    const sha256 = await sha256File(payload);
    const stub = new TextEncoder().encode(
      stubScript({ sha256, denoVersion: Deno.version.deno }),
    );
    const target = resolve(out);
    await Deno.mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeFile(tmp, stub, { createNew: true, mode: 0o755 });
      const file = await Deno.open(tmp, { append: true });
      // Closes both files when the payload is all written.
      await (await Deno.open(payload)).readable.pipeTo(file.writable);
      await Deno.chmod(tmp, 0o755);
      await Deno.rename(tmp, target);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    return { file: out, bytes: (await Deno.stat(target)).size, sha256, packages: packages.length };
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

if (import.meta.main) {
  let out = "dist/tracktion-deploy";
  try {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    if (positionals.length > 0) throw new TypeError(`unexpected argument "${positionals[0]}"`);
    if (values.out !== undefined) {
      if (values.out.trim() === "") throw new TypeError(`--out takes a file, got ""`);
      out = values.out;
    }
    const info = await Deno.stat(resolve(out)).catch(() => undefined);
    if (info?.isDirectory) throw new TypeError(`--out ${out} is a folder, not a file`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    const c = await compile(out);
    console.log(
      `compiled ${c.file}: ${(c.bytes / 1e6).toFixed(1)} MB, ${c.packages} npm packages, ` +
        `payload sha256 ${c.sha256}`,
    );
  } catch (err) {
    console.error(`error: cannot compile: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
