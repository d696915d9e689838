/**
 * The embedded PostgreSQL adapter, over PGlite (PostgreSQL compiled to WebAssembly,
 * single session, persisted in a folder).
 * @module
 */

import { PGlite, type PGliteOptions, type Transaction } from "@electric-sql/pglite";
import { delay } from "../async/delay.ts";
import {
  copyTemplate,
  defaultTemplateCache,
  discardTemplate,
  isNewFolder,
  PGLITE_SETTINGS,
  type PgliteTemplate,
  pgliteTemplate,
} from "./_pglite_template.ts";
import type { Database, Queryable } from "./database.ts";
import { DatabaseConnectionError, LockTimeoutError, MigrationInterruptedError } from "./errors.ts";

/**
 * Takes an exclusive lock on `<dir>.lock`: PGlite is a single-process database, and two
 * processes opening the same folder would corrupt it. Waits up to `timeoutMs`, or until
 * `signal` aborts.
 */
async function lockFolder(
  dir: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Deno.FsFile> {
  const file = await Deno.open(`${dir.replace(/\/+$/, "")}.lock`, { create: true, write: true });
  const deadline = Date.now() + timeoutMs;
  while (!(await file.tryLock(true))) {
    if (signal?.aborted) {
      file.close();
      throw new MigrationInterruptedError({
        direction: "up",
        done: 0,
        waitingFor: `the embedded database in ${dir} (another process has it open)`,
      });
    }
    if (Date.now() >= deadline) {
      file.close();
      throw new LockTimeoutError(
        timeoutMs,
        `another process using the embedded database in ${dir}`,
      );
    }
    await delay(100, { signal }).catch(() => {});
  }
  return file;
}

/** How {@linkcode openPglite} opens a folder. */
export interface OpenPgliteOptions {
  /** How long to wait for another process holding the folder. */
  readonly lockTimeoutMs: number;
  /** Stops that wait. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Where pre-initialised data folders are kept (default: the user's cache folder), or
   * `false` to run `initdb` for every new database, as PGlite does by itself.
   */
  readonly templateCache?: string | false | undefined;
}

/** Starts PGlite on `dir` (a folder or `memory://`), from the template when it is new. */
async function startPglite(
  dir: string,
  template: PgliteTemplate | undefined,
): Promise<PGlite> {
  const options: PGliteOptions = {
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
  };
  if (template && dir.startsWith("memory://")) {
    const loadDataDir = new Blob([await Deno.readFile(template.tarball)]);
    return await PGlite.create(dir, { ...options, loadDataDir });
  }
  if (template) await copyTemplate(template, dir);
  return await PGlite.create(dir, options);
}

/**
 * Opens PGlite; a new database starts from the template. A template PostgreSQL refuses is
 * discarded, the folder emptied, and `initdb` runs instead.
 */
async function createPglite(dir: string, o: OpenPgliteOptions): Promise<PGlite> {
  const cache = o.templateCache;
  const fresh = dir.startsWith("memory://") || await isNewFolder(dir);
  const where = cache === undefined ? defaultTemplateCache() : cache || undefined;
  const template = fresh && where ? await pgliteTemplate(where) : undefined;
  if (!template) return await startPglite(dir, undefined);
  try {
    return await startPglite(dir, template);
  } catch {
    await discardTemplate(template);
    if (!dir.startsWith("memory://")) {
      for await (const entry of Deno.readDir(dir)) {
        await Deno.remove(`${dir}/${entry.name}`, { recursive: true });
      }
    }
    return await startPglite(dir, undefined);
  }
}

/**
 * Opens (creating if needed) an embedded database persisted in `dir`; `memory://`
 * keeps it in memory. A folder is locked for this process until `close()`. A new database
 * starts from a pre-initialised data folder (`initdb` once per PGlite version, in the
 * template cache) instead of running `initdb` itself.
 *
 * @param dir The data folder, or `memory://`.
 * @param options How long to wait for another process holding the folder, a signal
 *   that stops the wait, and the template cache.
 * @returns The database.
 *
 * @example
 * ```ts ignore
 * import { openPglite } from "./_pglite.ts";
 * const db = await openPglite("memory://", { lockTimeoutMs: 1_000 });
 * await db.close();
 * ```
 */
export async function openPglite(dir: string, options: OpenPgliteOptions): Promise<Database> {
  const inMemory = dir.startsWith("memory://");
  const target = inMemory ? dir : `pglite:${dir}`;
  let db: PGlite;
  let lock: Deno.FsFile | undefined;
  try {
    if (!inMemory) {
      await Deno.mkdir(dir, { recursive: true });
      lock = await lockFolder(dir, options.lockTimeoutMs, options.signal);
    }
    db = await createPglite(dir, options);
  } catch (error) {
    lock?.close();
    if (error instanceof LockTimeoutError || error instanceof MigrationInterruptedError) {
      throw error;
    }
    throw new DatabaseConnectionError(
      target,
      "other",
      `the embedded database did not open: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  return wrapPglite(db, target, lock);
}

/**
 * The engine's interface over an open PGlite.
 *
 * @param db The open PGlite.
 * @param target How messages name it.
 * @param lock The folder's lock, released by `close()`.
 * @returns The database.
 *
 * @example
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { wrapPglite } from "./_pglite.ts";
 * const db = wrapPglite(await PGlite.create("memory://"), "memory://", undefined);
 * ```
 */
export function wrapPglite(
  db: PGlite,
  target: string,
  lock: Deno.FsFile | undefined,
): Database {
  const wrap = (run: PGlite | Transaction): Queryable => ({
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await run.query<T>(text, [...params]);
      return result.rows;
    },
    async execute(text: string): Promise<void> {
      await run.exec(text);
    },
  });
  const base = wrap(db);
  return {
    engine: "pglite",
    target,
    query: base.query,
    execute: base.execute,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return await db.transaction((tx) => fn(wrap(tx)));
    },
    async tryAdvisoryLock(key: bigint): Promise<boolean> {
      const rows = await base.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock($1::int8) AS ok",
        [key.toString()],
      );
      return rows[0]?.ok === true;
    },
    async advisoryUnlock(key: bigint): Promise<void> {
      await base.query("SELECT pg_advisory_unlock($1::int8)", [key.toString()]);
    },
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        lock?.close();
      }
    },
  };
}
