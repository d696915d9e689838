/**
 * The PostgreSQL server adapter, over the `postgres` driver (porsager).
 * @module
 */

import postgres from "postgres";
import type { Database, Queryable } from "./database.ts";
import { redactUrl } from "./database.ts";
import { type ConnectionFailure, DatabaseConnectionError } from "./errors.ts";

/** Driver-level error fields we read. */
interface DriverError {
  code?: string;
  message?: string;
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

function classify(error: DriverError): ConnectionFailure {
  const code = error.code ?? "";
  if (UNREACHABLE.has(code)) return "unreachable";
  if (code === "28P01" || code === "28000") return "authentication";
  if (code === "3D000") return "unknown_database";
  return "other";
}

/**
 * Opens a server connection (one session) and checks it with `SELECT 1`.
 *
 * @param url The connection URL.
 * @param options Timeout and application name.
 * @returns The database.
 */
export async function openPostgres(
  url: string,
  options: { connectTimeoutSeconds: number; applicationName: string },
): Promise<Database> {
  const target = redactUrl(url);
  const password = decodeURIComponent(new URL(url).password);
  const scrub = (text: string) => password.length >= 3 ? text.split(password).join("***") : text;
  const sql = postgres(url, {
    max: 1,
    connect_timeout: options.connectTimeoutSeconds,
    idle_timeout: 0,
    fetch_types: false,
    prepare: false,
    onnotice: () => {},
    connection: { application_name: options.applicationName },
  });
  try {
    await sql.unsafe("SELECT 1");
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    const e = error as DriverError;
    const reason = classify(e);
    const hint = reason === "unreachable"
      ? `the server is unreachable (${e.code}${e.message ? `: ${e.message}` : ""})`
      : reason === "authentication"
      ? `the login was refused (${e.message ?? e.code}): check the user and password`
      : reason === "unknown_database"
      ? `${e.message ?? "the database does not exist"}`
      : `${e.message ?? String(error)}`;
    throw new DatabaseConnectionError(target, reason, scrub(hint));
  }
  const wrap = (run: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const rows = await run.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
      return [...rows] as T[];
    },
    async execute(text: string, signal?: AbortSignal): Promise<void> {
      const query = run.unsafe(text);
      const cancel = () => void query.cancel();
      signal?.addEventListener("abort", cancel, { once: true });
      try {
        await query;
      } finally {
        signal?.removeEventListener("abort", cancel);
      }
    },
  });
  const base = wrap(sql);
  return {
    engine: "postgres",
    target,
    query: base.query,
    execute: base.execute,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return await sql.begin((tx) => fn(wrap(tx))) as T;
    },
    async tryAdvisoryLock(key: bigint): Promise<boolean> {
      const [row] = await sql.unsafe("SELECT pg_try_advisory_lock($1::int8) AS ok", [
        key.toString(),
      ]);
      return row?.ok === true;
    },
    async advisoryUnlock(key: bigint): Promise<void> {
      await sql.unsafe("SELECT pg_advisory_unlock($1::int8)", [key.toString()]);
    },
    async close(): Promise<void> {
      await sql.end({ timeout: 5 });
    },
  };
}
