import assert from "node:assert/strict";
import {
  errorLine,
  loadMigrations,
  MigrationFileError,
  parseMigrationScript,
  sha256Hex,
  splitSql,
  SqlSyntaxError,
} from "../../lib/migrate/mod.ts";
import { TRACKTION_MIGRATIONS, withMigrationsDir } from "./_helpers.ts";

Deno.test("splitSql() keeps semicolons inside strings, identifiers, comments and dollar quotes", () => {
  const script = `-- a; comment
CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x;y'; $body$ LANGUAGE sql;
SELECT E'it\\'s; here', "odd;name" FROM t /* nested /* ; */ still ; */;
SELECT $$;$$;
`;
  const statements = splitSql(script);
  assert.deepEqual(statements.map((s) => s.line), [2, 3, 4]);
  assert.equal(
    statements[0]!.text,
    "CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x;y'; $body$ LANGUAGE sql",
  );
  assert.ok(
    statements[1]!.text.endsWith(`"odd;name" FROM t`),
    "a trailing comment is not part of the text",
  );
  assert.equal(statements[2]!.text, "SELECT $$;$$");
  assert.equal(statements[0]!.masked.length, statements[0]!.text.length);
  assert.ok(!statements[0]!.masked.includes("x;y"));
});

Deno.test("splitSql() does not mistake $1 parameters or identifiers with $ for dollar quotes", () => {
  const statements = splitSql("SELECT $1, a$b FROM t; SELECT 2;");
  assert.deepEqual(statements.map((s) => s.text), ["SELECT $1, a$b FROM t", "SELECT 2"]);
});

Deno.test("splitSql() rejects unterminated strings, comments and dollar quotes with their line", () => {
  for (
    const [script, line, what] of [
      ["SELECT 1;\nSELECT 'open;\n", 2, /unterminated string literal/],
      ["SELECT 1;\n\n/* open", 3, /unterminated block comment/],
      ["SELECT $f$ body;", 1, /unterminated dollar quote \$f\$/],
      ['SELECT "open', 1, /unterminated quoted identifier/],
    ] as const
  ) {
    assert.throws(() => splitSql(script), (error: unknown) => {
      assert.ok(error instanceof SqlSyntaxError);
      assert.equal(error.line, line);
      assert.match(error.message, what);
      return true;
    });
  }
});

Deno.test("errorLine() maps a server position inside a statement to the file's line", () => {
  const script = "SELECT 1;\n\nSELECT 'é😀',\n  missing_column\nFROM t;";
  const statement = splitSql(script)[1]!;
  const position = [...statement.text].indexOf("m") + 1;
  assert.equal(errorLine(script, statement, position), 4);
  assert.equal(errorLine(script, statement, undefined), 3);
  assert.equal(errorLine(script, statement, Number.NaN), 3);
});

Deno.test("loadMigrations() reads Tracktion's migrations in order with their checksums", async () => {
  const migrations = await loadMigrations(TRACKTION_MIGRATIONS);
  assert.deepEqual(migrations.map((m) => m.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(migrations.every((m) => m.down !== undefined));
  assert.deepEqual(migrations.filter((m) => !m.up.transactional).map((m) => m.version), [4, 5, 7]);
  const first = migrations[0]!;
  assert.equal(first.up.checksum, await sha256Hex(await Deno.readTextFile(first.up.file)));
  assert.ok(migrations.some((m) => /format_metadata jsonb/i.test(m.up.sql)));
  assert.ok(migrations.some((m) => /ADD COLUMN batch_id/i.test(m.up.sql)));
  assert.ok(migrations.some((m) => /CREATE TABLE batch_jobs/i.test(m.up.sql)));
});

Deno.test("loadMigrations() computes the same checksum for CRLF and LF files", async () => {
  const lf = await withMigrationsDir({ "0001_a.up.sql": "SELECT 1;\nSELECT 2;\n" }, loadMigrations);
  const crlf = await withMigrationsDir(
    { "0001_a.up.sql": "SELECT 1;\r\nSELECT 2;\r\n" },
    loadMigrations,
  );
  assert.equal(lf[0]!.up.checksum, crlf[0]!.up.checksum);
});

async function loadError(files: Record<string, string>): Promise<MigrationFileError> {
  return await withMigrationsDir(files, async (dir) => {
    const error = await loadMigrations(dir).then(() => assert.fail("expected an error"), (e) => e);
    assert.ok(error instanceof MigrationFileError, String(error));
    return error;
  });
}

Deno.test("loadMigrations() rejects bad names, duplicate versions and orphan down scripts", async () => {
  assert.match(
    (await loadError({ "create_a.sql": "" })).message,
    /expected a name like 0001_create_audio_files/,
  );
  assert.match(
    (await loadError({ "0001_a.up.sql": "SELECT 1;", "1_b.up.sql": "SELECT 1;" })).message,
    /version 1 is already used by 0001_a/,
  );
  assert.match(
    (await loadError({ "0002_b.down.sql": "SELECT 1;" })).message,
    /a down script without its up script/,
  );
  assert.match((await loadError({ "0000_zero.up.sql": "SELECT 1;" })).message, /positive integer/);
  const missing = await loadMigrations("/nonexistent/migrations").catch((e) => e);
  assert.ok(missing instanceof MigrationFileError);
  assert.match(
    missing.message,
    /^Cannot load migration \/nonexistent\/migrations: no such folder$/,
  );
});

Deno.test("parseMigrationScript() rejects unknown directives and directives after the header", () => {
  assert.throws(
    () => parseMigrationScript("f.up.sql", "-- tracktion:no-transactions\nSELECT 1;"),
    /^MigrationFileError: Cannot load migration f\.up\.sql: line 1: unknown directive "tracktion:no-transactions"/,
  );
  assert.throws(
    () => parseMigrationScript("f.up.sql", "SELECT 1;\n-- tracktion:no-transaction\n"),
    /line 2: tracktion: directives belong in the header/,
  );
});

Deno.test("parseMigrationScript() requires a known rule, a reason and a reviewer for lint-ignore", () => {
  assert.throws(
    () =>
      parseMigrationScript(
        "f.up.sql",
        '-- tracktion:lint-ignore drop-everything reason="x" reviewed-by="y"\n',
      ),
    /unknown rule "drop-everything"/,
  );
  assert.throws(
    () =>
      parseMigrationScript("f.up.sql", '-- tracktion:lint-ignore drop-column reason="because"\n'),
    /needs a non-empty reason="\.\.\." and reviewed-by="\.\.\."/,
  );
  assert.throws(
    () =>
      parseMigrationScript("f.up.sql", "-- tracktion:lint-ignore drop-column because I said so\n"),
    /malformed lint-ignore/,
  );
  const script = parseMigrationScript(
    "f.up.sql",
    '-- tracktion:lint-ignore drop-column reason="gone since v1" reviewed-by="ana"\nALTER TABLE t DROP COLUMN c;',
  );
  assert.deepEqual(script.lintOverrides, [{
    rule: "drop-column",
    reason: "gone since v1",
    reviewedBy: "ana",
    line: 1,
  }]);
});

Deno.test("parseMigrationScript() refuses transaction control and CONCURRENTLY inside a transaction", () => {
  assert.throws(
    () => parseMigrationScript("f.up.sql", "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;"),
    /line 1: transaction control statements are not allowed/,
  );
  assert.throws(
    () => parseMigrationScript("f.up.sql", "SELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (a);"),
    /line 2: this statement cannot run inside a transaction: add -- tracktion:no-transaction/,
  );
  assert.throws(
    () => parseMigrationScript("f.up.sql", "SELECT 'unterminated;\n"),
    /f\.up\.sql: line 1: unterminated string literal/,
  );
});
