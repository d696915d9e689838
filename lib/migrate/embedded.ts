/**
 * Embedded databases shared within one process, for simulations that rehearse a pipeline
 * hundreds of times: {@linkcode resetDatabase} empties a database in milliseconds (what a
 * new one holds, and nothing else), and {@linkcode shareEmbeddedDatabases} makes every
 * `openDatabase({ pglite: <folder> })` of the process lease an already started PGlite (on a
 * private temporary folder, reset to empty on each lease) instead of starting one on that
 * folder (~0.3–1 s and ~150 MiB each, freed only when the garbage collector gets to it).
 * @module
 */
import type { Database } from "./database.ts";

/** What a fresh database holds: schemas, and no object of its own (OIDs from 16384 up). */
const FIRST_NORMAL_OID = 16384;

const DROP_EVERYTHING = `DO $reset$
DECLARE r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  FOR r IN SELECT evtname FROM pg_event_trigger LOOP
    EXECUTE format('DROP EVENT TRIGGER %I', r.evtname);
  END LOOP;
  FOR r IN SELECT pubname FROM pg_publication LOOP
    EXECUTE format('DROP PUBLICATION %I', r.pubname);
  END LOOP;
  FOR r IN SELECT extname FROM pg_extension WHERE oid >= ${FIRST_NORMAL_OID} LOOP
    EXECUTE format('DROP EXTENSION %I CASCADE', r.extname);
  END LOOP;
  FOR r IN SELECT fdwname FROM pg_foreign_data_wrapper LOOP
    EXECUTE format('DROP FOREIGN DATA WRAPPER %I CASCADE', r.fdwname);
  END LOOP;
  FOR r IN SELECT oid FROM pg_largeobject_metadata LOOP
    PERFORM lo_unlink(r.oid);
  END LOOP;
  FOR r IN SELECT rolname FROM pg_roles WHERE oid >= ${FIRST_NORMAL_OID} LOOP
    EXECUTE format('DROP OWNED BY %I CASCADE', r.rolname);
    EXECUTE format('DROP ROLE %I', r.rolname);
  END LOOP;
  EXECUTE format('ALTER DATABASE %I RESET ALL', current_database());
  EXECUTE format('ALTER ROLE %I RESET ALL', current_user);
END
$reset$`;

const PUBLIC_SCHEMA = "CREATE SCHEMA public AUTHORIZATION pg_database_owner; " +
  "COMMENT ON SCHEMA public IS 'standard public schema'; " +
  "GRANT USAGE ON SCHEMA public TO PUBLIC";

const LEFT_OVER = `SELECT what FROM (
  SELECT 'relation ' || oid::regclass::text AS what FROM pg_class WHERE oid >= ${FIRST_NORMAL_OID}
  UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE oid >= ${FIRST_NORMAL_OID}
  UNION ALL SELECT 'type ' || oid::regtype::text FROM pg_type WHERE oid >= ${FIRST_NORMAL_OID}
  UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
    WHERE oid >= ${FIRST_NORMAL_OID} AND nspname <> 'public'
  UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE oid >= ${FIRST_NORMAL_OID}
  UNION ALL SELECT 'database ' || datname FROM pg_database WHERE oid >= ${FIRST_NORMAL_OID}
  UNION ALL SELECT 'default privileges of ' || defaclrole::regrole::text FROM pg_default_acl
) left_over ORDER BY what LIMIT 5`;

/**
 * Empties a database: every schema but PostgreSQL's own is dropped with what it holds
 * (tables, types, functions, extensions, the migration history), and so are the event
 * triggers, publications, foreign-data wrappers, large objects, roles and databases created
 * since `initdb`; `public` is created again as `initdb` creates it, settings made with
 * `ALTER DATABASE`/`ALTER ROLE` are reset, and the session is discarded (`DISCARD ALL`:
 * advisory locks, prepared statements, temporary tables, `SET`s). Then it checks that no
 * object of its own is left, and takes a checkpoint (so the WAL of many resets is
 * recycled). For a PGlite or a PostgreSQL server you may empty: a server's other sessions
 * are not ended, and its databases other than the current one are dropped.
 *
 * @param db The database (a single session).
 * @throws {Error} When something is left that it cannot drop (named, up to five).
 *
 * @example
 * ```ts ignore
 * import { openDatabase, resetDatabase } from "./mod.ts";
 * const db = await openDatabase({ pglite: "memory://" });
 * await db.execute("CREATE TABLE t (id int)");
 * await resetDatabase(db);
 * console.log(await db.query("SELECT to_regclass('t') AS t")); // [{ t: null }]
 * ```
 */
export async function resetDatabase(db: Database): Promise<void> {
  await db.execute("ROLLBACK").catch(() => {});
  await db.execute("DISCARD ALL");
  await db.execute(DROP_EVERYTHING);
  await db.execute(PUBLIC_SCHEMA);
  const others = await db.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE oid >= ${FIRST_NORMAL_OID}`,
  );
  for (const { datname } of others) {
    await db.execute(`DROP DATABASE "${datname.replaceAll('"', '""')}" WITH (FORCE)`);
  }
  const left = await db.query<{ what: string }>(LEFT_OVER);
  if (left.length > 0) {
    throw new Error(
      `The database could not be emptied: ${left.map((r) => r.what).join(", ")} ` +
        "remain; drop them by hand, or open a new database",
    );
  }
  await db.execute("CHECKPOINT");
}

/** What {@linkcode shareEmbeddedDatabases} takes. */
export interface ShareEmbeddedOptions {
  /** Where pre-initialised data folders are kept (as `openDatabase`'s `templateCache`). */
  readonly templateCache?: string | false;
  /**
   * Runs after each reset, before the lease is handed out: e.g. apply migrations so that
   * every lease starts from the same migrated schema.
   */
  readonly afterReset?: (db: Database) => Promise<void>;
}

/** The process's shared embedded databases, from {@linkcode shareEmbeddedDatabases}. */
export interface SharedEmbeddedDatabases {
  /** PGlite instances started so far (one, unless leases overlapped). */
  readonly started: number;
  /** Leases handed out so far. */
  readonly leases: number;
  /** Stops sharing (later opens start PGlite on their folder again) and closes them. */
  close(): Promise<void>;
}

interface Pool {
  readonly options: ShareEmbeddedOptions;
  readonly idle: Database[];
  readonly all: Database[];
  readonly folders: string[];
  leases: number;
}

let shared: Pool | undefined;

/**
 * Makes every `openDatabase({ pglite: <folder> })` of this process (not `memory://`) lease
 * one of a few PGlite instances started once, each on a private temporary folder (removed by
 * `close()`; a folder holds ~130 MiB less memory than `memory://`): each lease is reset to empty first
 * ({@linkcode resetDatabase}, then `afterReset`), as a new folder would be, and its
 * `close()` returns it. The folder is neither read nor written: what a run leaves in it is
 * gone at the next lease. Overlapping leases get an instance each. For simulations and
 * tests that rehearse many runs in one process; call `close()` when done.
 *
 * @param options The template cache, and what to do after each reset.
 * @returns The pool.
 * @throws {Error} When sharing is on already.
 *
 * @example
 * ```ts ignore
 * import { openDatabase, shareEmbeddedDatabases } from "./mod.ts";
 * const sharing = await shareEmbeddedDatabases();
 * try {
 *   for (const run of ["/tmp/run-1/pglite", "/tmp/run-2/pglite"]) {
 *     const db = await openDatabase({ pglite: run }); // empty each time, started once
 *     await db.close();
 *   }
 * } finally {
 *   await sharing.close();
 * }
 * ```
 */
export function shareEmbeddedDatabases(
  options: ShareEmbeddedOptions = {},
): Promise<SharedEmbeddedDatabases> {
  if (shared) {
    return Promise.reject(
      new Error("Embedded databases are shared already: close() the first sharing"),
    );
  }
  const pool: Pool = { options, idle: [], all: [], folders: [], leases: 0 };
  shared = pool;
  return Promise.resolve({
    get started() {
      return pool.all.length;
    },
    get leases() {
      return pool.leases;
    },
    async close() {
      if (shared === pool) shared = undefined;
      const all = pool.all.splice(0);
      pool.idle.splice(0);
      await Promise.all(all.map((db) => db.close()));
      const folders = pool.folders.splice(0);
      await Promise.all(folders.flatMap((dir) => [
        Deno.remove(dir, { recursive: true }),
        Deno.remove(`${dir}.lock`).catch(() => {}),
      ]));
    },
  });
}

/**
 * A lease of a shared embedded database for `folder`, when sharing is on (else undefined).
 *
 * @param folder The folder the caller asked for (named in messages only).
 * @returns The lease, reset to empty.
 *
 * @example
 * ```ts ignore
 * import { leaseShared } from "./embedded.ts";
 * const db = await leaseShared("/tmp/run-1/pglite"); // undefined unless shared
 * ```
 */
export function leaseShared(folder: string): Promise<Database> | undefined {
  const pool = shared;
  return pool ? lease(pool, folder) : undefined;
}

async function lease(pool: Pool, folder: string): Promise<Database> {
  let db = pool.idle.pop();
  if (!db) {
    const { openPglite } = await import("./_pglite.ts");
    const dir = await Deno.makeTempDir({ prefix: "pglite-shared-" });
    pool.folders.push(dir);
    db = await openPglite(dir, { lockTimeoutMs: 0, templateCache: pool.options.templateCache });
    pool.all.push(db);
  }
  try {
    await resetDatabase(db);
    await pool.options.afterReset?.(db);
  } catch (error) {
    pool.all.splice(pool.all.indexOf(db), 1);
    await db.close().catch(() => {});
    throw error;
  }
  pool.leases++;
  const held = db;
  let returned = false;
  return {
    ...held,
    target: `pglite:${folder} (shared)`,
    close() {
      if (!returned && pool.all.includes(held)) pool.idle.push(held);
      returned = true;
      return Promise.resolve();
    },
  };
}
