/**
 * The `database` capability: the runner's main thread holds the database connection
 * (PostgreSQL through `postgres`, or the sandbox's embedded PGlite) and a stage that
 * `uses("database")` reaches it through these methods: probes for checks, and the
 * migration engine for the migration stage. Connections open on first use.
 * @module
 */
import {
  type Database,
  type DatabaseTarget,
  loadMigrations,
  migrateUp,
  openDatabase,
} from "../migrate/mod.ts";
import { currentSchemaVersion } from "../migrate/history.ts";

/** What a stage can ask of the database. */
export interface DatabaseCapability {
  /** Round-trip time and server version. */
  ping(): Promise<{ latencyMs: number; serverVersion: string }>;
  /** Runs a read-only query and returns its rows (for checks). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** The highest applied migration version, or null. */
  schemaVersion(): Promise<number | null>;
  /** Lint findings for the migrations in `dir` that are not applied yet. */
  lint(dir: string): Promise<unknown[]>;
  /** Applies pending migrations from `dir` (the engine: lock, transactions, history). */
  migrateUp(
    dir: string,
    options: { lint: "block" | "warn"; dryRun?: boolean; appliedBy?: string },
  ): Promise<{
    fromVersion: number | null;
    toVersion: number | null;
    migrations: { version: number; name: string; durationMs: number; transactional: boolean }[];
    lint: unknown[];
  }>;
}

/**
 * Makes the database capability for a target. Read-only queries run in a transaction
 * that is always rolled back.
 *
 * @param target What `openDatabase` takes: a URL or `{ pglite: dir }`.
 * @returns The capability and a `close()` for the runner.
 */
export function databaseCapability(
  target: DatabaseTarget,
): DatabaseCapability & { close(): Promise<void> } {
  let db: Promise<Database> | undefined;
  const open = () => db ??= openDatabase(target, { applicationName: "tracktion-deploy" });
  return {
    async ping() {
      const d = await open();
      const t0 = performance.now();
      const rows = await d.query<{ version: string }>("SELECT version() AS version");
      return { latencyMs: performance.now() - t0, serverVersion: String(rows[0]?.version ?? "") };
    },
    async query(sql) {
      const d = await open();
      const rollback = new Error("read-only");
      let rows: Record<string, unknown>[] = [];
      try {
        await d.transaction(async (tx) => {
          await tx.execute("SET TRANSACTION READ ONLY");
          rows = await tx.query(sql);
          throw rollback;
        });
      } catch (err) {
        if (err !== rollback) throw err;
      }
      return rows;
    },
    async schemaVersion() {
      return await currentSchemaVersion(await open());
    },
    async lint(dir) {
      const plan = await migrateUp(await open(), await loadMigrations(dir), {
        dryRun: true,
        lint: "warn",
      });
      return plan.lint.map((f) => ({ ...f }));
    },
    async migrateUp(dir, options) {
      const d = await open();
      const result = await migrateUp(d, await loadMigrations(dir), {
        lint: options.lint,
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.appliedBy ? { appliedBy: options.appliedBy } : {}),
      });
      return {
        fromVersion: result.fromVersion,
        toVersion: result.toVersion,
        migrations: result.migrations.map((m) => ({
          version: m.version,
          name: m.name,
          durationMs: m.durationMs,
          transactional: m.transactional,
        })),
        lint: result.lint.map((f) => ({ ...f })),
      };
    },
    async close() {
      if (db) await (await db).close();
    },
  };
}
