/**
 * The engine's core cases, run against both engines (PostgreSQL 15 and PGlite) by
 * `engine_postgres_test.ts` and `engine_pglite_test.ts`. Each case gets an empty database.
 * @module
 */

import assert from "node:assert/strict";
import {
  ChecksumDriftError,
  currentSchemaVersion,
  type Database,
  formatStatus,
  LintBlockedError,
  loadMigrations,
  migrateDown,
  migrateUp,
  MigrationFailedError,
  MigrationInterruptedError,
  MigrationStateError,
  migrationStatus,
  readHistory,
} from "../../lib/migrate/mod.ts";
import { TRACKTION_MIGRATIONS, TWO_TABLES, withMigrationsDir } from "./_helpers.ts";

/** One case: a name for the test step and the work against an empty database. */
export interface EngineCase {
  /** The step's name. */
  name: string;
  /** The case. */
  fn: (db: Database) => Promise<void>;
}

async function tables(db: Database): Promise<string[]> {
  const rows = await db.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

async function columns(db: Database, table: string): Promise<Record<string, string>> {
  const rows = await db.query<{ c: string; t: string }>(
    "SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = $1",
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.c, r.t]));
}

/** The cases. */
export const ENGINE_CASES: EngineCase[] = [
  {
    name: "a signal stops migrateUp()/migrateDown() between migrations, what ran recorded",
    async fn(db) {
      await withMigrationsDir(TWO_TABLES, async (dir) => {
        const migrations = await loadMigrations(dir);
        const controller = new AbortController();
        const stopped = await migrateUp(db, migrations, {
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }).catch((e) => e);
        assert.ok(stopped instanceof MigrationInterruptedError, String(stopped));
        assert.equal(stopped.message, "interrupted: applied 1 of 2; nothing half-applied");
        assert.deepEqual((await readHistory(db)).map((m) => m.version), [1]);
        assert.deepEqual(await tables(db), ["a", "schema_migrations"]);
        const down = await migrateDown(db, migrations, { signal: controller.signal })
          .catch((e) => e);
        assert.ok(down instanceof MigrationInterruptedError, String(down));
        assert.equal(down.message, "interrupted: reverted 0 of 1; nothing half-applied");
        assert.deepEqual((await readHistory(db)).map((m) => m.version), [1]);
        // The lock was released: a later run goes on from there.
        assert.equal((await migrateUp(db, migrations)).toVersion, 2);
      });
    },
  },
  {
    name: "migrateUp() applies the Tracktion schema in order and records each migration",
    async fn(db) {
      const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
      const result = await migrateUp(db, migrations, { appliedBy: "ci@test" });
      assert.equal(result.fromVersion, null);
      assert.equal(result.toVersion, 8);
      assert.deepEqual(result.migrations.map((m) => m.version), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(await tables(db), [
        "analysis_results",
        "audio_files",
        "batch_jobs",
        "schema_migrations",
      ]);
      assert.equal((await columns(db, "audio_files")).format_metadata, "jsonb");
      assert.equal((await columns(db, "analysis_results")).batch_id, "bigint");
      const history = await readHistory(db);
      assert.deepEqual(history.map((h) => h.version), [1, 2, 3, 4, 5, 6, 7, 8]);
      for (const [i, row] of history.entries()) {
        assert.equal(row.name, migrations[i]!.name);
        assert.equal(row.checksum, migrations[i]!.up.checksum);
        assert.match(row.checksum, /^[0-9a-f]{64}$/);
        assert.equal(row.appliedBy, "ci@test");
        assert.ok(row.durationMs >= 0);
        assert.ok(Math.abs(Date.parse(row.appliedAt) - Date.now()) < 10 * 60_000);
      }
      const indexes = await db.query<{ i: string; valid: boolean }>(
        `SELECT c.relname AS i, x.indisvalid AS valid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
          WHERE c.relname LIKE 'analysis_results_%idx' ORDER BY 1`,
      );
      assert.deepEqual(indexes, [
        { i: "analysis_results_audio_file_id_created_at_idx", valid: true },
        { i: "analysis_results_batch_id_idx", valid: true },
      ]);
      const again = await migrateUp(db, migrations);
      assert.equal(again.migrations.length, 0);
      assert.equal(await currentSchemaVersion(db), 8);
    },
  },
  {
    name: "migrationStatus() reports applied and pending migrations",
    async fn(db) {
      const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
      assert.equal(await currentSchemaVersion(db), null);
      await migrateUp(db, migrations, { to: 3 });
      const status = await migrationStatus(db, migrations);
      assert.equal(status.currentVersion, 3);
      assert.equal(status.latestVersion, 8);
      assert.equal(status.pending, 5);
      assert.deepEqual(
        status.migrations.map((m) => m.state),
        ["applied", "applied", "applied", "pending", "pending", "pending", "pending", "pending"],
      );
      const text = formatStatus(status);
      assert.match(text, /0003_add_audio_format_support +applied/);
      assert.match(text, /0004_index_analysis_results_audio_file +pending .*no-transaction/);
      assert.match(text, /schema version 3, latest 8, 5 pending/);
      assert.equal(await currentSchemaVersion(db), 3);
    },
  },
  {
    name: "migrateDown() runs down scripts in reverse order to a target version",
    async fn(db) {
      const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
      await migrateUp(db, migrations);
      const down = await migrateDown(db, migrations, { to: 2 });
      assert.deepEqual(down.migrations.map((m) => m.version), [8, 7, 6, 5, 4, 3]);
      assert.equal(down.toVersion, 2);
      assert.deepEqual(await tables(db), ["analysis_results", "audio_files", "schema_migrations"]);
      assert.equal((await columns(db, "audio_files")).format_metadata, undefined);
      assert.equal((await columns(db, "analysis_results")).batch_id, undefined);
      const oneStep = await migrateDown(db, migrations);
      assert.deepEqual(oneStep.migrations.map((m) => m.version), [2]);
      await migrateDown(db, migrations, { to: 0 });
      assert.equal(await currentSchemaVersion(db), null);
      assert.deepEqual(await tables(db), ["schema_migrations"]);
      await migrateUp(db, migrations);
      assert.equal(await currentSchemaVersion(db), 8);
    },
  },
  {
    name: "migrateUp() rolls a failing migration back, records nothing, and names file and line",
    async fn(db) {
      await withMigrationsDir({
        ...TWO_TABLES,
        "0003_broken.up.sql":
          "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n\nSELECT id,\n  nope\nFROM c;\n",
      }, async (dir) => {
        const migrations = await loadMigrations(dir);
        const error = await migrateUp(db, migrations).then(
          () => assert.fail("expected a failure"),
          (e) => e,
        );
        assert.ok(error instanceof MigrationFailedError, String(error));
        assert.equal(error.version, 3);
        assert.equal(error.file, `${dir}/0003_broken.up.sql`);
        assert.equal(error.line, 5);
        assert.equal(error.sqlState, "42703");
        assert.match(error.message, /0003_broken\.up\.sql:5: column "nope" does not exist/);
        assert.match(error.message, /rolled back, nothing recorded/);
        assert.deepEqual(await tables(db), ["a", "b", "schema_migrations"]);
        assert.equal(await currentSchemaVersion(db), 2);
      });
    },
  },
  {
    name: "migrateUp() reports the statement's line when the server gives no position",
    async fn(db) {
      await withMigrationsDir({
        "0001_dup.up.sql":
          "CREATE TABLE d (id int PRIMARY KEY);\n-- two rows\nINSERT INTO d\n  VALUES (1), (1);\n",
      }, async (dir) => {
        const error = await migrateUp(db, await loadMigrations(dir)).catch((e) => e);
        assert.ok(error instanceof MigrationFailedError);
        assert.equal(error.line, 3);
        assert.equal(error.sqlState, "23505");
        assert.deepEqual(await tables(db), ["schema_migrations"]);
        assert.equal(await currentSchemaVersion(db), null);
      });
    },
  },
  {
    name: "migrateUp() refuses checksum drift of an applied migration, naming the file",
    async fn(db) {
      await withMigrationsDir(TWO_TABLES, async (dir) => {
        await migrateUp(db, await loadMigrations(dir), { to: 1 });
        await Deno.writeTextFile(
          `${dir}/0001_create_a.up.sql`,
          "CREATE TABLE a (id bigint PRIMARY KEY);\n",
        );
        const migrations = await loadMigrations(dir);
        const error = await migrateUp(db, migrations).catch((e) => e);
        assert.ok(error instanceof ChecksumDriftError);
        assert.equal(error.file, `${dir}/0001_create_a.up.sql`);
        assert.match(error.message, /0001_create_a\.up\.sql changed after it was applied/);
        assert.deepEqual(await tables(db), ["a", "schema_migrations"]);
        assert.ok(
          (await migrateDown(db, migrations).catch((e) => e)) instanceof ChecksumDriftError,
        );
        const status = await migrationStatus(db, migrations);
        assert.equal(status.migrations[0]?.state, "drifted");
      });
    },
  },
  {
    name: "migrateUp() with dryRun returns the SQL and changes nothing",
    async fn(db) {
      const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
      const plan = await migrateUp(db, migrations, { dryRun: true });
      assert.equal(plan.dryRun, true);
      assert.equal(plan.toVersion, 8);
      assert.equal(plan.migrations.length, 8);
      assert.match(plan.migrations[0]!.sql, /^BEGIN;\n\nCREATE TABLE audio_files/);
      assert.match(plan.migrations[3]!.sql, /^CREATE INDEX CONCURRENTLY/);
      assert.deepEqual(await tables(db), []);
      await migrateUp(db, migrations, { to: 2 });
      const down = await migrateDown(db, migrations, { to: 0, dryRun: true });
      assert.deepEqual(down.migrations.map((m) => m.version), [2, 1]);
      assert.match(down.migrations[0]!.sql, /DROP TABLE analysis_results;/);
      assert.equal(await currentSchemaVersion(db), 2);
      assert.deepEqual(await tables(db), ["analysis_results", "audio_files", "schema_migrations"]);
    },
  },
  {
    name: "migrateUp() refuses out-of-order and missing migrations, and unknown targets",
    async fn(db) {
      await withMigrationsDir({
        "0010_a.up.sql": "CREATE TABLE a (id int);\n",
        "0020_b.up.sql": "CREATE TABLE b (id int);\n",
      }, async (dir) => {
        await migrateUp(db, await loadMigrations(dir));
        await Deno.writeTextFile(`${dir}/0015_late.up.sql`, "CREATE TABLE late (id int);\n");
        const late = await migrateUp(db, await loadMigrations(dir)).catch((e) => e);
        assert.ok(late instanceof MigrationStateError, String(late));
        assert.match(late.message, /0015_late\.up\.sql is older than the applied 20/);
        await Deno.remove(`${dir}/0015_late.up.sql`);
        await Deno.rename(`${dir}/0010_a.up.sql`, `${dir}/0030_a.up.sql`);
        const missing = await migrateUp(db, await loadMigrations(dir)).catch((e) => e);
        assert.ok(missing instanceof MigrationStateError, String(missing));
        assert.match(missing.message, /0010_a is applied but has no file/);
        const unknown = await migrateUp(db, await loadMigrations(dir), { to: 42 }).catch((e) => e);
        assert.ok(unknown instanceof MigrationStateError);
        assert.match(unknown.message, /there is no migration 42/);
        assert.deepEqual(await tables(db), ["a", "b", "schema_migrations"]);
      });
    },
  },
  {
    name: "migrateUp() with lint block refuses risky DDL unless a reviewed override is present",
    async fn(db) {
      await withMigrationsDir({
        ...TWO_TABLES,
        "0003_drop.up.sql": "ALTER TABLE b DROP COLUMN id;\n",
      }, async (dir) => {
        const migrations = await loadMigrations(dir);
        await migrateUp(db, migrations, { to: 2 });
        const blocked = await migrateUp(db, migrations, { lint: "block" }).catch((e) => e);
        assert.ok(blocked instanceof LintBlockedError);
        assert.deepEqual(blocked.findings.map((f) => [f.file, f.line]), [[
          `${dir}/0003_drop.up.sql`,
          1,
        ]]);
        assert.equal(await currentSchemaVersion(db), 2);
        const warned = await migrateUp(db, migrations, { lint: "warn", dryRun: true });
        assert.equal(warned.lint[0]?.rule, "drop-column");
        await Deno.writeTextFile(
          `${dir}/0003_drop.up.sql`,
          '-- tracktion:lint-ignore drop-column reason="b.id unused since v1.2" reviewed-by="dba@tracktion"\nALTER TABLE b DROP COLUMN id;\n',
        );
        const result = await migrateUp(db, await loadMigrations(dir), { lint: "block" });
        assert.equal(result.toVersion, 3);
        assert.equal(result.lint[0]?.overriddenBy?.reviewedBy, "dba@tracktion");
      });
    },
  },
  {
    name: "migrateUp() without a transaction reports the statements already applied",
    async fn(db) {
      await withMigrationsDir({
        "0001_t.up.sql": "CREATE TABLE t (id int);\n",
        "0002_idx.up.sql":
          "-- tracktion:no-transaction\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\nSELECT nope FROM t;\n",
      }, async (dir) => {
        const error = await migrateUp(db, await loadMigrations(dir)).catch((e) => e);
        assert.ok(error instanceof MigrationFailedError);
        assert.equal(error.transactional, false);
        assert.equal(error.appliedStatements, 1);
        assert.equal(error.line, 3);
        assert.match(
          error.message,
          /not in a transaction: 1 statement\(s\) before it stay applied/,
        );
        assert.equal(await currentSchemaVersion(db), 1);
      });
    },
  },
  {
    name: "migrateUp() says a failed concurrent index build may leave an INVALID index",
    async fn(db) {
      await withMigrationsDir({
        "0001_t.up.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (1);\n",
        "0002_unique.up.sql":
          "-- tracktion:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_id_key ON t (id);\n",
      }, async (dir) => {
        const error = await migrateUp(db, await loadMigrations(dir)).catch((e) => e);
        assert.ok(error instanceof MigrationFailedError, String(error));
        assert.equal(error.sqlState, "23505");
        assert.equal(error.line, 2);
        assert.match(
          error.message,
          /can leave an INVALID index behind: DROP INDEX CONCURRENTLY it/,
        );
        assert.equal(await currentSchemaVersion(db), 1);
      });
    },
  },
];
