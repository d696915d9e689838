/**
 * Loading migrations from a folder.
 *
 * Layout: one pair of files per migration, `<version>_<name>.up.sql` and
 * `<version>_<name>.down.sql` (e.g. `0001_create_audio_files.up.sql`). We chose two
 * files over dbmate's single file with `-- migrate:up` / `-- migrate:down` sections
 * because each file is then plain SQL that `psql -f` runs as is, a server error's
 * line is the file's own line with no section offset, the checksum covers exactly the
 * script that was applied (fixing a rollback script later does not count as drift), and
 * a review diff shows at a glance whether the forward or the backward path changed.
 *
 * Directives go in a file's header (the comment lines before its first statement), named
 * `-- <directive>:` where `<directive>` is `MIGRATION_DIRECTIVE` of `lib/product`:
 * - `-- <directive>:no-transaction` runs the script's statements one by one outside a
 *   transaction (needed by `CREATE INDEX CONCURRENTLY`); a failure then leaves the
 *   statements before it applied, and the error says so.
 * - `-- <directive>:lint-ignore <rule> reason="..." reviewed-by="..."` is the explicit,
 *   reviewed override of a lint rule for this script; reports record it.
 * @module
 */

import { MIGRATION_DIRECTIVE } from "../product/mod.ts";
import { MigrationFileError } from "./errors.ts";
import { LINT_RULE_IDS } from "./_lint_rules.ts";
import { splitSql, type SqlStatement, SqlSyntaxError } from "./sql_split.ts";

/** A reviewed override of one lint rule, from a script's header. */
export interface LintOverride {
  /** The rule it silences, e.g. `"drop-column"`. */
  rule: string;
  /** Why the risk is accepted. */
  reason: string;
  /** Who reviewed it. */
  reviewedBy: string;
  /** 1-based line of the directive. */
  line: number;
}

/** One script (up or down) of a migration. */
export interface MigrationScript {
  /** Path of the file, as found under the folder given to {@linkcode loadMigrations}. */
  file: string;
  /** The SQL, line endings normalised to `\n`. */
  sql: string;
  /** Its statements, in order. */
  statements: SqlStatement[];
  /** False when the header says `-- <directive>:no-transaction`. */
  transactional: boolean;
  /** SHA-256 (hex) of {@linkcode MigrationScript.sql}. */
  checksum: string;
  /** Reviewed lint overrides from the header. */
  lintOverrides: LintOverride[];
}

/** A migration: its version, name and scripts. */
export interface Migration {
  /** Positive integer from the file name (`0003` → 3). */
  version: number;
  /** Name from the file name (`create_batch_jobs`). */
  name: string;
  /** The forward script. */
  up: MigrationScript;
  /** The backward script, when there is one. */
  down: MigrationScript | undefined;
}

const FILE_NAME = /^(\d+)_([a-z0-9][a-z0-9_]*)\.(up|down)\.sql$/;
const DIRECTIVE = new RegExp(`^--\\s*${MIGRATION_DIRECTIVE}:([a-z-]*)(.*)$`);
const NO_TRANSACTION = `-- ${MIGRATION_DIRECTIVE}:no-transaction`;
const LINT_IGNORE = `-- ${MIGRATION_DIRECTIVE}:lint-ignore <rule> reason="..." reviewed-by="..."`;
const NOT_IN_TRANSACTION =
  /^\s*(CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY|VACUUM\b|CREATE\s+DATABASE|DROP\s+DATABASE)/is;
const TRANSACTION_CONTROL =
  /^\s*(BEGIN|COMMIT|ROLLBACK|END|START\s+TRANSACTION|SAVEPOINT|RELEASE)\b/i;

/**
 * Formats a migration's id as it appears in file names and messages: `0003_create_batch_jobs`.
 *
 * @param migration The version and name.
 * @returns The id.
 *
 * @example
 * ```ts
 * import { migrationId } from "./migration_files.ts";
 * import assert from "node:assert/strict";
 * assert.equal(migrationId({ version: 3, name: "create_batch_jobs" }), "0003_create_batch_jobs");
 * ```
 */
export function migrationId(migration: { version: number; name: string }): string {
  return `${String(migration.version).padStart(4, "0")}_${migration.name}`;
}

/**
 * Reads every migration in a folder, ordered by version, and validates names,
 * versions, directives and SQL quoting. Files not ending in `.sql` are ignored.
 *
 * @param dir The folder, e.g. `"migrations"`.
 * @returns The migrations, oldest first.
 * @throws {MigrationFileError} On any problem, naming the file (and line).
 *
 * @example
 * ```ts
 * import { loadMigrations } from "./migration_files.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/0001_a.up.sql`, "CREATE TABLE a (id int);\n");
 * await Deno.writeTextFile(`${dir}/0001_a.down.sql`, "DROP TABLE a;\n");
 * const [first] = await loadMigrations(dir);
 * assert.equal(first?.name, "a");
 * assert.equal(first?.up.statements.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".sql")) entries.push(entry.name);
    }
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "no such folder" : String(error);
    throw new MigrationFileError(dir, 0, why);
  }
  entries.sort();
  const byVersion = new Map<
    number,
    { name: string; up?: MigrationScript; down?: MigrationScript }
  >();
  for (const fileName of entries) {
    const file = `${dir.replace(/\/+$/, "")}/${fileName}`;
    const match = FILE_NAME.exec(fileName);
    if (!match) {
      throw new MigrationFileError(
        file,
        0,
        "expected a name like 0001_create_audio_files.up.sql or 0001_create_audio_files.down.sql",
      );
    }
    const version = Number(match[1]);
    const name = match[2]!;
    const direction = match[3] as "up" | "down";
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new MigrationFileError(file, 0, "the version must be a positive integer");
    }
    const script = parseMigrationScript(file, await Deno.readTextFile(file));
    script.checksum = await sha256Hex(script.sql);
    const slot = byVersion.get(version) ?? { name };
    if (slot.name !== name || slot[direction] !== undefined) {
      throw new MigrationFileError(
        file,
        0,
        `version ${version} is already used by ${migrationId({ version, name: slot.name })}`,
      );
    }
    slot[direction] = script;
    byVersion.set(version, slot);
  }
  const migrations: Migration[] = [];
  for (const [version, slot] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    if (slot.up === undefined) {
      throw new MigrationFileError(
        `${dir}/${migrationId({ version, name: slot.name })}.down.sql`,
        0,
        "a down script without its up script",
      );
    }
    migrations.push({ version, name: slot.name, up: slot.up, down: slot.down });
  }
  return migrations;
}

/**
 * Parses one script: header directives, statements, transaction rules. The checksum is
 * left empty (computed by {@linkcode loadMigrations}, which reads the file).
 *
 * @param file The file's path, for messages.
 * @param text The file's content.
 * @returns The script.
 * @throws {MigrationFileError} On a bad directive, unterminated SQL, or a statement that
 * cannot run the way the header says.
 *
 * @example
 * ```ts
 * import { parseMigrationScript } from "./migration_files.ts";
 * import { MIGRATION_DIRECTIVE } from "../product/mod.ts";
 * import assert from "node:assert/strict";
 * const header = `-- ${MIGRATION_DIRECTIVE}:no-transaction`;
 * const script = parseMigrationScript("x.up.sql", `${header}\nCREATE INDEX CONCURRENTLY i ON t (a);\n`);
 * assert.equal(script.transactional, false);
 * ```
 */
export function parseMigrationScript(file: string, text: string): MigrationScript {
  const sql = text.replace(/\r\n/g, "\n");
  let statements: SqlStatement[];
  try {
    statements = splitSql(sql);
  } catch (error) {
    if (error instanceof SqlSyntaxError) {
      throw new MigrationFileError(
        file,
        error.line,
        error.message.replace(/^Cannot split SQL: /, ""),
      );
    }
    throw error;
  }
  const headerEnd = statements[0]?.line ?? Number.POSITIVE_INFINITY;
  let transactional = true;
  const lintOverrides: LintOverride[] = [];
  sql.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const match = DIRECTIVE.exec(raw.trim());
    if (!match) return;
    if (line >= headerEnd) {
      throw new MigrationFileError(
        file,
        line,
        `${MIGRATION_DIRECTIVE}: directives belong in the header, before the first statement`,
      );
    }
    const [, name, rest = ""] = match;
    if (name === "no-transaction" && rest.trim() === "") transactional = false;
    else if (name === "lint-ignore") lintOverrides.push(parseOverride(file, line, rest));
    else {
      throw new MigrationFileError(
        file,
        line,
        `unknown directive "${MIGRATION_DIRECTIVE}:${name}${rest.trimEnd()}": expected ${
          NO_TRANSACTION.slice(3)
        } or ${LINT_IGNORE.slice(3)}`,
      );
    }
  });
  for (const statement of statements) {
    if (TRANSACTION_CONTROL.test(statement.masked)) {
      throw new MigrationFileError(
        file,
        statement.line,
        `transaction control statements are not allowed: the engine runs each migration in its own transaction (or none, with ${NO_TRANSACTION})`,
      );
    }
    if (transactional && NOT_IN_TRANSACTION.test(statement.masked)) {
      throw new MigrationFileError(
        file,
        statement.line,
        `this statement cannot run inside a transaction: add ${NO_TRANSACTION} to the header (and keep it the only statement)`,
      );
    }
  }
  return { file, sql, statements, transactional, checksum: "", lintOverrides };
}

function parseOverride(file: string, line: number, rest: string): LintOverride {
  const match = /^\s+([a-z-]+)((?:\s+[a-z-]+="[^"]*")*)\s*$/.exec(rest);
  if (!match) {
    throw new MigrationFileError(
      file,
      line,
      `malformed lint-ignore: expected ${LINT_IGNORE}`,
    );
  }
  const rule = match[1]!;
  if (!LINT_RULE_IDS.includes(rule)) {
    throw new MigrationFileError(
      file,
      line,
      `lint-ignore names an unknown rule "${rule}": expected one of ${LINT_RULE_IDS.join(", ")}`,
    );
  }
  const attributes = new Map<string, string>();
  for (const [, key, value] of (match[2] ?? "").matchAll(/([a-z-]+)="([^"]*)"/g)) {
    attributes.set(key!, value!.trim());
  }
  for (const key of attributes.keys()) {
    if (key !== "reason" && key !== "reviewed-by") {
      throw new MigrationFileError(file, line, `lint-ignore has an unknown attribute "${key}"`);
    }
  }
  const reason = attributes.get("reason") ?? "";
  const reviewedBy = attributes.get("reviewed-by") ?? "";
  if (reason === "" || reviewedBy === "") {
    throw new MigrationFileError(
      file,
      line,
      `lint-ignore ${rule} needs a non-empty reason="..." and reviewed-by="...": an override must be explained and reviewed`,
    );
  }
  return { rule, reason, reviewedBy, line };
}

/**
 * SHA-256 of a text, as 64 hex digits.
 *
 * @param text The text (encoded as UTF-8).
 * @returns The digest in hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./migration_files.ts";
 * import assert from "node:assert/strict";
 * assert.equal((await sha256Hex("")).slice(0, 8), "e3b0c442");
 * ```
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
