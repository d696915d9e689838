/**
 * The errors of the migration engine, each carrying what a caller needs to report it.
 * @module
 */
import { MIGRATION_DIRECTIVE } from "../product/mod.ts";

/**
 * A migrations folder or file that cannot be used: bad file name, duplicate version,
 * unknown or malformed `-- <directive>:` directive, unterminated SQL. Nothing was run.
 *
 * @example
 * ```ts
 * import { MigrationFileError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new MigrationFileError("migrations/0001_a.up.sql", 3, "unknown directive");
 * assert.equal(error.message, "Cannot load migration migrations/0001_a.up.sql: line 3: unknown directive");
 * ```
 */
export class MigrationFileError extends SyntaxError {
  /** The file. */
  file: string;
  /** 1-based line, or 0 for the file as a whole. */
  line: number;

  /**
   * Builds the error.
   *
   * @param file The file.
   * @param line 1-based line, or 0 for the file as a whole.
   * @param detail What is wrong.
   */
  constructor(file: string, line: number, detail: string) {
    super(`Cannot load migration ${file}: ${line > 0 ? `line ${line}: ` : ""}${detail}`);
    this.name = "MigrationFileError";
    this.file = file;
    this.line = line;
  }
}

/** Why a database could not be opened. */
export type ConnectionFailure =
  | "invalid_url"
  | "unreachable"
  | "authentication"
  | "unknown_database"
  | "other";

/**
 * The database could not be reached or refused the login. The message never contains
 * the password.
 *
 * @example
 * ```ts
 * import { DatabaseConnectionError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new DatabaseConnectionError("postgres://app:***@db:5432/app", "unreachable", "connection refused");
 * assert.equal(error.reason, "unreachable");
 * ```
 */
export class DatabaseConnectionError extends Error {
  /** The database, password redacted. */
  target: string;
  /** The kind of failure. */
  reason: ConnectionFailure;

  /**
   * Builds the error.
   *
   * @param target The database, password redacted.
   * @param reason The kind of failure.
   * @param detail The driver's explanation (password scrubbed).
   */
  constructor(target: string, reason: ConnectionFailure, detail: string) {
    super(`Cannot connect to database ${target}: ${detail}`);
    this.name = "DatabaseConnectionError";
    this.target = target;
    this.reason = reason;
  }
}

/**
 * Another runner held the migration lock for longer than the timeout.
 *
 * @example
 * ```ts
 * import { LockTimeoutError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.match(new LockTimeoutError(5000, "pid 42").message, /5000 ms/);
 * ```
 */
export class LockTimeoutError extends Error {
  /** How long we waited. */
  timeoutMs: number;
  /** Who holds the lock, when the server could tell (e.g. `pid 42 (tracktion-deploy)`). */
  holder: string | undefined;

  /**
   * Builds the error.
   *
   * @param timeoutMs How long we waited.
   * @param holder Who holds the lock, if known.
   */
  constructor(timeoutMs: number, holder?: string) {
    super(
      `Cannot acquire the migration lock: another runner${
        holder ? ` (${holder})` : ""
      } held it for ${timeoutMs} ms: try again once it has finished`,
    );
    this.name = "LockTimeoutError";
    this.timeoutMs = timeoutMs;
    this.holder = holder;
  }
}

/**
 * An applied migration's file changed since it was applied.
 *
 * @example
 * ```ts
 * import { ChecksumDriftError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new ChecksumDriftError("migrations/0001_a.up.sql", 1, "aa", "bb");
 * assert.match(error.message, /0001_a\.up\.sql/);
 * ```
 */
export class ChecksumDriftError extends Error {
  /** The changed file. */
  file: string;
  /** Its version. */
  version: number;
  /** The checksum recorded when it was applied. */
  recorded: string;
  /** The checksum of the file now. */
  actual: string;

  /**
   * Builds the error.
   *
   * @param file The changed file.
   * @param version Its version.
   * @param recorded Checksum recorded in `schema_migrations`.
   * @param actual Checksum of the file now.
   */
  constructor(file: string, version: number, recorded: string, actual: string) {
    super(
      `Cannot migrate: ${file} changed after it was applied (checksum ${
        actual.slice(0, 12)
      }, applied ${
        recorded.slice(0, 12)
      }): restore the file and add a new migration for the change`,
    );
    this.name = "ChecksumDriftError";
    this.file = file;
    this.version = version;
    this.recorded = recorded;
    this.actual = actual;
  }
}

/**
 * The database's history and the files disagree in a way that is not drift: an applied
 * version with no file, a pending version older than the newest applied one, a `down`
 * target that does not exist or a migration without a down script.
 *
 * @example
 * ```ts
 * import { MigrationStateError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new MigrationStateError("Cannot migrate: x").name, "MigrationStateError");
 * ```
 */
export class MigrationStateError extends Error {
  /**
   * Builds the error.
   *
   * @param message The full message.
   */
  constructor(message: string) {
    super(message);
    this.name = "MigrationStateError";
  }
}

/**
 * A migration's statement failed on the server.
 *
 * @example
 * ```ts
 * import { MigrationFailedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new MigrationFailedError({
 *   version: 2, name: "b", direction: "up", file: "migrations/0002_b.up.sql", line: 7,
 *   sqlState: "42P01", detail: 'relation "nope" does not exist', transactional: true, appliedStatements: 0,
 * });
 * assert.equal(
 *   error.message,
 *   'Migration 0002_b failed: migrations/0002_b.up.sql:7: relation "nope" does not exist (SQLSTATE 42P01): rolled back, nothing recorded',
 * );
 * ```
 */
export class MigrationFailedError extends Error {
  /** The migration's version. */
  version: number;
  /** The migration's name. */
  migration: string;
  /** Which script failed. */
  direction: "up" | "down";
  /** The script's file. */
  file: string;
  /** 1-based line of the failing statement (of the error position when the server gave one). */
  line: number;
  /** The server's SQLSTATE, when it gave one. */
  sqlState: string | undefined;
  /** Whether the migration ran in a transaction (and so was rolled back whole). */
  transactional: boolean;
  /** For a migration without a transaction: how many of its statements had completed. */
  appliedStatements: number;

  /**
   * Builds the error.
   *
   * @param init What failed, where and how.
   * @param options Standard error options (the driver's error as `cause`).
   */
  constructor(
    init: {
      version: number;
      name: string;
      direction: "up" | "down";
      file: string;
      line: number;
      sqlState: string | undefined;
      detail: string;
      transactional: boolean;
      appliedStatements: number;
    },
    options?: ErrorOptions,
  ) {
    const id = `${String(init.version).padStart(4, "0")}_${init.name}`;
    const state = init.sqlState ? ` (SQLSTATE ${init.sqlState})` : "";
    const outcome = init.transactional
      ? "rolled back, nothing recorded"
      : `not in a transaction: ${init.appliedStatements} statement(s) before it stay applied, nothing recorded; repair by hand before retrying`;
    super(
      `Migration ${id} failed: ${init.file}:${init.line}: ${init.detail}${state}: ${outcome}`,
      options,
    );
    this.name = "MigrationFailedError";
    this.version = init.version;
    this.migration = init.name;
    this.direction = init.direction;
    this.file = init.file;
    this.line = init.line;
    this.sqlState = init.sqlState;
    this.transactional = init.transactional;
    this.appliedStatements = init.appliedStatements;
  }
}

/**
 * A signal (SIGINT/SIGTERM: `MigrateOptions.signal`) stopped the migrations between two of
 * them: every migration before it is applied (or reverted) and recorded, the one in progress
 * rolled back, the lock released. Only a migration without a transaction can be stopped
 * between its statements: `partial` says where.
 *
 * @example
 * ```ts
 * import { MigrationInterruptedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new MigrationInterruptedError({ direction: "up", done: 2, total: 5 });
 * assert.equal(error.message, "interrupted: applied 2 of 5; nothing half-applied");
 * ```
 */
export class MigrationInterruptedError extends Error {
  /** Which way. */
  direction: "up" | "down";
  /** How many migrations were applied (or reverted) and recorded. */
  done: number;
  /** How many were to run (undefined: stopped waiting for the lock, before the plan). */
  total: number | undefined;
  /** A migration without a transaction stopped between its statements, if any. */
  partial: { id: string; statements: number; of: number } | undefined;

  /**
   * Builds the error.
   *
   * @param init Which way, how many ran of how many, a migration stopped halfway, or what
   *   it was waiting for before any ran.
   */
  constructor(init: {
    direction: "up" | "down";
    done: number;
    total?: number | undefined;
    partial?: { id: string; statements: number; of: number } | undefined;
    /** With no `total`: what it was waiting for (default: the migration lock). */
    waitingFor?: string;
  }) {
    const verb = init.direction === "up" ? "applied" : "reverted";
    const rest = init.partial
      ? `${init.partial.id} (no transaction) stopped after ${init.partial.statements} of ` +
        `${init.partial.of} statement(s), those stay applied and it is not recorded: finish ` +
        "or undo it by hand before retrying"
      : "nothing half-applied";
    super(
      init.total === undefined
        ? `interrupted while waiting for ${init.waitingFor ?? "the migration lock"}: nothing ran`
        : `interrupted: ${verb} ${init.done} of ${init.total}; ${rest}`,
    );
    this.name = "MigrationInterruptedError";
    this.direction = init.direction;
    this.done = init.done;
    this.total = init.total;
    this.partial = init.partial;
  }
}

/** What {@linkcode LintBlockedError} needs of a lint finding. */
export interface BlockingFinding {
  /** Rule id. */
  rule: string;
  /** File. */
  file: string;
  /** 1-based line. */
  line: number;
}

/**
 * Pending migrations contain risky DDL without a reviewed override, and the caller asked
 * for risky DDL to block (production). Nothing was run.
 *
 * @example
 * ```ts
 * import { LintBlockedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new LintBlockedError([{ rule: "drop-column", file: "m/0002_x.up.sql", line: 3 }]);
 * assert.match(error.message, /m\/0002_x\.up\.sql:3 drop-column/);
 * ```
 */
export class LintBlockedError extends Error {
  /** The blocking findings. */
  findings: BlockingFinding[];

  /**
   * Builds the error.
   *
   * @param findings The blocking findings.
   */
  constructor(findings: BlockingFinding[]) {
    super(
      `Cannot migrate: risky DDL without a reviewed override: ${
        findings.map((f) => `${f.file}:${f.line} ${f.rule}`).join(", ")
      }: make the change safe, or add -- ${MIGRATION_DIRECTIVE}:lint-ignore <rule> reason="..." reviewed-by="..." to the file's header`,
    );
    this.name = "LintBlockedError";
    this.findings = findings;
  }
}
