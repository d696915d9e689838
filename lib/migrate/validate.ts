/**
 * Checking `schema_migrations` against the migration files before anything runs.
 * @module
 */

import { ChecksumDriftError, MigrationStateError } from "./errors.ts";
import type { AppliedMigration } from "./history.ts";
import { type Migration, migrationId } from "./migration_files.ts";

/** Options for {@linkcode validateHistory}. */
export interface ValidateOptions {
  /** `up` also refuses a pending migration older than the newest applied one. */
  direction: "up" | "down";
}

/**
 * Refuses to go on when the history and the files disagree: an applied migration
 * whose up script changed (drift), whose file is gone or was renamed, or (going up) a
 * pending migration older than the newest applied one, which would run out of order.
 *
 * @param applied Rows of `schema_migrations`.
 * @param migrations The migration files.
 * @param options Which way we are about to migrate.
 * @throws {ChecksumDriftError} Naming the changed file.
 * @throws {MigrationStateError} For the other disagreements.
 *
 * @example
 * ```ts
 * import { validateHistory } from "./validate.ts";
 * import assert from "node:assert/strict";
 * assert.doesNotThrow(() => validateHistory([], [], { direction: "up" }));
 * ```
 */
export function validateHistory(
  applied: readonly AppliedMigration[],
  migrations: readonly Migration[],
  options: ValidateOptions,
): void {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const row of applied) {
    const migration = byVersion.get(row.version);
    if (migration === undefined) {
      throw new MigrationStateError(
        `Cannot migrate: ${migrationId(row)} is applied but has no file: restore ${
          migrationId(row)
        }.up.sql (and .down.sql)`,
      );
    }
    if (migration.name !== row.name) {
      throw new MigrationStateError(
        `Cannot migrate: ${migration.up.file} has version ${row.version}, applied as ${
          migrationId(row)
        }: applied migrations must not be renamed`,
      );
    }
    if (migration.up.checksum !== row.checksum) {
      throw new ChecksumDriftError(
        migration.up.file,
        row.version,
        row.checksum,
        migration.up.checksum,
      );
    }
  }
  if (options.direction === "up") {
    const newest = applied.at(-1)?.version ?? 0;
    const done = new Set(applied.map((a) => a.version));
    const late = migrations.filter((m) => m.version < newest && !done.has(m.version));
    if (late.length > 0) {
      throw new MigrationStateError(
        `Cannot migrate up: ${
          late.map((m) => m.up.file).join(", ")
        } is older than the applied ${newest} and was never applied: give it a version above ${newest}`,
      );
    }
  }
}
