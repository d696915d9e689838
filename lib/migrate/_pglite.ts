/**
 * The embedded PostgreSQL adapter, over PGlite (PostgreSQL compiled to WebAssembly,
 * single session, persisted in a folder).
 * @module
 */

import { PGlite, type Transaction } from "@electric-sql/pglite";
import { delay } from "../async/delay.ts";
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

/**
 * Opens (creating if needed) an embedded database persisted in `dir`; `memory://`
 * keeps it in memory. A folder is locked for this process until `close()`.
 *
 * @param dir The data folder, or `memory://`.
 * @param options How long to wait for another process holding the folder, and a signal
 *   that stops the wait.
 * @returns The database.
 */
export async function openPglite(
  dir: string,
  options: { lockTimeoutMs: number; signal?: AbortSignal | undefined },
): Promise<Database> {
  const inMemory = dir.startsWith("memory://");
  const target = inMemory ? dir : `pglite:${dir}`;
  let db: PGlite;
  let lock: Deno.FsFile | undefined;
  try {
    if (!inMemory) {
      await Deno.mkdir(dir, { recursive: true });
      lock = await lockFolder(dir, options.lockTimeoutMs, options.signal);
    }
    db = new PGlite(dir);
    await db.waitReady;
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
