import assert from "node:assert/strict";
import { openDatabase, withMigrationLock } from "../../lib/migrate/mod.ts";
import { startPostgres } from "../_support/postgres.ts";
import { REPO_ROOT, TRACKTION_MIGRATIONS, TWO_TABLES, withMigrationsDir } from "./_helpers.ts";
import { expectCode, migrate } from "./_cli.ts";

Deno.test("migrate CLI rejects bad usage with exit code 2 and no database", async () => {
  for (
    const [args, message] of [
      [["staging"], /expected <environment> and a command/],
      [["staging", "sideways"], /unknown command "sideways"/],
      [["staging", "up", "--to", "three"], /--to must be a version number/],
      [["staging", "status", "--to", "3"], /--to applies to up and down/],
      [["staging", "up", "--bogus"], /Unknown option '--bogus'/],
      [
        ["staging", "status", "--dir", "/nonexistent"],
        /Cannot load migration \/nonexistent: no such folder/,
      ],
      [["production", "down", "--to", "0"], /down in production runs destructive scripts/],
      [["production", "down", "--confirm", "yes"], /pass --confirm production/],
      [["staging", "status", "--sandbox-dir", "/tmp"], /--sandbox-dir needs --sandbox/],
      [["staging", "status", "--sandbox", "--sandbox-dir", ""], /--sandbox-dir takes a folder/],
      [
        ["staging", "status", "--sandbox", "--sandbox-dir", "deno.json"],
        /--sandbox-dir deno\.json is a file, not a folder/,
      ],
    ] as const
  ) {
    const result = await migrate([...args]);
    expectCode(result, 2);
    assert.match(result.stderr, message);
  }
});

Deno.test("migrate CLI lint exits 1 on blocking findings and 0 on Tracktion's migrations", async () => {
  const clean = await migrate(["production", "lint"]);
  expectCode(clean, 0);
  assert.match(clean.stdout, /0 finding\(s\), 0 blocking/);
  await withMigrationsDir(
    { "0001_x.up.sql": "ALTER TABLE audio_files DROP COLUMN path;\n" },
    async (dir) => {
      const risky = await migrate(["production", "lint", "--dir", dir]);
      expectCode(risky, 1);
      assert.match(
        risky.stdout,
        /0001_x\.up\.sql:1: error drop-column: DROP COLUMN on audio_files/,
      );
    },
  );
});

Deno.test("migrate CLI against a real PostgreSQL 15", async (t) => {
  const server = await startPostgres();
  try {
    const url = await server.createDatabase("cli");
    // The identity migrations are recorded with: DEPLOY_ACTOR overrides git and the OS user.
    const env = { DATABASE_URL: url, DEPLOY_ACTOR: "ci-runner" };

    await t.step(
      "status, up --dry-run, up, status --json and down --to work end to end",
      async () => {
        const before = await migrate(["staging", "status"], { env });
        expectCode(before, 0);
        assert.match(before.stdout, /database: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/cli/);
        assert.match(before.stdout, /schema version none, latest 8, 8 pending/);
        assert.ok(!before.stdout.includes(server.password));

        const dry = await migrate(["staging", "up", "--dry-run"], { env });
        expectCode(dry, 0);
        assert.match(dry.stdout, /-- 0001_create_audio_files \(up, in a transaction\)/);
        assert.match(
          dry.stdout,
          /-- 0004_index_analysis_results_audio_file \(up, no transaction\)/,
        );
        assert.match(dry.stdout, /CREATE TABLE batch_jobs/);
        assert.match(
          dry.stdout,
          /dry run: 8 migration\(s\) would run, schema version none -> 8; nothing was changed/,
        );
        const still = await migrate(["staging", "status", "--json"], { env });
        assert.equal(JSON.parse(still.stdout).pending, 8);

        const up = await migrate(["staging", "up"], { env });
        expectCode(up, 0);
        assert.match(up.stdout, /applied 0001_create_audio_files \(\d+ ms\)/);
        assert.match(up.stdout, /schema version none -> 8/);

        const status = await migrate(["staging", "status", "--json"], { env });
        expectCode(status, 0);
        const parsed = JSON.parse(status.stdout);
        assert.equal(parsed.currentVersion, 8);
        assert.equal(parsed.pending, 0);
        assert.equal(parsed.migrations[0].appliedBy, "ci-runner");
        assert.ok(!status.stdout.includes(server.password));

        const down = await migrate(["staging", "down", "--to", "0005"], { env });
        expectCode(down, 0);
        assert.match(
          down.stdout,
          /reverted 0008_validate_constraints[^]*reverted 0006_create_batch_jobs/,
        );
        assert.match(down.stdout, /schema version 8 -> 5/);
        const confirmed = await migrate(["production", "down", "--confirm", "production"], { env });
        expectCode(confirmed, 0);
        assert.match(confirmed.stdout, /reverted 0005_index_audio_files_format_metadata/);
        assert.match(confirmed.stdout, /schema version 5 -> 4/);
        const again = await migrate(["staging", "up", "--json"], { env });
        expectCode(again, 0);
        assert.deepEqual(
          JSON.parse(again.stdout).migrations.map((m: { version: number }) => m.version),
          [5, 6, 7, 8],
        );
      },
    );

    await t.step(
      "down needs --confirm where the environment file requires confirmation, whatever its name",
      async () => {
        const db = await server.createDatabase("cli_confirm");
        const dir = await Deno.makeTempDir({ prefix: "tracktion-cli-envs-" });
        try {
          const staging = await Deno.readTextFile(`${REPO_ROOT}/environments/staging.yml`);
          const production = await Deno.readTextFile(`${REPO_ROOT}/environments/production.yml`);
          assert.match(staging, /require_confirmation: false/);
          assert.match(production, /require_confirmation: true/);
          await Deno.writeTextFile(
            `${dir}/qa.yml`,
            staging.replace(/name: staging/, "name: qa").replace(
              /require_confirmation: false/,
              "require_confirmation: true",
            ),
          );
          await Deno.writeTextFile(
            `${dir}/production.yml`,
            production.replace(/require_confirmation: true/, "require_confirmation: false"),
          );
          const env = { DATABASE_URL: db, DEPLOY_ACTOR: "ci-runner" };
          const common = ["--environments-dir", dir, "--dir", TRACKTION_MIGRATIONS];
          expectCode(await migrate(["qa", "up", ...common], { env }), 0);
          const refused = await migrate(["qa", "down", ...common], { env });
          expectCode(refused, 2);
          assert.match(refused.stderr, /down in qa runs destructive scripts/);
          assert.match(refused.stderr, /deployment\.require_confirmation: pass --confirm qa/);
          expectCode(await migrate(["qa", "down", "--confirm", "qa", ...common], { env }), 0);
          const unprotected = await migrate(["production", "down", ...common], { env });
          expectCode(unprotected, 0);
          assert.match(unprotected.stdout, /schema version 7 -> 6/);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step(
      "a failing migration exits 1 with file and line, and records nothing",
      async () => {
        const failing = await server.createDatabase("cli_failing");
        await withMigrationsDir({
          ...TWO_TABLES,
          "0003_bad.up.sql": "CREATE TABLE c (id int);\nINSERT INTO c VALUES ('not a number');\n",
        }, async (dir) => {
          const result = await migrate(["staging", "up", "--dir", dir], {
            env: { DATABASE_URL: failing },
          });
          expectCode(result, 1);
          assert.match(result.stdout, /applied 0002_create_b/);
          assert.match(
            result.stderr,
            /error: Migration 0003_bad failed: .*0003_bad\.up\.sql:2: invalid input syntax for type integer/,
          );
          assert.match(result.stderr, /rolled back, nothing recorded/);
          const status = await migrate(["staging", "status", "--json", "--dir", dir], {
            env: { DATABASE_URL: failing },
          });
          const parsed = JSON.parse(status.stdout);
          assert.equal(parsed.currentVersion, 2);
          assert.equal(parsed.pending, 1);
        });
      },
    );

    await t.step(
      "checksum drift exits 2 naming the file; production blocks risky DDL",
      async () => {
        const drift = await server.createDatabase("cli_drift");
        await withMigrationsDir(TWO_TABLES, async (dir) => {
          expectCode(
            await migrate(["staging", "up", "--dir", dir], { env: { DATABASE_URL: drift } }),
            0,
          );
          await Deno.writeTextFile(`${dir}/0002_create_b.up.sql`, "CREATE TABLE b (id bigint);\n");
          await Deno.writeTextFile(`${dir}/0003_c.up.sql`, "SELECT 1;\n");
          const result = await migrate(["staging", "up", "--dir", dir], {
            env: { DATABASE_URL: drift },
          });
          expectCode(result, 2);
          assert.match(result.stderr, /0002_create_b\.up\.sql changed after it was applied/);
          await Deno.writeTextFile(
            `${dir}/0002_create_b.up.sql`,
            TWO_TABLES["0002_create_b.up.sql"]!,
          );
          await Deno.writeTextFile(
            `${dir}/0003_c.up.sql`,
            "SET LOCAL lock_timeout = '1s';\nALTER TABLE b RENAME TO c;\n",
          );
          const blocked = await migrate(["production", "up", "--dir", dir], {
            env: { DATABASE_URL: drift },
          });
          expectCode(blocked, 2);
          assert.match(blocked.stderr, /0003_c\.up\.sql:2: error rename/);
          assert.match(blocked.stderr, /Cannot migrate: risky DDL without a reviewed override/);
          const staging = await migrate(["staging", "up", "--dir", dir], {
            env: { DATABASE_URL: drift },
          });
          expectCode(staging, 0);
          assert.match(staging.stderr, /lint: .*0003_c\.up\.sql:2: error rename/);
        });
      },
    );

    await t.step("a busy lock exits 1 after --lock-timeout", async () => {
      const busy = await server.createDatabase("cli_busy");
      const holder = await openDatabase(busy);
      try {
        const result = await withMigrationLock(
          holder,
          () =>
            migrate(["staging", "up", "--lock-timeout", "0.3"], { env: { DATABASE_URL: busy } }),
        );
        expectCode(result, 1);
        assert.match(result.stderr, /waiting up to 0\.3 s for the migration lock held by pid \d+/);
        assert.match(result.stderr, /error: Cannot acquire the migration lock: another runner/);
      } finally {
        await holder.close();
      }
    });

    await t.step(
      "wrong credentials exit 2 and an unreachable server exits 1, password never shown",
      async () => {
        const wrong = url.replace(`:${server.password}@`, ":wrong-password-123@");
        const auth = await migrate(["staging", "status"], { env: { DATABASE_URL: wrong } });
        expectCode(auth, 2);
        assert.match(auth.stderr, /password authentication failed/);
        assert.ok(!auth.stderr.includes("wrong-password-123"));
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (listener.addr as Deno.NetAddr).port;
        listener.close();
        const down = await migrate(["staging", "status"], {
          env: { DATABASE_URL: `postgres://app:hunter2secret@127.0.0.1:${port}/app` },
        });
        expectCode(down, 1);
        assert.match(down.stderr, /the server is unreachable \(ECONNREFUSED/);
        assert.ok(!down.stderr.includes("hunter2secret"));
      },
    );

    await t.step(
      "without DATABASE_URL the environment file's database section is used",
      async () => {
        const cwd = await Deno.makeTempDir({ prefix: "tracktion-cli-" });
        try {
          await Deno.mkdir(`${cwd}/environments`);
          const dev = await Deno.readTextFile(`${REPO_ROOT}/environments/development.yml`);
          const local = dev
            .replace(/host: "dev-db\.tracktion\.internal"/, `host: "127.0.0.1"`)
            .replace(/(database:\n(?:.*\n)*?\s+port: )5432/, `$1${server.port}`)
            .replace(/database: "tracktion_dev"/, `database: "cli"`)
            .replace(/(database:\n(?:.*\n)*?\s+user: )tracktion/, "$1postgres");
          assert.notEqual(local, dev);
          await Deno.writeTextFile(`${cwd}/environments/development.yml`, local);
          const args = ["development", "status", "--dir", TRACKTION_MIGRATIONS];
          const missing = await migrate(args, { cwd });
          expectCode(missing, 2);
          assert.match(missing.stderr, /database\.password: .*TRACKTION_DB_PASSWORD.* is not set/);
          const ok = await migrate(args, { cwd, env: { TRACKTION_DB_PASSWORD: server.password } });
          expectCode(ok, 0);
          assert.match(ok.stdout, /database: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/cli/);
          assert.match(ok.stdout, /schema version 8, latest 8, 0 pending/);
          const unknown = await migrate(["qa", "status", "--dir", TRACKTION_MIGRATIONS], { cwd });
          expectCode(unknown, 2);
          assert.match(unknown.stderr, /Unknown environment "qa"/);
        } finally {
          await Deno.remove(cwd, { recursive: true });
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("migrate CLI --sandbox persists an embedded PGlite under .tracktion/sandbox/pglite", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "tracktion-cli-sandbox-" });
  try {
    // up and down read the environment file (does it require confirmation?).
    await Deno.mkdir(`${cwd}/environments`);
    await Deno.copyFile(
      `${REPO_ROOT}/environments/development.yml`,
      `${cwd}/environments/development.yml`,
    );
    const args = ["development", "up", "--sandbox", "--to", "3", "--dir", TRACKTION_MIGRATIONS];
    const up = await migrate(args, { cwd });
    expectCode(up, 0);
    assert.match(up.stdout, /database: embedded PGlite in \.tracktion\/sandbox\/pglite/);
    assert.match(up.stdout, /schema version none -> 3/);
    const stat = await Deno.stat(`${cwd}/.tracktion/sandbox/pglite`);
    assert.ok(stat.isDirectory);
    const status = await migrate([
      "development",
      "status",
      "--sandbox",
      "--json",
      "--dir",
      TRACKTION_MIGRATIONS,
    ], {
      cwd,
    });
    expectCode(status, 0);
    assert.equal(JSON.parse(status.stdout).currentVersion, 3);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("migrate CLI --sandbox --sandbox-dir uses that sandbox's pglite/, as a deploy would", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "tracktion-cli-sandbox-dir-" });
  try {
    // No environment file: status against the sandbox's database does not read one.
    const sandboxDir = `${cwd}/elsewhere`;
    const status = await migrate([
      "development",
      "status",
      "--sandbox",
      "--sandbox-dir",
      sandboxDir,
      "--dir",
      TRACKTION_MIGRATIONS,
    ], { cwd });
    expectCode(status, 0);
    assert.ok(
      status.stdout.includes(`database: embedded PGlite in ${sandboxDir}/pglite`),
      status.stdout,
    );
    assert.match(status.stdout, /schema version none, latest 8, 8 pending/);
    assert.ok((await Deno.stat(`${sandboxDir}/pglite`)).isDirectory);
    await assert.rejects(Deno.stat(`${cwd}/.tracktion`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("migrate CLI --sandbox with DATABASE_URL set exits 2 and touches neither database", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "tracktion-cli-sandbox-url-" });
  try {
    const secret = "prod-password-0451";
    for (const command of ["status", "up", "down"]) {
      const result = await migrate(
        ["development", command, "--sandbox", "--dir", TRACKTION_MIGRATIONS],
        { cwd, env: { DATABASE_URL: `postgres://app:${secret}@127.0.0.1:1/prod` } },
      );
      expectCode(result, 2);
      assert.match(result.stderr, /--sandbox is about the sandbox's embedded database/);
      assert.match(result.stderr, /DATABASE_URL is set/);
      assert.match(result.stderr, /unset DATABASE_URL to migrate the sandbox, or drop --sandbox/);
      assert.ok(!result.stderr.includes(secret));
    }
    // Nothing written: no sandbox database was created.
    await assert.rejects(Deno.stat(`${cwd}/.tracktion`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
