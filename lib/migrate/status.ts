/**
 * What is applied, what is pending, and what disagrees.
 * @module
 */

import type { Queryable } from "./database.ts";
import { readHistory } from "./history.ts";
import { type Migration, migrationId } from "./migration_files.ts";

/** The state of one migration. */
export type MigrationState = "applied" | "pending" | "drifted" | "missing_file";

/** One line of {@linkcode MigrationStatus}. */
export interface MigrationStatusEntry {
  /** Version. */
  version: number;
  /** Name. */
  name: string;
  /** `applied`, `pending`, `drifted` (applied, file changed since) or `missing_file` (applied, no file). */
  state: MigrationState;
  /** The up script's file, when there is one. */
  file?: string;
  /** Whether it has a down script. */
  hasDown: boolean;
  /** Whether it runs in a transaction. */
  transactional: boolean;
  /** When it was applied (ISO 8601). */
  appliedAt?: string;
  /** Who applied it. */
  appliedBy?: string;
  /** How long it took, in milliseconds. */
  durationMs?: number;
}

/** The result of {@linkcode migrationStatus}. */
export interface MigrationStatus {
  /** Highest applied version, or null. */
  currentVersion: number | null;
  /** Highest version on disk, or null. */
  latestVersion: number | null;
  /** Number of pending migrations. */
  pending: number;
  /** Every migration known to the files or the database, by version. */
  migrations: MigrationStatusEntry[];
}

/**
 * Compares `schema_migrations` with the files. Read-only, takes no lock.
 *
 * @param db The database.
 * @param migrations The migration files.
 * @returns The status.
 *
 * @example
 * ```ts ignore
 * import { loadMigrations, migrationStatus, openDatabase } from "./mod.ts";
 * const db = await openDatabase({ pglite: "memory://" });
 * console.log((await migrationStatus(db, await loadMigrations("migrations"))).pending);
 * await db.close();
 * ```
 */
export async function migrationStatus(
  db: Queryable,
  migrations: readonly Migration[],
): Promise<MigrationStatus> {
  const applied = new Map((await readHistory(db)).map((a) => [a.version, a]));
  const versions = new Set([...migrations.map((m) => m.version), ...applied.keys()]);
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const entries: MigrationStatusEntry[] = [...versions].sort((a, b) => a - b).map((version) => {
    const migration = byVersion.get(version);
    const row = applied.get(version);
    const state: MigrationState = row === undefined
      ? "pending"
      : migration === undefined
      ? "missing_file"
      : migration.up.checksum !== row.checksum || migration.name !== row.name
      ? "drifted"
      : "applied";
    const entry: MigrationStatusEntry = {
      version,
      name: migration?.name ?? row?.name ?? "",
      state,
      hasDown: migration?.down !== undefined,
      transactional: migration?.up.transactional ?? true,
    };
    if (migration !== undefined) entry.file = migration.up.file;
    if (row !== undefined) {
      entry.appliedAt = row.appliedAt;
      entry.appliedBy = row.appliedBy;
      entry.durationMs = row.durationMs;
    }
    return entry;
  });
  return {
    currentVersion: [...applied.keys()].at(-1) ?? null,
    latestVersion: migrations.at(-1)?.version ?? null,
    pending: entries.filter((e) => e.state === "pending").length,
    migrations: entries,
  };
}

/**
 * Formats a status as a table for people.
 *
 * @param status The status.
 * @returns The table, with a summary line.
 *
 * @example
 * ```ts
 * import { formatStatus } from "./status.ts";
 * import assert from "node:assert/strict";
 * const text = formatStatus({ currentVersion: null, latestVersion: 1, pending: 1, migrations: [
 *   { version: 1, name: "a", state: "pending", hasDown: true, transactional: true },
 * ] });
 * assert.match(text, /0001_a +pending/);
 * ```
 */
export function formatStatus(status: MigrationStatus): string {
  const header = ["MIGRATION", "STATE", "APPLIED AT", "BY", "MS", "NOTES"];
  const rows = status.migrations.map((e) => [
    migrationId(e),
    e.state,
    e.appliedAt ?? "-",
    e.appliedBy ?? "-",
    e.durationMs === undefined ? "-" : String(e.durationMs),
    [
      e.transactional ? "" : "no-transaction",
      e.hasDown || e.state === "missing_file" ? "" : "no down script",
    ]
      .filter((n) => n !== "").join(", "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const current = status.currentVersion === null ? "none" : String(status.currentVersion);
  const latest = status.latestVersion === null ? "none" : String(status.latestVersion);
  const problems = status.migrations.filter((e) =>
    e.state === "drifted" || e.state === "missing_file"
  );
  const summary = `schema version ${current}, latest ${latest}, ${status.pending} pending` +
    (problems.length > 0 ? `, ${problems.length} drifted or missing: up and down will refuse` : "");
  return [line(header), ...rows.map(line), "", summary].join("\n");
}
