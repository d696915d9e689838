/**
 * The small database interface the engine needs, over a real PostgreSQL server
 * (`postgres`, porsager) or an embedded one (PGlite). Drivers load lazily, so importing
 * this module stays light.
 * @module
 */

import { DatabaseConnectionError } from "./errors.ts";
import { TOOL_NAME } from "../product/mod.ts";
import { leaseShared } from "./embedded.ts";
import { keptSession } from "./kept.ts";

/** Running SQL, inside or outside a transaction. */
export interface Queryable {
  /**
   * Runs one statement with `$1`-style parameters and returns its rows.
   *
   * @param sql The statement.
   * @param params Its parameters.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs one statement without parameters through the simple protocol (any DDL,
   * including `CREATE INDEX CONCURRENTLY` outside a transaction).
   *
   * @param sql The statement.
   * @param signal When it aborts, a PostgreSQL server is asked to cancel the statement (it
   *   then fails with SQLSTATE 57014); PGlite runs it to the end.
   */
  execute(sql: string, signal?: AbortSignal): Promise<void>;
}

/** An open database. Use one at a time: calls are serialised on one session. */
export interface Database extends Queryable {
  /** Which engine. */
  readonly engine: "postgres" | "pglite";
  /** The target for messages, password redacted (`postgres://app:***@db:5432/app`). */
  readonly target: string;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws.
   *
   * @param fn The work.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Tries once to take a session-level advisory lock.
   *
   * @param key The lock's key.
   * @returns True when taken.
   */
  tryAdvisoryLock(key: bigint): Promise<boolean>;
  /**
   * Releases a session-level advisory lock taken by {@linkcode Database.tryAdvisoryLock}.
   *
   * @param key The lock's key.
   */
  advisoryUnlock(key: bigint): Promise<void>;
  /** Closes the connection (or the embedded database). */
  close(): Promise<void>;
}

/** Where to connect: a `postgres://` URL, or a PGlite data folder (`memory://` for none). */
export type DatabaseTarget = string | { pglite: string };

/** Options for {@linkcode openDatabase}. */
export interface OpenDatabaseOptions {
  /** Seconds to wait for a server connection. Default 10. */
  connectTimeoutSeconds?: number;
  /** `application_name` shown in `pg_stat_activity`. Default: the tool's name (`TOOL_NAME`). */
  applicationName?: string;
  /**
   * PGlite folders only: how long to wait, in milliseconds, while another process has
   * the same folder open (PGlite is single-process). Default 60 000.
   */
  lockTimeoutMs?: number;
  /** PGlite folders only: stops that wait (`MigrationInterruptedError`). */
  signal?: AbortSignal;
  /**
   * PGlite only: where pre-initialised data folders are kept, so that a new database is a
   * copy of one instead of running `initdb` (2.5–8 s); default `$XDG_CACHE_HOME` or
   * `~/.cache`, under the tool's name. `false`: `initdb` for every new database.
   */
  templateCache?: string | false;
}

/**
 * Replaces the password of a connection URL by `***`.
 *
 * @param url A connection URL.
 * @returns The URL without its password; `<invalid URL>` when it does not parse.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.equal(redactUrl("postgres://app:s3cret@db:5432/app"), "postgres://app:***@db:5432/app");
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token/i.test(key)) parsed.searchParams.set(key, "***");
    }
    return parsed.toString();
  } catch {
    return "<invalid URL>";
  }
}

/**
 * Opens a database and checks that it answers. A URL opens a PostgreSQL server
 * through the `postgres` driver with a single session (so advisory locks and
 * transactions share it); `{ pglite: dir }` opens an embedded PGlite persisted in `dir`
 * (created if missing, from a pre-initialised template; `memory://` keeps it in memory).
 * While `shareEmbeddedDatabases` (embedded.ts) is on, a folder is not opened: a shared, reset
 * in-memory PGlite is leased instead; while `keepEmbeddedDatabasesOpen` (kept.ts) is on, a
 * folder's PGlite is started once and each open is a session of it.
 *
 * @param target A `postgres://` URL or `{ pglite: dir }`.
 * @param options Connection options.
 * @returns The open database.
 * @throws {DatabaseConnectionError} When the URL is invalid, the server is unreachable,
 * the login is refused or the database does not exist (the message never holds the password).
 * @throws {LockTimeoutError} When another process kept a PGlite folder open too long.
 * @throws {MigrationInterruptedError} When `signal` aborted while waiting for that folder.
 *
 * @example
 * ```ts ignore
 * import { openDatabase } from "./database.ts";
 * const db = await openDatabase({ pglite: "memory://" });
 * console.log(await db.query("SELECT 1 AS one"));
 * await db.close();
 * ```
 */
export async function openDatabase(
  target: DatabaseTarget,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  if (typeof target !== "string") {
    const folder = target.pglite.startsWith("memory://") ? undefined : target.pglite;
    const lease = folder === undefined ? undefined : leaseShared(folder);
    if (lease) return await lease;
    const start = async () => {
      const { openPglite } = await import("./_pglite.ts");
      return await openPglite(target.pglite, {
        lockTimeoutMs: options.lockTimeoutMs ?? 60_000,
        signal: options.signal,
        templateCache: options.templateCache,
      });
    };
    return await (folder === undefined ? undefined : keptSession(folder, start)) ?? await start();
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new DatabaseConnectionError("<invalid URL>", "invalid_url", "the URL does not parse");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new DatabaseConnectionError(
      redactUrl(target),
      "invalid_url",
      `expected a postgres:// or postgresql:// URL, got ${url.protocol}//`,
    );
  }
  const { openPostgres } = await import("./_postgres.ts");
  return await openPostgres(target, {
    connectTimeoutSeconds: options.connectTimeoutSeconds ?? 10,
    applicationName: options.applicationName ?? TOOL_NAME,
  });
}
