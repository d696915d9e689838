/**
 * The embedded PostgreSQL adapter, over PGlite (PostgreSQL compiled to WebAssembly,
 * single session, persisted in a folder).
 * @module
 */

import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Database, Queryable } from "./database.ts";
import { DatabaseConnectionError } from "./errors.ts";

/**
 * Opens (creating if needed) an embedded database persisted in `dir`; `memory://`
 * keeps it in memory.
 *
 * @param dir The data folder, or `memory://`.
 * @returns The database.
 */
export async function openPglite(dir: string): Promise<Database> {
  const target = dir.startsWith("memory://") ? dir : `pglite:${dir}`;
  let db: PGlite;
  try {
    if (!dir.startsWith("memory://")) await Deno.mkdir(dir, { recursive: true });
    db = new PGlite(dir);
    await db.waitReady;
  } catch (error) {
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
      await db.close();
    },
  };
}
