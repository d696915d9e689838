import assert from "node:assert/strict";
import {
  currentSchemaVersion,
  loadMigrations,
  LockTimeoutError,
  migrateUp,
  MigrationInterruptedError,
  openDatabase,
} from "../../lib/migrate/mod.ts";
import { ENGINE_CASES } from "./_engine_cases.ts";
import { TRACKTION_MIGRATIONS } from "./_helpers.ts";

Deno.test("migration engine core cases against the embedded PGlite", async (t) => {
  const db = await openDatabase({ pglite: "memory://" });
  try {
    for (const c of ENGINE_CASES) {
      await db.execute("DROP SCHEMA public CASCADE");
      await db.execute("CREATE SCHEMA public");
      await t.step(c.name, () => c.fn(db));
    }
  } finally {
    await db.close();
  }
});

Deno.test("openDatabase() persists a PGlite folder and locks it against a second opener", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-pglite-" });
  try {
    const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
    const first = await openDatabase({ pglite: `${dir}/pglite` });
    try {
      await migrateUp(first, migrations, { to: 2 });
      const second = await openDatabase({ pglite: `${dir}/pglite` }, { lockTimeoutMs: 200 })
        .catch((e) => e);
      assert.ok(second instanceof LockTimeoutError, String(second));
      assert.match(second.message, /another process using the embedded database in .*\/pglite/);
      const interrupted = await openDatabase({ pglite: `${dir}/pglite` }, {
        signal: AbortSignal.timeout(200),
      }).catch((e) => e);
      assert.ok(interrupted instanceof MigrationInterruptedError, String(interrupted));
      assert.match(
        interrupted.message,
        /^interrupted while waiting for the embedded database in .*\/pglite \(another process has it open\): nothing ran$/,
      );
    } finally {
      await first.close();
    }
    const reopened = await openDatabase({ pglite: `${dir}/pglite` }, { lockTimeoutMs: 5_000 });
    try {
      assert.equal(await currentSchemaVersion(reopened), 2);
    } finally {
      await reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
