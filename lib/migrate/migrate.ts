/**
 * Applying and reverting migrations: one transaction per migration (unless it opts
 * out), under the migration lock, refusing checksum drift.
 * @module
 */

import type { Database, Queryable } from "./database.ts";
import {
  LintBlockedError,
  MigrationFailedError,
  MigrationInterruptedError,
  MigrationStateError,
} from "./errors.ts";
import {
  type AppliedMigration,
  currentSchemaVersion,
  readHistory,
  SCHEMA_MIGRATIONS_DDL,
} from "./history.ts";
import { isBlocking, type LintFinding, lintMigrations } from "./lint.ts";
import { withMigrationLock } from "./lock.ts";
import { type Migration, migrationId, type MigrationScript } from "./migration_files.ts";
import { errorLine } from "./sql_split.ts";
import { validateHistory } from "./validate.ts";

/** Options shared by {@linkcode migrateUp} and {@linkcode migrateDown}. */
export interface MigrateOptions {
  /**
   * `up`: the highest version to apply (default: all). `down`: the version to return
   * to, `0` for none (default: one step back).
   */
  to?: number;
  /** Compute and return the SQL that would run; change nothing. */
  dryRun?: boolean;
  /** Recorded in `applied_by`. Default: the database user. */
  appliedBy?: string;
  /** How long to wait for another runner's lock, in milliseconds. Default 60 000. */
  lockTimeoutMs?: number;
  /** `up` only: `block` refuses unoverridden lint errors (production), `warn` reports them. Default `warn`. */
  lint?: "block" | "warn";
  /** Called when another runner holds the lock and this one starts waiting. */
  onLockWait?: (holder: string | undefined) => void;
  /** Called after each migration is applied or reverted. */
  onProgress?: (run: MigrationRun) => void;
  /**
   * Stops the migrations when it aborts: checked before each migration and between the
   * statements of one; the statement running in a transaction is cancelled (PostgreSQL) and
   * its migration rolled back; a migration without a transaction is never cancelled midway.
   * Then {@linkcode MigrationInterruptedError}, the lock released.
   */
  signal?: AbortSignal;
}

/** One migration applied, reverted, or (dry run) planned. */
export interface MigrationRun {
  /** Version. */
  version: number;
  /** Name. */
  name: string;
  /** Which script. */
  direction: "up" | "down";
  /** The script's file. */
  file: string;
  /** Whether it ran in a transaction. */
  transactional: boolean;
  /** Its statements' SQL, as run (or as it would run, on a dry run). */
  sql: string;
  /** Milliseconds its statements took (0 on a dry run). */
  durationMs: number;
}

/** What {@linkcode migrateUp} or {@linkcode migrateDown} did. */
export interface MigrateResult {
  /** Which way. */
  direction: "up" | "down";
  /** Whether nothing was changed. */
  dryRun: boolean;
  /** Schema version before (null: none). */
  fromVersion: number | null;
  /** Schema version after (on a dry run: what it would be). */
  toVersion: number | null;
  /** The migrations, in the order they ran. */
  migrations: MigrationRun[];
  /** Lint findings on the pending migrations (`up` only). */
  lint: LintFinding[];
}

const CONCURRENT_INDEX = /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i;

const INSERT_HISTORY =
  `INSERT INTO schema_migrations (version, name, checksum, applied_by, duration_ms)
VALUES ($1::int8, $2::text, $3::text, coalesce($4::text, current_user::text), $5::int4)`;

/**
 * Applies pending migrations in version order, each in its own transaction (or
 * statement by statement for `-- <directive>:no-transaction`), recording each in
 * `schema_migrations`. Before anything runs it checks the history against the files
 * (drift, missing files, out-of-order versions) and lints the pending migrations.
 *
 * @param db The database.
 * @param migrations All migrations, from {@linkcode loadMigrations}.
 * @param options Target, dry run, lint policy, lock timeout.
 * @returns What ran (or would run).
 * @throws {ChecksumDriftError} An applied migration's file changed.
 * @throws {MigrationStateError} History and files disagree, or `to` is unknown.
 * @throws {LintBlockedError} With `lint: "block"`, risky DDL without an override.
 * @throws {LockTimeoutError} Another runner kept the lock.
 * @throws {MigrationFailedError} A statement failed (that migration rolled back).
 * @throws {MigrationInterruptedError} `signal` aborted (what ran before stays recorded).
 *
 * @example
 * ```ts ignore
 * import { loadMigrations, migrateUp, openDatabase } from "./mod.ts";
 * const db = await openDatabase({ pglite: "memory://" });
 * const result = await migrateUp(db, await loadMigrations("migrations"));
 * console.log(result.toVersion);
 * await db.close();
 * ```
 */
export async function migrateUp(
  db: Database,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  if (options.to !== undefined && !migrations.some((m) => m.version === options.to)) {
    throw new MigrationStateError(`Cannot migrate up: there is no migration ${options.to}`);
  }
  const plan = async (): Promise<[AppliedMigration[], Migration[], LintFinding[]]> => {
    const applied = await readHistory(db);
    validateHistory(applied, migrations, { direction: "up" });
    const done = new Set(applied.map((a) => a.version));
    const pending = migrations.filter((m) =>
      !done.has(m.version) && (options.to === undefined || m.version <= options.to)
    );
    const lint = lintMigrations(pending);
    const blocking = lint.filter(isBlocking);
    if (options.lint === "block" && blocking.length > 0) throw new LintBlockedError(blocking);
    return [applied, pending, lint];
  };
  if (options.dryRun) {
    const [applied, pending, lint] = await plan();
    const fromVersion = applied.at(-1)?.version ?? null;
    return {
      direction: "up",
      dryRun: true,
      fromVersion,
      toVersion: pending.at(-1)?.version ?? fromVersion,
      migrations: pending.map((m) => planned(m, "up", m.up)),
      lint,
    };
  }
  return await withMigrationLock(db, async () => {
    const [applied, pending, lint] = await plan();
    const fromVersion = applied.at(-1)?.version ?? null;
    if (pending.length > 0 && !options.signal?.aborted) await db.execute(SCHEMA_MIGRATIONS_DDL);
    const runs = await runAll(db, pending, "up", options, async (tx, migration, durationMs) => {
      await tx.query(INSERT_HISTORY, [
        String(migration.version),
        migration.name,
        migration.up.checksum,
        options.appliedBy ?? null,
        durationMs,
      ]);
    });
    return {
      direction: "up",
      dryRun: false,
      fromVersion,
      toVersion: await currentSchemaVersion(db),
      migrations: runs,
      lint,
    };
  }, lockOptions(options));
}

/**
 * Reverts applied migrations newer than `to`, newest first, each down script in its
 * own transaction (unless it opts out), deleting its `schema_migrations` row.
 *
 * @param db The database.
 * @param migrations All migrations, from {@linkcode loadMigrations}.
 * @param options `to` (default: one step back; `0` reverts everything), dry run, lock timeout.
 * @returns What ran (or would run).
 * @throws {MigrationStateError} `to` is unknown, or a migration to revert has no down script.
 * @throws {ChecksumDriftError} An applied migration's file changed.
 * @throws {LockTimeoutError} Another runner kept the lock.
 * @throws {MigrationFailedError} A statement failed (that migration rolled back).
 * @throws {MigrationInterruptedError} `signal` aborted (what ran before stays recorded).
 *
 * @example
 * ```ts ignore
 * import { loadMigrations, migrateDown, openDatabase } from "./mod.ts";
 * const db = await openDatabase({ pglite: "/tmp/pglite" });
 * await migrateDown(db, await loadMigrations("migrations"), { to: 2 });
 * await db.close();
 * ```
 */
export async function migrateDown(
  db: Database,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const to = options.to;
  if (to !== undefined && to !== 0 && !migrations.some((m) => m.version === to)) {
    throw new MigrationStateError(`Cannot migrate down: there is no migration ${to}`);
  }
  const plan = async (): Promise<[AppliedMigration[], Migration[]]> => {
    const applied = await readHistory(db);
    validateHistory(applied, migrations, { direction: "down" });
    const target = to ?? applied.at(-2)?.version ?? 0;
    const byVersion = new Map(migrations.map((m) => [m.version, m]));
    const revert = applied.filter((a) => a.version > target).reverse()
      .map((a) => byVersion.get(a.version)!);
    const missing = revert.filter((m) => m.down === undefined);
    if (missing.length > 0) {
      throw new MigrationStateError(
        `Cannot migrate down: ${
          missing.map((m) => migrationId(m)).join(", ")
        } has no down script (${
          missing.map((m) => m.up.file.replace(/\.up\.sql$/, ".down.sql")).join(", ")
        })`,
      );
    }
    return [applied, revert];
  };
  if (options.dryRun) {
    const [applied, revert] = await plan();
    return {
      direction: "down",
      dryRun: true,
      fromVersion: applied.at(-1)?.version ?? null,
      toVersion: applied.filter((a) => !revert.some((m) => m.version === a.version)).at(-1)
        ?.version ?? null,
      migrations: revert.map((m) => planned(m, "down", m.down!)),
      lint: [],
    };
  }
  return await withMigrationLock(db, async () => {
    const [applied, revert] = await plan();
    const runs = await runAll(db, revert, "down", options, async (tx, migration) => {
      await tx.query("DELETE FROM schema_migrations WHERE version = $1::int8", [
        String(migration.version),
      ]);
    });
    return {
      direction: "down",
      dryRun: false,
      fromVersion: applied.at(-1)?.version ?? null,
      toVersion: await currentSchemaVersion(db),
      migrations: runs,
      lint: [],
    };
  }, lockOptions(options));
}

type RecordRun = (tx: Queryable, migration: Migration, durationMs: number) => Promise<void>;

/** Runs `list` in order, reporting each; stops between them when the signal aborts. */
async function runAll(
  db: Database,
  list: readonly Migration[],
  direction: "up" | "down",
  options: MigrateOptions,
  record: RecordRun,
): Promise<MigrationRun[]> {
  const runs: MigrationRun[] = [];
  for (const migration of list) {
    const stop = (partial?: { id: string; statements: number; of: number }) =>
      new MigrationInterruptedError({ direction, done: runs.length, total: list.length, partial });
    if (options.signal?.aborted) throw stop();
    try {
      const run = await runScript(
        db,
        migration,
        direction,
        (tx, ms) => record(tx, migration, ms),
        options.signal,
      );
      runs.push(run);
      options.onProgress?.(run);
    } catch (error) {
      if (!(error instanceof StoppedAt)) throw error;
      const script = direction === "up" ? migration.up : migration.down!;
      throw stop(
        script.transactional || error.statements === 0 ? undefined : {
          id: migrationId(migration),
          statements: error.statements,
          of: script.statements.length,
        },
      );
    }
  }
  return runs;
}

/** Thrown by {@linkcode runScript} when its signal stopped it after `statements` statements. */
class StoppedAt {
  constructor(readonly statements: number) {}
}

function lockOptions(options: MigrateOptions) {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
    ...(options.onLockWait === undefined ? {} : { onWait: options.onLockWait }),
  };
}

function planned(
  migration: Migration,
  direction: "up" | "down",
  script: MigrationScript,
): MigrationRun {
  const body = script.statements.map((s) => `${s.text};`).join("\n\n");
  const record = direction === "up"
    ? `INSERT INTO schema_migrations (version, name, checksum, applied_by, duration_ms) VALUES (${migration.version}, '${migration.name}', '${script.checksum}', <applied_by>, <duration_ms>);`
    : `DELETE FROM schema_migrations WHERE version = ${migration.version};`;
  const sql = script.transactional
    ? `BEGIN;\n\n${body}\n\n${record}\n\nCOMMIT;`
    : `${body}\n\n${record}`;
  return {
    version: migration.version,
    name: migration.name,
    direction,
    file: script.file,
    transactional: script.transactional,
    sql,
    durationMs: 0,
  };
}

/**
 * Runs one script's statements, then `record`, in a transaction unless it opted out. When
 * `signal` aborts it stops before the next statement (a statement in a transaction is
 * cancelled, and the transaction rolled back) with {@linkcode StoppedAt}.
 */
async function runScript(
  db: Database,
  migration: Migration,
  direction: "up" | "down",
  record: (tx: Queryable, durationMs: number) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<MigrationRun> {
  const script = direction === "up" ? migration.up : migration.down!;
  const run = async (tx: Queryable): Promise<number> => {
    const started = performance.now();
    let done = 0;
    for (const statement of script.statements) {
      if (signal?.aborted) throw new StoppedAt(done);
      try {
        await tx.execute(statement.text, script.transactional ? signal : undefined);
      } catch (error) {
        if (signal?.aborted && script.transactional) throw new StoppedAt(done);
        const e = error as { code?: unknown; position?: unknown; message?: unknown };
        const sqlState = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)
          ? e.code
          : undefined;
        const position = e.position === undefined ? undefined : Number(e.position);
        throw new MigrationFailedError({
          version: migration.version,
          name: migration.name,
          direction,
          file: script.file,
          line: errorLine(script.sql, statement, position),
          sqlState,
          detail: (typeof e.message === "string" ? e.message : String(error)) +
            (!script.transactional && CONCURRENT_INDEX.test(statement.masked)
              ? ": a failed concurrent index build can leave an INVALID index behind: DROP INDEX CONCURRENTLY it before retrying"
              : ""),
          transactional: script.transactional,
          appliedStatements: done,
        }, { cause: error });
      }
      done++;
    }
    const durationMs = Math.round(performance.now() - started);
    await record(tx, durationMs);
    return durationMs;
  };
  const durationMs = script.transactional ? await db.transaction(run) : await run(db);
  return { ...planned(migration, direction, script), durationMs };
}
