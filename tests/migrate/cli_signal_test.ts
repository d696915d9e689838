// `deno task migrate` stops on SIGTERM/SIGINT between migrations: the one in progress is
// rolled back (its running statement cancelled), a migration without a transaction stops
// between its statements, a wait for the lock ends; it exits 130 saying what was applied, and
// the history and the lock are left consistent. Real PostgreSQL, real subprocesses; the signal
// is sent once pg_stat_activity (or the CLI's own output) shows it is where the case needs it.
import assert from "node:assert/strict";
import { delay } from "../../lib/async/mod.ts";
import { type Database, openDatabase, withMigrationLock } from "../../lib/migrate/mod.ts";
import { MIGRATE_APPLICATION_NAME } from "../../lib/cli/migrate.ts";
import { startPostgres } from "../_support/postgres.ts";
import { type CliResult, expectCode, migrate, migrateProcess } from "./_cli.ts";
import { withMigrationsDir } from "./_helpers.ts";

/** Spawns migrate, waits until `ready()` holds, sends SIGTERM; returns what it printed. */
async function interrupt(
  args: string[],
  env: Record<string, string>,
  ready: (stderr: () => string) => Promise<boolean>,
): Promise<CliResult & { afterSignalMs: number }> {
  const child = migrateProcess(args, { env }).spawn();
  let stderr = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (stderr += chunk) }),
  );
  const stdout = new Response(child.stdout).text();
  try {
    const deadline = Date.now() + 30_000;
    while (!(await ready(() => stderr))) {
      assert.ok(Date.now() < deadline, `never got ready; stderr so far:\n${stderr}`);
      await delay(50);
    }
    const signalled = performance.now();
    child.kill("SIGTERM");
    const status = await child.status;
    const afterSignalMs = performance.now() - signalled;
    await stderrDone;
    return { code: status.code, stdout: await stdout, stderr, afterSignalMs };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
  }
}

/** Whether the migrate CLI's session is running a `pg_sleep` right now. */
async function sleeping(observer: Database, database: string): Promise<boolean> {
  const rows = await observer.query(
    `SELECT 1 FROM pg_stat_activity
      WHERE datname = $1 AND application_name = $2 AND state = 'active'
        AND query ILIKE '%pg_sleep%'`,
    [database, MIGRATE_APPLICATION_NAME],
  );
  return rows.length > 0;
}

async function versions(db: Database): Promise<number[]> {
  const rows = await db.query<{ version: string }>(
    "SELECT version::text AS version FROM schema_migrations ORDER BY version",
  );
  return rows.map((r) => Number(r.version));
}

async function tableExists(db: Database, name: string): Promise<boolean> {
  const [row] = await db.query<{ found: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AS found",
    [name],
  );
  return row?.found === true;
}

/** Nobody holds an advisory lock on the database any more. */
async function noAdvisoryLock(db: Database, database: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND d.datname = $1`,
    [database],
  );
  return rows.length === 0;
}

Deno.test("migrate CLI on SIGTERM: exit 130, history consistent, lock released", async (t) => {
  const server = await startPostgres();
  try {
    await t.step(
      "in a transaction: the running statement is cancelled and its migration rolled back",
      async () => {
        const url = await server.createDatabase("sig_tx");
        const observer = await openDatabase(url);
        try {
          await withMigrationsDir({
            "0001_a.up.sql": "CREATE TABLE a (id int);\n",
            "0002_b.up.sql": "CREATE TABLE b (id int);\nSELECT pg_sleep(60);\n",
            "0003_c.up.sql": "CREATE TABLE c (id int);\n",
          }, async (dir) => {
            const result = await interrupt(
              ["staging", "up", "--dir", dir],
              { DATABASE_URL: url, DEPLOY_ACTOR: "ci" },
              () => sleeping(observer, "sig_tx"),
            );
            expectCode(result, 130);
            // Cancelled, not waited out: well under the 60 s sleep.
            assert.ok(result.afterSignalMs < 20_000, `${result.afterSignalMs} ms`);
            assert.match(result.stdout, /applied 0001_a \(\d+ ms\)/);
            assert.doesNotMatch(result.stdout, /applied 0002_b/);
            assert.match(result.stderr, /^interrupted: applied 1 of 3; nothing half-applied$/m);
            assert.doesNotMatch(result.stderr, /error:/);
            assert.deepEqual(await versions(observer), [1]);
            assert.equal(await tableExists(observer, "b"), false, "0002 rolled back");
            assert.ok(await noAdvisoryLock(observer, "sig_tx"), "lock released");
            const status = await migrate(["staging", "status", "--json", "--dir", dir], {
              env: { DATABASE_URL: url },
            });
            expectCode(status, 0);
            const parsed = JSON.parse(status.stdout);
            assert.deepEqual([parsed.currentVersion, parsed.pending], [1, 2]);
          });
        } finally {
          await observer.close();
        }
      },
    );

    await t.step(
      "without a transaction: it stops between statements and says which stay applied",
      async () => {
        const url = await server.createDatabase("sig_notx");
        const observer = await openDatabase(url);
        try {
          await withMigrationsDir({
            "0001_a.up.sql": "CREATE TABLE a (id int);\n",
            "0002_n.up.sql": "-- tracktion:no-transaction\nCREATE TABLE n1 (id int);\n" +
              "SELECT pg_sleep(1);\nCREATE TABLE n2 (id int);\n",
          }, async (dir) => {
            const result = await interrupt(
              ["staging", "up", "--dir", dir],
              { DATABASE_URL: url },
              () => sleeping(observer, "sig_notx"),
            );
            expectCode(result, 130);
            assert.match(
              result.stderr,
              /interrupted: applied 1 of 2; 0002_n \(no transaction\) stopped after 2 of 3 statement\(s\), those stay applied and it is not recorded/,
            );
            assert.deepEqual(await versions(observer), [1]);
            // The sleep was not cancelled (a half-built concurrent index would stay behind).
            assert.equal(await tableExists(observer, "n1"), true);
            assert.equal(await tableExists(observer, "n2"), false);
            assert.ok(await noAdvisoryLock(observer, "sig_notx"), "lock released");
          });
        } finally {
          await observer.close();
        }
      },
    );

    await t.step("waiting for the lock: the wait ends, nothing ran", async () => {
      const url = await server.createDatabase("sig_lock");
      const holder = await openDatabase(url);
      try {
        await withMigrationsDir({ "0001_a.up.sql": "CREATE TABLE a (id int);\n" }, async (dir) => {
          const result = await withMigrationLock(holder, () =>
            interrupt(
              ["staging", "up", "--dir", dir, "--lock-timeout", "60"],
              { DATABASE_URL: url },
              (stderr) =>
                Promise.resolve(/waiting up to 60 s for the migration lock/.test(stderr())),
            ));
          expectCode(result, 130);
          assert.ok(result.afterSignalMs < 20_000, `${result.afterSignalMs} ms`);
          // The holder is named: another tracktion-deploy session (not a manual migrate).
          assert.match(result.stderr, /held by pid \d+ tracktion-deploy as postgres\n/);
          assert.match(
            result.stderr,
            /interrupted while waiting for the migration lock: nothing ran/,
          );
          assert.equal(await tableExists(holder, "a"), false);
        });
      } finally {
        await holder.close();
      }
    });
  } finally {
    await server.stop();
  }
});
