/**
 * Embedded databases kept open for the rest of a process: while
 * {@linkcode keepEmbeddedDatabasesOpen} is on, every `openDatabase({ pglite: <folder> })`
 * of the process gets a session onto one PGlite per folder, started at the folder's first
 * open and closed by the keeper's `close()`. A session's own `close()` ends only what it
 * left in the session (an open transaction, advisory locks, `SET`s: `ROLLBACK`, then
 * `DISCARD ALL`) and hands the database to the next open; what it wrote stays, in the
 * folder, as with a database closed and opened again. For a process that runs several
 * pipelines on one sandbox — the rehearsal deploys staging, then production, on the same
 * `pglite/` folder — where a second start would cost ~0.3–0.5 s and hold a second PGlite
 * (~125 MiB) until the garbage collector frees the first.
 * @module
 */
import type { Database } from "./database.ts";

interface Kept {
  readonly db: Promise<Database>;
  /** Resolves when the session handed out last is returned. */
  free: Promise<void>;
}

let keeper: Map<string, Kept> | undefined;

/**
 * What {@linkcode keepEmbeddedDatabasesOpen} returns.
 *
 * @example
 * ```ts ignore
 * const keeping: KeptDatabases = keepEmbeddedDatabasesOpen();
 * await keeping.close();
 * ```
 */
export interface KeptDatabases {
  /** Folders whose database is open. */
  readonly folders: readonly string[];
  /** Stops keeping (later opens start PGlite again) and closes every kept database. */
  close(): Promise<void>;
}

/**
 * Keeps every embedded database this process opens on a folder open until `close()`.
 *
 * @returns The keeper.
 * @throws {Error} When databases are kept already.
 *
 * @example
 * ```ts ignore
 * import { keepEmbeddedDatabasesOpen, openDatabase } from "./mod.ts";
 * const keeping = keepEmbeddedDatabasesOpen();
 * try {
 *   const a = await openDatabase({ pglite: "/tmp/sandbox/pglite" }); // starts PGlite
 *   await a.execute("CREATE TABLE t (id int)");
 *   await a.close(); // the session ends; the database stays open
 *   const b = await openDatabase({ pglite: "/tmp/sandbox/pglite" }); // at once, t is there
 *   await b.close();
 * } finally {
 *   await keeping.close();
 * }
 * ```
 */
export function keepEmbeddedDatabasesOpen(): KeptDatabases {
  if (keeper) throw new Error("Embedded databases are kept open already: close() the first");
  const mine = new Map<string, Kept>();
  keeper = mine;
  return {
    get folders() {
      return [...mine.keys()];
    },
    async close() {
      if (keeper === mine) keeper = undefined;
      const all = [...mine.values()];
      mine.clear();
      await Promise.all(all.map((k) => k.db.then((db) => db.close(), () => {})));
    },
  };
}

/**
 * A session of the kept database of `folder`, when keeping is on (else undefined): the
 * database is started by `start` at the folder's first open; an open while another
 * session of it is out waits for that one's `close()` (PGlite has one session).
 *
 * @param folder The folder (as given to `openDatabase`).
 * @param start Opens it (`openPglite`): called once per folder.
 * @returns The session.
 *
 * @example
 * ```ts ignore
 * const db = await keptSession("/tmp/sandbox/pglite", () => openPglite(...)); // undefined unless kept
 * ```
 */
export function keptSession(
  folder: string,
  start: () => Promise<Database>,
): Promise<Database> | undefined {
  const mine = keeper;
  if (!mine) return undefined;
  let kept = mine.get(folder);
  if (!kept) {
    kept = { db: start(), free: Promise.resolve() };
    mine.set(folder, kept);
    // A start that fails is not kept: the next open tries again (and reports its own error).
    kept.db.catch(() => {
      if (mine.get(folder) === kept) mine.delete(folder);
    });
  }
  return session(kept);
}

async function session(kept: Kept): Promise<Database> {
  const before = kept.free;
  const returned = Promise.withResolvers<void>();
  kept.free = returned.promise;
  await before;
  let db: Database;
  try {
    db = await kept.db;
  } catch (error) {
    returned.resolve();
    throw error;
  }
  let closed = false;
  return {
    ...db,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.execute("ROLLBACK").catch(() => {});
        await db.execute("DISCARD ALL").catch(() => {});
      } finally {
        returned.resolve();
      }
    },
  };
}
