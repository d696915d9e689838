/**
 * A migration engine for PostgreSQL: ordered SQL migrations with down scripts, a
 * `schema_migrations` history with checksums, an advisory lock between runners, one
 * transaction per migration, and a linter for risky DDL. Runs against a PostgreSQL
 * server (`postgres` driver) or an embedded PGlite through the same code.
 *
 * ```ts ignore
 * import { lintMigrations, loadMigrations, migrateUp, openDatabase } from "./mod.ts";
 * const migrations = await loadMigrations("migrations");
 * const db = await openDatabase(Deno.env.get("DATABASE_URL")!);
 * try {
 *   const result = await migrateUp(db, migrations, { lint: "block" });
 *   console.log(`schema version ${result.toVersion}`);
 * } finally {
 *   await db.close();
 * }
 * ```
 * @module
 */
export * from "./database.ts";
export {
  resetDatabase,
  type SharedEmbeddedDatabases,
  shareEmbeddedDatabases,
  type ShareEmbeddedOptions,
} from "./embedded.ts";
export * from "./errors.ts";
export { keepEmbeddedDatabasesOpen, type KeptDatabases } from "./kept.ts";
export * from "./history.ts";
export * from "./lint.ts";
export * from "./lock.ts";
export * from "./migrate.ts";
export * from "./migration_files.ts";
export * from "./sql_split.ts";
export * from "./status.ts";
export * from "./validate.ts";
