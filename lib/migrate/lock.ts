/**
 * The migration lock: a PostgreSQL session-level advisory lock, so two runners never
 * migrate the same database at once.
 * @module
 */

import { delay as wait } from "../async/delay.ts";
import type { Database } from "./database.ts";
import { LockTimeoutError, MigrationInterruptedError } from "./errors.ts";

/** The advisory lock key: the ASCII bytes of `tracktio` as a signed 64-bit integer. */
export const MIGRATION_LOCK_KEY = 0x747261636b74696fn;

/** Options for {@linkcode withMigrationLock}. */
export interface LockOptions {
  /** How long to wait for another runner, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: string | undefined) => void;
  /** Stops the wait when it aborts ({@linkcode MigrationInterruptedError}, nothing run). */
  signal?: AbortSignal;
}

/**
 * Runs `fn` while holding the migration lock. When another session holds it, polls
 * until it is free or `timeoutMs` has passed.
 *
 * @param db The database.
 * @param fn The work.
 * @param options Timeout and wait callback.
 * @returns What `fn` returned.
 * @throws {LockTimeoutError} When the lock stayed busy for `timeoutMs`.
 * @throws {MigrationInterruptedError} When `signal` aborted while waiting (`fn` never ran).
 *
 * @example
 * ```ts ignore
 * import { openDatabase, withMigrationLock } from "./mod.ts";
 * const db = await openDatabase({ pglite: "memory://" });
 * await withMigrationLock(db, () => db.execute("SELECT 1"), { timeoutMs: 5_000 });
 * await db.close();
 * ```
 */
export async function withMigrationLock<T>(
  db: Database,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let waiting = false;
  while (!(await db.tryAdvisoryLock(MIGRATION_LOCK_KEY))) {
    if (!waiting) {
      waiting = true;
      options.onWait?.(await lockHolder(db));
    }
    if (options.signal?.aborted) throw new MigrationInterruptedError({ direction: "up", done: 0 });
    if (Date.now() >= deadline) throw new LockTimeoutError(timeoutMs, await lockHolder(db));
    await wait(Math.min(delay, deadline - Date.now()), { signal: options.signal }).catch(() => {});
    delay = Math.min(delay * 2, 500);
  }
  try {
    return await fn();
  } finally {
    await db.advisoryUnlock(MIGRATION_LOCK_KEY).catch(() => {});
  }
}

/** Describes the session holding the lock, when the server shows it. */
async function lockHolder(db: Database): Promise<string | undefined> {
  if (db.engine === "pglite") return undefined;
  try {
    const key = MIGRATION_LOCK_KEY;
    const rows = await db.query<{ pid: number; app: string | null; who: string | null }>(
      `SELECT a.pid, a.application_name AS app, a.usename::text AS who
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid::text::int8 = $1 AND l.objid::text::int8 = $2 AND a.pid <> pg_backend_pid()
        LIMIT 1`,
      [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return `pid ${row.pid}${row.app ? ` ${row.app}` : ""}${row.who ? ` as ${row.who}` : ""}`;
  } catch {
    return undefined;
  }
}
