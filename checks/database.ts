/**
 * Database checks, through the `database` capability ({@linkcode DatabaseProbe}): the
 * runner's main thread holds the PostgreSQL client, and a stage reaches it with
 * `ctx.use<DatabaseProbe>("database")`. Connectivity and latency, connection count
 * against the pool's size, schema version (`schema_migrations`), query latency.
 * @module
 */
import type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import { round } from "../lib/probes/http.ts";
import { describeError } from "../lib/probes/timeout.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

/**
 * What a stage can ask of the database. The runner provides it on the main thread
 * (with the `postgres` driver); stage code only sees this interface.
 */
export interface DatabaseProbe {
  /** Runs a trivial query; returns the round trip and the server's version string. */
  ping(): Promise<{ latencyMs: number; serverVersion: string }>;
  /** Runs one SQL statement (no parameters) and returns its rows. */
  query(sql: string): Promise<Record<string, unknown>[]>;
}

/** Options every database check takes. */
export interface DatabaseCheckOptions extends CommonCheckOptions {
  /** The capability's resource name (default `"database"`). */
  readonly resource?: string;
}

async function withProbe(
  ctx: StageContext,
  options: DatabaseCheckOptions,
  use: (probe: DatabaseProbe) => Promise<CheckOutcome>,
): Promise<CheckOutcome> {
  const resource = options.resource ?? "database";
  try {
    return await use(ctx.use<DatabaseProbe>(resource));
  } catch (err) {
    const reason = describeError(err);
    return fail(`Database check failed: ${reason}`, { resource, error: reason });
  }
}

/**
 * The database answers, within a latency bound (the seed's `pg_isready`).
 *
 * @param options `maxLatencyMs` (default 1 000), resource, name, required.
 * @returns The check; evidence: latencyMs, serverVersion.
 *
 * @example
 * ```ts
 * import { databaseConnectivity } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.equal(databaseConnectivity().name, "Database connectivity");
 * ```
 */
export function databaseConnectivity(
  options: DatabaseCheckOptions & { readonly maxLatencyMs?: number } = {},
): Check {
  const maxLatencyMs = options.maxLatencyMs ?? 1_000;
  return {
    name: options.name ?? "Database connectivity",
    required: options.required ?? true,
    run: (ctx) =>
      withProbe(ctx, options, async (probe) => {
        const { latencyMs, serverVersion } = await probe.ping();
        const evidence = { latencyMs: round(latencyMs), serverVersion, maxLatencyMs };
        if (latencyMs > maxLatencyMs) {
          return fail(
            `Database answered in ${round(latencyMs)} ms (limit ${maxLatencyMs} ms)`,
            evidence,
          );
        }
        return pass(`Database answered in ${round(latencyMs)} ms`, evidence);
      }),
  };
}

/**
 * The number of connections to the current database (`pg_stat_activity`) is below a
 * limit, e.g. the environment's `database.connection_pool.max_size`.
 *
 * @param options `maxConnections` (required), resource, name, required.
 * @returns The check; evidence: connections, maxConnections, serverMaxConnections.
 *
 * @example
 * ```ts
 * import { databaseConnectionPool } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.equal(databaseConnectionPool({ maxConnections: 20 }).name, "Database connection pool");
 * ```
 */
export function databaseConnectionPool(
  options: DatabaseCheckOptions & { readonly maxConnections: number },
): Check {
  if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) {
    throw new RangeError(
      `Cannot create check "Database connection pool": maxConnections must be a positive integer, got ${options.maxConnections}`,
    );
  }
  return {
    name: options.name ?? "Database connection pool",
    required: options.required ?? true,
    run: (ctx) =>
      withProbe(ctx, options, async (probe) => {
        const rows = await probe.query(
          "SELECT count(*)::int AS connections, " +
            "current_setting('max_connections')::int AS server_max " +
            "FROM pg_stat_activity WHERE datname = current_database()",
        );
        const connections = Number(rows[0]?.connections);
        const evidence = {
          connections,
          maxConnections: options.maxConnections,
          serverMaxConnections: Number(rows[0]?.server_max),
        };
        if (!Number.isFinite(connections)) {
          return fail("pg_stat_activity returned no connection count", evidence);
        }
        if (connections >= options.maxConnections) {
          return fail(
            `Database has ${connections} connections (limit below ${options.maxConnections})`,
            evidence,
          );
        }
        return pass(
          `Database has ${connections} connections (limit below ${options.maxConnections})`,
          evidence,
        );
      }),
  };
}

/**
 * The schema is migrated: `schema_migrations` exists and its highest version is the
 * expected one (or at least `minimum`). Without either, any applied version passes.
 *
 * @param options `expected`, `minimum`, resource, name, required.
 * @returns The check; evidence: version, name, applied (count), appliedAt.
 *
 * @example
 * ```ts
 * import { databaseSchemaVersion } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.equal(databaseSchemaVersion({ expected: 7 }).name, "Database schema version");
 * ```
 */
export function databaseSchemaVersion(
  options: DatabaseCheckOptions & {
    readonly expected?: number | bigint;
    readonly minimum?: number | bigint;
  } = {},
): Check {
  return {
    name: options.name ?? "Database schema version",
    required: options.required ?? true,
    run: (ctx) =>
      withProbe(ctx, options, async (probe) => {
        const present = await probe.query(
          "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
        );
        if (present[0]?.present !== true) {
          return fail("Table schema_migrations does not exist: no migration has run", {
            present: false,
          });
        }
        const rows = await probe.query(
          "SELECT version::text AS version, name, applied_at::text AS applied_at, " +
            "(SELECT count(*)::int FROM schema_migrations) AS applied " +
            "FROM schema_migrations ORDER BY version DESC LIMIT 1",
        );
        const top = rows[0];
        if (!top) return fail("Table schema_migrations is empty", { applied: 0 });
        const version = BigInt(String(top.version));
        const evidence: Record<string, unknown> = {
          version: String(version),
          name: top.name,
          applied: Number(top.applied),
          appliedAt: top.applied_at,
        };
        if (options.expected !== undefined) {
          evidence.expected = String(options.expected);
          if (version !== BigInt(options.expected)) {
            return fail(
              `Schema version is ${version}, expected ${options.expected}`,
              evidence,
            );
          }
        }
        if (options.minimum !== undefined) {
          evidence.minimum = String(options.minimum);
          if (version < BigInt(options.minimum)) {
            return fail(
              `Schema version is ${version}, older than the minimum ${options.minimum}`,
              evidence,
            );
          }
        }
        return pass(`Schema version is ${version} (${top.name})`, evidence);
      }),
  };
}

/**
 * A query completes within a bound (the seed: `SELECT COUNT(*) FROM audio_files` under
 * 1 s). Runs it `samples` times and judges the median.
 *
 * @param options `sql` (default `SELECT 1`), `maxLatencyMs` (default 1 000), `samples`
 *   (default 3), resource, name, required.
 * @returns The check; evidence: sql, samplesMs, medianMs, maxLatencyMs.
 *
 * @example
 * ```ts
 * import { databasePerformance } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.equal(databasePerformance().name, "Database performance");
 * ```
 */
export function databasePerformance(
  options: DatabaseCheckOptions & {
    readonly sql?: string;
    readonly maxLatencyMs?: number;
    readonly samples?: number;
  } = {},
): Check {
  const sql = options.sql ?? "SELECT 1";
  const maxLatencyMs = options.maxLatencyMs ?? 1_000;
  const samples = Math.max(1, options.samples ?? 3);
  return {
    name: options.name ?? "Database performance",
    required: options.required ?? true,
    run: (ctx) =>
      withProbe(ctx, options, async (probe) => {
        const samplesMs: number[] = [];
        for (let i = 0; i < samples; i++) {
          const t0 = performance.now();
          await probe.query(sql);
          samplesMs.push(round(performance.now() - t0));
        }
        const sorted = [...samplesMs].sort((a, b) => a - b);
        const medianMs = sorted[Math.floor(sorted.length / 2)]!;
        const evidence = { sql, samplesMs, medianMs, maxLatencyMs };
        if (medianMs > maxLatencyMs) {
          return fail(`Query took ${medianMs} ms (median; limit ${maxLatencyMs} ms)`, evidence);
        }
        return pass(`Query took ${medianMs} ms (median of ${samples})`, evidence);
      }),
  };
}
