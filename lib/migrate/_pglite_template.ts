/**
 * Pre-initialised PGlite data folders. A new embedded database normally runs PostgreSQL's
 * `initdb` (2.5–8 s here, and a second WebAssembly instance that lifts the process's memory
 * by ~400 MiB); instead, `initdb` runs once per PGlite version and settings, through PGlite
 * itself, and its output is kept in a cache folder: a data folder to copy into a new folder,
 * and the same as a tarball for `memory://` databases (`loadDataDir`). Opening a copy is
 * PGlite's ordinary "found DB, resuming" path, and PostgreSQL itself refuses a data folder
 * of another catalog version (then the template is discarded and `initdb` runs as before).
 * @module
 */
import { join } from "node:path";
import { TOOL_NAME } from "../product/mod.ts";

/**
 * The settings every embedded database starts with, after PGlite's own defaults. PostgreSQL
 * zeroes its shared buffers at start: the default 128 MB of them was a third of a
 * rehearsal's memory. An embedded database holds kilobytes; 16 MB is 2,048 pages.
 */
export const PGLITE_SETTINGS: readonly string[] = ["-c", "shared_buffers=16MB"];

/** Bumped when what a template folder holds changes. */
const TEMPLATE_FORMAT = 1;

/** A ready template: a data folder and the same as a tarball. */
export interface PgliteTemplate {
  /** A cleanly shut down data folder (copy it, never open it). */
  readonly dataDir: string;
  /** The data folder as PGlite's `dumpDataDir("none")` wrote it. */
  readonly tarball: string;
}

/**
 * The folder templates are kept in by default: `$XDG_CACHE_HOME/<tool>/pglite`, else
 * `$HOME/.cache/<tool>/pglite`; undefined when neither variable is set (no template: every
 * new database runs `initdb`).
 */
export function defaultTemplateCache(): string | undefined {
  const base = Deno.env.get("XDG_CACHE_HOME") ||
    (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : undefined);
  return base ? join(base, TOOL_NAME, "pglite") : undefined;
}

/** PGlite's package version, read beside the module the import map resolves. */
async function pgliteVersion(): Promise<string> {
  const entry = new URL(import.meta.resolve("@electric-sql/pglite"));
  const pkg = JSON.parse(await Deno.readTextFile(new URL("../package.json", entry)));
  return String(pkg.version);
}

/** The template's folder name: PGlite's version, the settings and the format. */
async function templateName(): Promise<string> {
  const text = JSON.stringify([await pgliteVersion(), PGLITE_SETTINGS, TEMPLATE_FORMAT]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `v${await pgliteVersion()}-${hex.slice(0, 12)}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs `initdb` through PGlite into a temporary folder, then moves it into place. */
async function buildTemplate(cache: string, final: string): Promise<void> {
  const { PGlite } = await import("@electric-sql/pglite");
  await Deno.mkdir(cache, { recursive: true });
  const work = await Deno.makeTempDir({ dir: cache, prefix: ".building-" });
  try {
    const dataDir = join(work, "data");
    const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS];
    const db = new PGlite(dataDir, { startParams });
    await db.waitReady;
    const tar = await db.dumpDataDir("none");
    await db.close();
    await Deno.writeFile(join(work, "data.tar"), new Uint8Array(await tar.arrayBuffer()));
    // Another process may have built the same template meanwhile: its copy wins.
    await Deno.rename(work, final).catch(async (error) => {
      if (!(await exists(join(final, "data.tar")))) throw error;
    });
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * The template for this PGlite version in `cache`, built on first use (concurrent builders
 * each build their own and the first to move it into place wins).
 *
 * @param cache The cache folder.
 * @returns The template, or undefined when it cannot be built here (then the caller runs
 *   `initdb` as PGlite does).
 */
export async function pgliteTemplate(cache: string): Promise<PgliteTemplate | undefined> {
  try {
    const final = join(cache, await templateName());
    if (!(await exists(join(final, "data.tar")))) await buildTemplate(cache, final);
    return { dataDir: join(final, "data"), tarball: join(final, "data.tar") };
  } catch {
    return undefined; // a read-only or full cache folder: initdb, as without one
  }
}

/**
 * Removes a template PostgreSQL refused (moved aside first, so a process copying it keeps a
 * whole copy or finds none).
 *
 * @param template The template to discard.
 */
export async function discardTemplate(template: PgliteTemplate): Promise<void> {
  const folder = join(template.dataDir, "..");
  const aside = `${folder}.discarded-${crypto.randomUUID()}`;
  try {
    await Deno.rename(folder, aside);
    await Deno.remove(aside, { recursive: true });
  } catch { /* another process discarded it first */ }
}

/**
 * Copies a template's data folder into `dir` (which is empty).
 *
 * @param template The template.
 * @param dir The new database's folder.
 */
export async function copyTemplate(template: PgliteTemplate, dir: string): Promise<void> {
  await copyTree(template.dataDir, dir);
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const copies: Promise<void>[] = [];
  for await (const entry of Deno.readDir(from)) {
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory) copies.push(copyTree(src, dst));
    else if (entry.isFile) copies.push(Deno.copyFile(src, dst));
  }
  await Promise.all(copies);
}

/**
 * Whether `dir` holds nothing yet (missing, or an empty folder): a new database.
 *
 * @param dir The database's folder.
 */
export async function isNewFolder(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}
