import assert from "node:assert/strict";
import {
  formatFinding,
  isBlocking,
  lintMigrations,
  lintRules,
  loadMigrations,
  type Migration,
  parseMigrationScript,
} from "../../lib/migrate/mod.ts";
import { TRACKTION_MIGRATIONS } from "./_helpers.ts";

function lint(sql: string) {
  const up = parseMigrationScript("0002_change.up.sql", sql);
  const migration: Migration = { version: 2, name: "change", up, down: undefined };
  return lintMigrations([migration]);
}

function rules(sql: string): string[] {
  return lint(sql).map((f) => f.rule);
}

/** Each rule: risky SQL that must fire it, and the safe way that must not. */
const CASES: { rule: string; bad: string; good: string }[] = [
  {
    rule: "create-index-not-concurrently",
    bad: "CREATE INDEX audio_files_path_idx ON audio_files (path);",
    good:
      "-- tracktion:no-transaction\nCREATE INDEX CONCURRENTLY audio_files_path_idx ON audio_files (path);",
  },
  {
    rule: "not-null-without-default",
    bad: "ALTER TABLE audio_files ADD COLUMN bitrate integer NOT NULL;",
    good: "ALTER TABLE audio_files ADD COLUMN bitrate integer NOT NULL DEFAULT 0;",
  },
  {
    rule: "volatile-default",
    bad: "ALTER TABLE audio_files ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    good: "ALTER TABLE audio_files ADD COLUMN seen_at timestamptz DEFAULT now();",
  },
  {
    rule: "drop-column",
    bad: "ALTER TABLE audio_files DROP COLUMN sha256;",
    good: "ALTER TABLE audio_files DROP CONSTRAINT audio_files_format_check;",
  },
  {
    rule: "drop-table",
    bad: "DROP TABLE IF EXISTS batch_jobs;",
    good: "CREATE TABLE scratch (id int);\nDROP TABLE scratch;",
  },
  {
    rule: "column-type-change",
    bad: "ALTER TABLE audio_files ALTER COLUMN size_bytes TYPE numeric;",
    good: "ALTER TABLE audio_files ALTER COLUMN size_bytes SET DEFAULT 0;",
  },
  {
    rule: "set-not-null",
    bad: "ALTER TABLE audio_files ALTER COLUMN duration_seconds SET NOT NULL;",
    good: "ALTER TABLE audio_files ALTER COLUMN duration_seconds DROP NOT NULL;",
  },
  {
    rule: "constraint-without-not-valid",
    bad:
      "ALTER TABLE analysis_results ADD CONSTRAINT fk FOREIGN KEY (batch_id) REFERENCES batch_jobs (id);",
    good:
      "ALTER TABLE analysis_results ADD CONSTRAINT fk FOREIGN KEY (batch_id) REFERENCES batch_jobs (id) NOT VALID;",
  },
  {
    rule: "add-unique-constraint",
    bad: "ALTER TABLE audio_files ADD CONSTRAINT audio_files_sha256_key UNIQUE (sha256);",
    good:
      "ALTER TABLE audio_files ADD CONSTRAINT audio_files_sha256_key UNIQUE USING INDEX audio_files_sha256_idx;",
  },
  {
    rule: "rename",
    bad: "ALTER TABLE audio_files RENAME COLUMN path TO location;",
    good: "ALTER TABLE audio_files ADD COLUMN location text;",
  },
  {
    rule: "missing-lock-timeout",
    bad: "ALTER TABLE audio_files ADD COLUMN location text;",
    good: "SET LOCAL lock_timeout = '5s';\nALTER TABLE audio_files ADD COLUMN location text;",
  },
  {
    rule: "no-transaction-multiple-statements",
    bad:
      "-- tracktion:no-transaction\nCREATE INDEX CONCURRENTLY a_idx ON t (a);\nCREATE INDEX CONCURRENTLY b_idx ON t (b);",
    good: "-- tracktion:no-transaction\nCREATE INDEX CONCURRENTLY a_idx ON t (a);",
  },
];

for (const { rule, bad, good } of CASES) {
  Deno.test(`lintMigrations() fires ${rule} on risky DDL and stays quiet on the safe form`, () => {
    assert.ok(rules(bad).includes(rule), `${rule} should fire on: ${bad}`);
    assert.ok(!rules(good).includes(rule), `${rule} should stay quiet on: ${good}`);
  });
}

Deno.test("lintRules() lists every rule the cases above cover", () => {
  assert.deepEqual(lintRules().map((r) => r.id).sort(), CASES.map((c) => c.rule).sort());
});

Deno.test("lintMigrations() treats a table created in the same script as new", () => {
  const sql = `CREATE TABLE IF NOT EXISTS "Tracks" (id int, title text);
CREATE INDEX tracks_title_idx ON "Tracks" (title);
ALTER TABLE "Tracks" ADD COLUMN bpm int NOT NULL, ALTER COLUMN title SET NOT NULL;
ALTER TABLE public."Tracks" DROP COLUMN bpm;`;
  assert.deepEqual(lint(sql), []);
  assert.deepEqual(rules('CREATE INDEX i ON "Tracks" (title);'), [
    "create-index-not-concurrently",
    "missing-lock-timeout",
  ]);
});

Deno.test("lintMigrations() reports the line of the risky clause, not of the statement", () => {
  const findings = lint(
    "SET LOCAL lock_timeout = '5s';\n\nALTER TABLE audio_files\n  ADD COLUMN note text,\n  DROP COLUMN sha256;\n",
  );
  assert.deepEqual(findings.map((f) => [f.rule, f.line, f.severity]), [[
    "drop-column",
    5,
    "error",
  ]]);
  assert.equal(findings[0]?.file, "0002_change.up.sql");
  assert.match(findings[0]!.message, /DROP COLUMN on audio_files loses its data/);
});

Deno.test("lintMigrations() ignores keywords inside strings and comments", () => {
  const sql =
    "-- DROP TABLE audio_files;\nSELECT 'ALTER TABLE audio_files DROP COLUMN path' AS note;\n" +
    "/* CREATE INDEX i ON audio_files (path); */ SELECT 1;";
  assert.deepEqual(lint(sql), []);
});

Deno.test("lintMigrations() records a reviewed override and stops blocking", () => {
  const findings = lint(
    '-- tracktion:lint-ignore drop-column reason="unused since v1.1" reviewed-by="dba@tracktion"\n' +
      "SET LOCAL lock_timeout = '5s';\nALTER TABLE audio_files DROP COLUMN sha256;\n",
  );
  assert.equal(findings.length, 1);
  assert.deepEqual(findings[0]?.overriddenBy, {
    rule: "drop-column",
    reason: "unused since v1.1",
    reviewedBy: "dba@tracktion",
    line: 1,
  });
  assert.equal(isBlocking(findings[0]!), false);
  assert.match(
    formatFinding(findings[0]!),
    /\[overridden: reason="unused since v1.1" reviewed-by="dba@tracktion"\]$/,
  );
});

Deno.test("isBlocking() blocks errors but never warnings", () => {
  const [warning] = lint("ALTER TABLE audio_files ADD COLUMN note text;");
  assert.equal(warning?.severity, "warning");
  assert.equal(isBlocking(warning!), false);
  const [error] = lint("SET LOCAL lock_timeout = '1s';\nALTER TABLE audio_files RENAME TO files;");
  assert.equal(error?.rule, "rename");
  assert.equal(isBlocking(error!), true);
});

Deno.test("lintMigrations() finds nothing risky in Tracktion's migrations", async () => {
  const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
  assert.deepEqual(lintMigrations(migrations).map(formatFinding), []);
});

Deno.test("lintMigrations() lints only the versions asked for", () => {
  const up = parseMigrationScript("0005_x.up.sql", "ALTER TABLE t DROP COLUMN c;");
  const migrations: Migration[] = [{ version: 5, name: "x", up, down: undefined }];
  assert.equal(lintMigrations(migrations, { versions: [4] }).length, 0);
  assert.ok(lintMigrations(migrations, { versions: [5] }).length > 0);
});

Deno.test("lintMigrations() reads quoted identifiers as names", () => {
  assert.ok(
    rules('ALTER TABLE "Audio Files" ALTER COLUMN "Size" TYPE numeric;').includes(
      "column-type-change",
    ),
  );
  assert.ok(rules('ALTER TABLE "odd;name" DROP COLUMN "DROP TABLE";').includes("drop-column"));
  assert.ok(
    !rules('ALTER TABLE "odd;name" ADD COLUMN "DROP COLUMN" text;').includes("drop-column"),
  );
});

Deno.test("lintMigrations() accepts identity columns and constraint renames", () => {
  assert.ok(
    !rules("ALTER TABLE audio_files ADD COLUMN n bigint NOT NULL GENERATED ALWAYS AS IDENTITY;")
      .includes(
        "not-null-without-default",
      ),
  );
  assert.ok(!rules("ALTER TABLE audio_files RENAME CONSTRAINT a TO b;").includes("rename"));
});
