/**
 * The embedded database's fixed costs cut (lib/migrate/_pglite_template.ts, embedded.ts): a
 * new PGlite database starts from a pre-initialised template (a refused template is
 * discarded and initdb runs), `resetDatabase` empties a database as new (and says so when it
 * cannot), and `shareEmbeddedDatabases` gives every open of a folder an empty database from
 * one started PGlite. Real PGlite throughout; each test has its own template cache.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Database,
  loadMigrations,
  migrateUp,
  openDatabase,
  resetDatabase,
  shareEmbeddedDatabases,
} from "../../lib/migrate/mod.ts";

const MIGRATIONS = new URL("../../migrations/", import.meta.url).pathname;

/** The test's temporary folders (templates are ~80 MiB), removed when it ends. */
const temps: string[] = [];
async function temp(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "embedded-test-" });
  temps.push(dir);
  return dir;
}
/** A test that removes its temporary folders (and their lock files) when it ends. */
function test(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    try {
      await fn();
    } finally {
      for (const dir of temps.splice(0)) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await Deno.remove(`${dir}.lock`).catch(() => {});
      }
    }
  });
}

/** What a database holds beyond what initdb made: empty for a new one. */
async function ownObjects(db: Database): Promise<string[]> {
  const rows = await db.query<{ what: string }>(
    `SELECT 'relation ' || oid::regclass::text AS what FROM pg_class WHERE oid >= 16384
     UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE oid >= 16384
     UNION ALL SELECT 'type ' || typname FROM pg_type WHERE oid >= 16384
     UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE oid >= 16384
     ORDER BY 1`,
  );
  return rows.map((r) => r.what);
}

/** The schemas with their owner, privileges and comment (public's must be as initdb's). */
async function schemas(db: Database): Promise<string> {
  const rows = await db.query<{ f: string }>(
    `SELECT string_agg(nspname || ' ' || nspowner::regrole::text || ' ' ||
       coalesce(nspacl::text, '-') || ' ' || coalesce(obj_description(oid, 'pg_namespace'), '-'),
       '; ' ORDER BY nspname) AS f FROM pg_namespace`,
  );
  return rows[0]!.f;
}

/** Creates one of everything a run might leave behind. */
async function litter(db: Database): Promise<void> {
  await migrateUp(db, await loadMigrations(MIGRATIONS), { lint: "warn" });
  await db.execute(
    "CREATE ROLE app_reader; CREATE SCHEMA reports AUTHORIZATION app_reader; " +
      "CREATE TYPE reports.mood AS ENUM ('ok', 'bad'); " +
      "CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 42'; " +
      "CREATE TABLE reports.daily (id int); ALTER DATABASE postgres SET work_mem = '8MB'",
  );
  assert.equal(await db.tryAdvisoryLock(7n), true);
}

test("a new folder starts from the template; a refused template is discarded and initdb runs", async () => {
  const cache = await temp();
  const first = await temp();
  const a = await openDatabase({ pglite: first }, { templateCache: cache });
  const setting = await a.query<{ v: string }>("SELECT current_setting('shared_buffers') AS v");
  assert.equal(setting[0]!.v, "16MB");
  assert.deepEqual(await ownObjects(a), []);
  await a.execute("CREATE TABLE kept (id int)");
  await a.close();
  const [template] = [...Deno.readDirSync(cache)].map((e) => e.name);
  assert.ok(template, "the template was built in the cache");
  assert.ok(Deno.statSync(join(cache, template, "data", "PG_VERSION")).isFile);
  assert.ok(Deno.statSync(join(cache, template, "data.tar")).size > 0);
  // The copy is the database's own: what the first database did is not in the template.
  const second = await openDatabase({ pglite: await temp() }, { templateCache: cache });
  assert.deepEqual(await ownObjects(second), []);
  await second.close();
  // An existing folder opens as it is (not from the template).
  const again = await openDatabase({ pglite: first }, { templateCache: cache });
  assert.deepEqual(await ownObjects(again), ["relation kept", "type _kept", "type kept"]);
  await again.close();
  // memory:// loads the template's tarball.
  const memory = await openDatabase({ pglite: "memory://" }, { templateCache: cache });
  assert.deepEqual(await ownObjects(memory), []);
  await memory.close();
  // PostgreSQL refuses a template of another version: it is discarded, initdb runs instead.
  await Deno.writeTextFile(join(cache, template, "data", "PG_VERSION"), "99\n");
  const fallback = await openDatabase({ pglite: await temp() }, {
    templateCache: cache,
  });
  assert.deepEqual(await fallback.query("SELECT 1 AS one"), [{ one: 1 }]);
  await fallback.close();
  assert.deepEqual([...Deno.readDirSync(cache)].map((e) => e.name), []);
});

test("resetDatabase leaves a database as new: objects, roles, settings, locks gone; public as initdb made it", async () => {
  const cache = await temp();
  const db = await openDatabase({ pglite: await temp() }, { templateCache: cache });
  const fresh = await schemas(db);
  await litter(db);
  assert.ok((await ownObjects(db)).length > 10);
  await resetDatabase(db);
  assert.deepEqual(await ownObjects(db), []);
  assert.equal(await schemas(db), fresh);
  const settings = await db.query("SELECT * FROM pg_db_role_setting");
  assert.deepEqual(settings, []);
  // The lock the session held is released; migrations apply again from empty.
  const other = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'",
  );
  assert.equal(other[0]!.n, 0);
  const result = await migrateUp(db, await loadMigrations(MIGRATIONS), { lint: "warn" });
  assert.equal(result.fromVersion, null);
  assert.equal(result.migrations.length > 0, true);
  await db.close();
});

test("resetDatabase says what it could not remove instead of handing out a used database", async () => {
  const db = await openDatabase({ pglite: await temp() }, {
    templateCache: await temp(),
  });
  await db.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC");
  await assert.rejects(
    () => resetDatabase(db),
    (error: Error) => {
      assert.match(error.message, /could not be emptied: default privileges of postgres/);
      assert.match(error.message, /open a new database/);
      return true;
    },
  );
  await db.close();
});

test("shared embedded databases: every open of a folder is empty, one PGlite, nothing on disk", async () => {
  const cache = await temp();
  const work = await temp();
  const sharing = await shareEmbeddedDatabases({ templateCache: cache });
  try {
    const run1 = await openDatabase({ pglite: join(work, "run-1", "pglite") });
    assert.match(run1.target, /run-1\/pglite \(shared\)/);
    await litter(run1);
    await run1.execute("CREATE TABLE public.from_run_1 (id int)");
    await run1.close();
    const run2 = await openDatabase({ pglite: join(work, "run-2", "pglite") });
    const gone = await run2.query<{ t: string | null }>(
      "SELECT to_regclass('public.from_run_1')::text AS t",
    );
    assert.deepEqual(gone, [{ t: null }], "a table created in run 1 is gone in run 2");
    assert.deepEqual(await ownObjects(run2), []);
    assert.equal(await run2.tryAdvisoryLock(7n), true);
    // An overlapping open gets an instance of its own, as empty.
    const overlap = await openDatabase({ pglite: join(work, "run-3", "pglite") });
    assert.deepEqual(await ownObjects(overlap), []);
    await overlap.close();
    await run2.close();
    assert.equal(sharing.started, 2);
    assert.equal(sharing.leases, 3);
    assert.deepEqual([...Deno.readDirSync(work)], [], "the folders are not written");
    await assert.rejects(() => shareEmbeddedDatabases(), /shared already/);
  } finally {
    await sharing.close();
  }
  // After close(), a folder opens as a folder again.
  const own = join(work, "after", "pglite");
  const db = await openDatabase({ pglite: own }, { templateCache: cache });
  await db.close();
  assert.ok(Deno.statSync(join(own, "PG_VERSION")).isFile);
});

test("shared embedded databases can start every lease migrated (afterReset)", async () => {
  const migrations = await loadMigrations(MIGRATIONS);
  const sharing = await shareEmbeddedDatabases({
    templateCache: await temp(),
    afterReset: async (db) => {
      await migrateUp(db, migrations, { lint: "warn" });
    },
  });
  try {
    for (const run of ["a", "b"]) {
      const db = await openDatabase({ pglite: `/nonexistent/${run}/pglite` });
      const rows = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM schema_migrations",
      );
      assert.equal(rows[0]!.n, migrations.length);
      const marker = await db.query<{ t: string | null }>(
        "SELECT to_regclass('public.marker')::text AS t",
      );
      assert.deepEqual(marker, [{ t: null }], "what run a wrote is not in run b");
      await db.execute("CREATE TABLE public.marker (id int)");
      await db.close();
    }
    assert.equal(sharing.started, 1);
  } finally {
    await sharing.close();
  }
});
