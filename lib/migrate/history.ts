/**
 * The `schema_migrations` table: what ran, when, by whom, and how long it took.
 * @module
 */

import type { Queryable } from "./database.ts";

/** The history table's definition (created on the first `up` that applies something). */
export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version bigint PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0)
)`;

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  /** The migration's version. */
  version: number;
  /** Its name. */
  name: string;
  /** SHA-256 (hex) of its up script when it was applied. */
  checksum: string;
  /** When it was applied (ISO 8601). */
  appliedAt: string;
  /** Who applied it. */
  appliedBy: string;
  /** How long its statements took, in milliseconds. */
  durationMs: number;
}

/**
 * Whether `schema_migrations` exists (in the current search path).
 *
 * @param db The database.
 * @returns True when it exists.
 */
export async function hasHistoryTable(db: Queryable): Promise<boolean> {
  const rows = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  return rows[0]?.present === true;
}

/**
 * Reads `schema_migrations`, oldest first; empty when the table does not exist yet.
 *
 * @param db The database.
 * @returns The applied migrations.
 */
export async function readHistory(db: Queryable): Promise<AppliedMigration[]> {
  if (!(await hasHistoryTable(db))) return [];
  const rows = await db.query<Record<string, unknown>>(
    `SELECT version::text AS version, name, checksum,
            to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS applied_at,
            applied_by, duration_ms
       FROM schema_migrations ORDER BY version`,
  );
  return rows.map((row) => ({
    version: Number(row.version),
    name: String(row.name),
    checksum: String(row.checksum),
    appliedAt: String(row.applied_at),
    appliedBy: String(row.applied_by),
    durationMs: Number(row.duration_ms),
  }));
}

/**
 * The database's schema version: the highest version in `schema_migrations`, or
 * `null` when nothing was applied (or the table does not exist). This is what the
 * post-deployment "schema version" validation reads.
 *
 * @param db The database.
 * @returns The version, or null.
 *
 * @example
 * ```ts ignore
 * import { currentSchemaVersion, openDatabase } from "./mod.ts";
 * const db = await openDatabase(Deno.env.get("DATABASE_URL")!);
 * console.log(await currentSchemaVersion(db));
 * await db.close();
 * ```
 */
export async function currentSchemaVersion(db: Queryable): Promise<number | null> {
  if (!(await hasHistoryTable(db))) return null;
  const rows = await db.query<{ version: string | null }>(
    "SELECT max(version)::text AS version FROM schema_migrations",
  );
  const version = rows[0]?.version;
  return version === null || version === undefined ? null : Number(version);
}
