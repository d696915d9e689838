/**
 * Migration engine benchmarks (`deno bench -A bench/migrate_bench.ts`): applying
 * Tracktion's schema to an empty database, and `status` latency, on a real
 * PostgreSQL 15 (started here in a temporary folder, on 127.0.0.1) and on the
 * embedded PGlite. Database creation and PGlite start-up are outside the timings.
 * @module
 */

import {
  type Database,
  lintMigrations,
  loadMigrations,
  migrateUp,
  migrationStatus,
  openDatabase,
} from "../lib/migrate/mod.ts";
import { startPostgres } from "../tests/_support/postgres.ts";

const migrations = await loadMigrations(new URL("../migrations", import.meta.url).pathname);
const server = await startPostgres();
globalThis.addEventListener("unload", () => server.stopSync());

const migrated = await openDatabase(await server.createDatabase("bench_status"));
await migrateUp(migrated, migrations);
const pglite = await openDatabase({ pglite: "memory://" });
let databases = 0;

async function resetPglite(db: Database): Promise<void> {
  await db.execute("DROP SCHEMA public CASCADE");
  await db.execute("CREATE SCHEMA public");
}

Deno.bench({
  name: "migrate up: Tracktion schema from empty (PostgreSQL 15)",
  group: "apply",
  n: 15,
  warmup: 2,
  async fn(b) {
    const db = await openDatabase(await server.createDatabase(`bench_up_${databases++}`));
    b.start();
    await migrateUp(db, migrations);
    b.end();
    await db.close();
  },
});

Deno.bench({
  name: "migrate up: Tracktion schema from empty (PGlite)",
  group: "apply",
  n: 15,
  warmup: 2,
  async fn(b) {
    await resetPglite(pglite);
    b.start();
    await migrateUp(pglite, migrations);
    b.end();
  },
});

Deno.bench({
  name: "migrate status: 8 applied migrations (PostgreSQL 15)",
  group: "status",
  async fn() {
    await migrationStatus(migrated, migrations);
  },
});

Deno.bench({
  name: "migrate status: 8 applied migrations (PGlite)",
  group: "status",
  async fn(b) {
    if ((await migrationStatus(pglite, migrations)).pending > 0) {
      await resetPglite(pglite);
      await migrateUp(pglite, migrations);
    }
    b.start();
    await migrationStatus(pglite, migrations);
    b.end();
  },
});

Deno.bench({
  name: "lint: Tracktion's 8 migrations",
  group: "offline",
  fn() {
    lintMigrations(migrations);
  },
});

Deno.bench({
  name: "load: read, split and checksum Tracktion's 8 migrations",
  group: "offline",
  async fn() {
    await loadMigrations(new URL("../migrations", import.meta.url).pathname);
  },
});
