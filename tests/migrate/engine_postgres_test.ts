import assert from "node:assert/strict";
import {
  currentSchemaVersion,
  DatabaseConnectionError,
  loadMigrations,
  LockTimeoutError,
  migrateUp,
  type MigrationRun,
  openDatabase,
  readHistory,
  withMigrationLock,
} from "../../lib/migrate/mod.ts";
import { startPostgres } from "../_support/postgres.ts";
import { ENGINE_CASES } from "./_engine_cases.ts";
import { TRACKTION_MIGRATIONS, withMigrationsDir } from "./_helpers.ts";

Deno.test("migration engine against a real PostgreSQL 15", async (t) => {
  const server = await startPostgres();
  let n = 0;
  try {
    for (const c of ENGINE_CASES) {
      await t.step(c.name, async () => {
        const db = await openDatabase(await server.createDatabase(`case_${n++}`));
        try {
          await c.fn(db);
        } finally {
          await db.close();
        }
      });
    }

    await t.step(
      "migrateUp() serialises two concurrent runners with the advisory lock",
      async () => {
        const url = await server.createDatabase("concurrent");
        await withMigrationsDir({
          "0001_slow.up.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(1);\n",
          "0002_next.up.sql": "CREATE TABLE next_one (id int);\n",
        }, async (dir) => {
          const migrations = await loadMigrations(dir);
          const [a, b] = [await openDatabase(url), await openDatabase(url)];
          try {
            const waits: string[] = [];
            const runner = (name: string, db: typeof a) =>
              migrateUp(db, migrations, {
                appliedBy: name,
                lockTimeoutMs: 60_000,
                onLockWait: (holder) => waits.push(`${name} waits for ${holder}`),
              });
            const results = await Promise.all([runner("a", a), runner("b", b)]);
            const runs: MigrationRun[] = results.flatMap((r) => r.migrations);
            assert.deepEqual(runs.map((r) => r.version).sort(), [1, 2]);
            assert.ok(
              results.some((r) => r.migrations.length === 0),
              "one runner found nothing to do",
            );
            assert.equal(waits.length, 1, waits.join("; "));
            assert.match(waits[0]!, /waits for pid \d+ tracktion-deploy as postgres/);
            const history = await readHistory(a);
            assert.deepEqual(history.map((h) => h.version), [1, 2]);
            assert.equal(new Set(history.map((h) => h.appliedBy)).size, 1);
          } finally {
            await a.close();
            await b.close();
          }
        });
      },
    );

    await t.step(
      "migrateUp() fails with LockTimeoutError while another runner holds the lock",
      async () => {
        const url = await server.createDatabase("lock_timeout");
        const [holder, waiter] = [await openDatabase(url), await openDatabase(url)];
        try {
          let release!: () => void;
          const released = new Promise<void>((resolve) => (release = resolve));
          let locked!: () => void;
          const isLocked = new Promise<void>((resolve) => (locked = resolve));
          const holding = withMigrationLock(holder, async () => {
            locked();
            await released;
          });
          await isLocked;
          const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
          const started = Date.now();
          const error = await migrateUp(waiter, migrations, { lockTimeoutMs: 400 }).catch((e) => e);
          release();
          await holding;
          assert.ok(error instanceof LockTimeoutError, String(error));
          assert.ok(Date.now() - started >= 400);
          assert.match(
            error.message,
            /another runner \(pid \d+ tracktion-deploy as postgres\) held it for 400 ms/,
          );
          assert.equal(await currentSchemaVersion(waiter), null);
          const after = await migrateUp(waiter, migrations, { lockTimeoutMs: 5_000 });
          assert.equal(after.toVersion, 8);
        } finally {
          await holder.close();
          await waiter.close();
        }
      },
    );

    await t.step(
      "openDatabase() names wrong credentials and unknown databases, never the password",
      async () => {
        const wrong = server.url.replace(`:${server.password}@`, ":not-the-password@");
        const auth = await openDatabase(wrong).catch((e) => e);
        assert.ok(auth instanceof DatabaseConnectionError);
        assert.equal(auth.reason, "authentication");
        assert.match(auth.message, /password authentication failed for user "postgres"/);
        assert.ok(!auth.message.includes("not-the-password"));
        const missing = await openDatabase(server.url.replace(/\/postgres$/, "/no_such_db")).catch((
          e,
        ) => e);
        assert.ok(missing instanceof DatabaseConnectionError);
        assert.equal(missing.reason, "unknown_database");
        assert.match(missing.message, /database "no_such_db" does not exist/);
        assert.ok(!missing.message.includes(server.password));
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("openDatabase() reports an unreachable server without the password", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const error = await openDatabase(`postgres://app:hunter2secret@127.0.0.1:${port}/app`).catch((
    e,
  ) => e);
  assert.ok(error instanceof DatabaseConnectionError);
  assert.equal(error.reason, "unreachable");
  assert.match(
    error.message,
    /^Cannot connect to database postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/app: the server is unreachable \(ECONNREFUSED/,
  );
  assert.ok(!error.message.includes("hunter2secret"));
});

Deno.test("openDatabase() rejects a URL that is not postgres://", async () => {
  const error = await openDatabase("mysql://u:p@127.0.0.1/x").catch((e) => e);
  assert.ok(error instanceof DatabaseConnectionError);
  assert.equal(error.reason, "invalid_url");
  assert.match(error.message, /expected a postgres:\/\/ or postgresql:\/\/ URL/);
});
