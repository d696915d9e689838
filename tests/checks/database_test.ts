import assert from "node:assert/strict";
import postgres from "postgres";
import {
  databaseConnectionPool,
  databaseConnectivity,
  databasePerformance,
  type DatabaseProbe,
  databaseSchemaVersion,
} from "../../checks/database.ts";
import { SCHEMA_MIGRATIONS_DDL } from "../../lib/migrate/history.ts";
import { startPostgres } from "../_support/postgres.ts";
import { fakeContext } from "./_support.ts";

function provider(sql: postgres.Sql): DatabaseProbe {
  return {
    async ping() {
      const t0 = performance.now();
      const rows = await sql`SELECT current_setting('server_version') AS v`;
      return { latencyMs: performance.now() - t0, serverVersion: String(rows[0]?.v) };
    },
    async query(text: string) {
      return [...await sql.unsafe(text)] as Record<string, unknown>[];
    },
  };
}

Deno.test("database checks against a real PostgreSQL", async (t) => {
  const server = await startPostgres();
  const url = await server.createDatabase("checks_db");
  const sql = postgres(url, { max: 3, onnotice: () => {} });
  const ctx = fakeContext({ database: provider(sql) });
  try {
    await t.step("databaseConnectivity() passes with latency and server version", async () => {
      const outcome = await databaseConnectivity({ maxLatencyMs: 10_000 }).run(ctx);
      assert.equal(outcome.ok, true, outcome.message);
      assert.match(String(outcome.evidence?.serverVersion), /^\d+/);
    });
    await t.step("databaseConnectivity() fails over its latency bound", async () => {
      const outcome = await databaseConnectivity({ maxLatencyMs: -1 }).run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /limit -1 ms/);
    });
    await t.step("databaseConnectionPool() counts pg_stat_activity", async () => {
      const ok = await databaseConnectionPool({ maxConnections: 50 }).run(ctx);
      assert.equal(ok.ok, true, ok.message);
      const connections = ok.evidence?.connections as number;
      assert.ok(connections >= 1);
      assert.ok((ok.evidence?.serverMaxConnections as number) > 0);
      const over = await databaseConnectionPool({ maxConnections: 1 }).run(ctx);
      assert.equal(over.ok, false);
      assert.match(over.message, /connections \(limit below 1\)/);
    });
    await t.step("databaseSchemaVersion() fails when no migration has run", async () => {
      const outcome = await databaseSchemaVersion().run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /schema_migrations does not exist/);
      await sql.unsafe(SCHEMA_MIGRATIONS_DDL);
      const empty = await databaseSchemaVersion().run(ctx);
      assert.equal(empty.ok, false);
      assert.match(empty.message, /is empty/);
    });
    await t.step("databaseSchemaVersion() reads the highest version", async () => {
      await sql`INSERT INTO schema_migrations (version, name, checksum, applied_by, duration_ms)
        VALUES (20240101000000, 'create_audio_files', ${"a".repeat(64)}, 'test', 5),
               (20240201000000, 'create_analysis_results', ${"b".repeat(64)}, 'test', 7)`;
      const ok = await databaseSchemaVersion({ expected: 20240201000000 }).run(ctx);
      assert.equal(ok.ok, true, ok.message);
      assert.equal(ok.evidence?.version, "20240201000000");
      assert.equal(ok.evidence?.applied, 2);
      const behind = await databaseSchemaVersion({ expected: 20240301000000 }).run(ctx);
      assert.equal(behind.ok, false);
      assert.match(behind.message, /is 20240201000000, expected 20240301000000/);
      const min = await databaseSchemaVersion({ minimum: 20250101000000 }).run(ctx);
      assert.equal(min.ok, false);
      assert.match(min.message, /older than the minimum/);
    });
    await t.step("databasePerformance() judges the median of its samples", async () => {
      await sql`CREATE TABLE audio_files (id serial PRIMARY KEY)`;
      const ok = await databasePerformance({
        sql: "SELECT count(*) FROM audio_files",
        maxLatencyMs: 10_000,
      }).run(ctx);
      assert.equal(ok.ok, true, ok.message);
      assert.equal((ok.evidence?.samplesMs as number[]).length, 3);
      const slow = await databasePerformance({ sql: "SELECT pg_sleep(0.2)", maxLatencyMs: 100 })
        .run(ctx);
      assert.equal(slow.ok, false);
      assert.match(slow.message, /limit 100 ms/);
    });
    await t.step("a failing query is a failed check, not a throw", async () => {
      const outcome = await databasePerformance({ sql: "SELECT * FROM no_such_table" }).run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /no_such_table/);
    });
  } finally {
    await sql.end();
    await server.stop();
  }
});

Deno.test("database checks fail when the capability was not declared", async () => {
  const outcome = await databaseConnectivity().run(fakeContext({}));
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /resource database was not declared/);
});

Deno.test("database checks fail on a stopped server", async () => {
  const server = await startPostgres();
  const sql = postgres(server.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await server.stop();
  try {
    const outcome = await databaseConnectivity().run(fakeContext({ database: provider(sql) }));
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.message.includes(server.password));
  } finally {
    await sql.end();
  }
});

Deno.test("databaseConnectionPool() rejects a non-positive limit", () => {
  assert.throws(() => databaseConnectionPool({ maxConnections: 0 }), RangeError);
});
