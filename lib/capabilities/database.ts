/**
 * The `database` capability: the runner's main thread holds the database connection
 * (PostgreSQL through `postgres`, or the sandbox's embedded PGlite) and a stage that
 * `uses("database")` reaches it through these methods: probes for checks, and the
 * migration engine for the migration stage. Connections open on first use. The stage
 * itself is granted nothing: not the database's host, not its password's variable.
 * @module
 */
import type { Environment } from "../config/types.ts";
import { TOOL_NAME } from "../product/mod.ts";
import { type Capability, type OpenContext, type Opened, proxiedGrant } from "./types.ts";
import {
  type Database,
  type DatabaseTarget,
  loadMigrations,
  migrateUp,
  openDatabase,
} from "../migrate/mod.ts";
import { currentSchemaVersion } from "../migrate/history.ts";

/** What a stage can ask of the database. */
export interface DatabaseCapability {
  /** Round-trip time and server version. */
  ping(): Promise<{ latencyMs: number; serverVersion: string }>;
  /** Runs a read-only query and returns its rows (for checks). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** The highest applied migration version, or null. */
  schemaVersion(): Promise<number | null>;
  /** Lint findings for the migrations in `dir` that are not applied yet. */
  lint(dir: string): Promise<unknown[]>;
  /** Applies pending migrations from `dir` (the engine: lock, transactions, history). */
  migrateUp(
    dir: string,
    options: { lint: "block" | "warn"; dryRun?: boolean; appliedBy?: string },
  ): Promise<{
    fromVersion: number | null;
    toVersion: number | null;
    migrations: { version: number; name: string; durationMs: number; transactional: boolean }[];
    lint: unknown[];
  }>;
}

/**
 * Makes the database capability for a target. Read-only queries run in a transaction
 * that is always rolled back.
 *
 * @param target What `openDatabase` takes: a URL or `{ pglite: dir }`.
 * @param options `eager`: start opening now rather than at the first call (the embedded
 *   database's start, ~0.5–1 s, then overlaps what the run does before its first check);
 *   a failure is still reported by the first call.
 * @returns The capability and a `close()` for the runner.
 *
 * @example
 * ```ts ignore
 * import { databaseCapability } from "./database.ts";
 * const db = databaseCapability({ pglite: "memory://" }, { eager: true });
 * console.log(await db.ping());
 * await db.close();
 * ```
 */
export function databaseCapability(
  target: DatabaseTarget,
  options: { readonly eager?: boolean } = {},
): DatabaseCapability & { close(): Promise<void> } {
  let db: Promise<Database> | undefined;
  const open = () => db ??= openDatabase(target, { applicationName: TOOL_NAME });
  if (options.eager) open().catch(() => {}); // the first call reports it
  return {
    async ping() {
      const d = await open();
      const t0 = performance.now();
      const rows = await d.query<{ version: string }>("SELECT version() AS version");
      return { latencyMs: performance.now() - t0, serverVersion: String(rows[0]?.version ?? "") };
    },
    async query(sql) {
      const d = await open();
      const rollback = new Error("read-only");
      let rows: Record<string, unknown>[] = [];
      try {
        await d.transaction(async (tx) => {
          await tx.execute("SET TRANSACTION READ ONLY");
          rows = await tx.query(sql);
          throw rollback;
        });
      } catch (err) {
        if (err !== rollback) throw err;
      }
      return rows;
    },
    async schemaVersion() {
      return await currentSchemaVersion(await open());
    },
    async lint(dir) {
      const plan = await migrateUp(await open(), await loadMigrations(dir), {
        dryRun: true,
        lint: "warn",
      });
      return plan.lint.map((f) => ({ ...f }));
    },
    async migrateUp(dir, options) {
      const d = await open();
      const result = await migrateUp(d, await loadMigrations(dir), {
        lint: options.lint,
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.appliedBy ? { appliedBy: options.appliedBy } : {}),
      });
      return {
        fromVersion: result.fromVersion,
        toVersion: result.toVersion,
        migrations: result.migrations.map((m) => ({
          version: m.version,
          name: m.name,
          durationMs: m.durationMs,
          transactional: m.transactional,
        })),
        lint: result.lint.map((f) => ({ ...f })),
      };
    },
    async close() {
      // A database that never opened has nothing to close (its error went to its caller).
      if (db) await db.then((d) => d.close(), () => {});
    },
  };
}

/**
 * What the database capability connects to: `DATABASE_URL` when set, else the sandbox's
 * embedded database for a sandbox run, else the environment's `database:` section with
 * its password resolved (from the environment, or a Kubernetes Secret). The password is
 * registered for redaction before it is used.
 *
 * @param env The environment.
 * @param ctx The opening context.
 * @returns A URL or `{ pglite: dir }`.
 * @throws {Error} When the password's reference resolves to nothing here.
 *
 * @example
 * ```ts ignore
 * import { databaseTarget } from "./database.ts";
 * await databaseTarget(env, ctx); // "postgres://app:…@db.example.internal:5432/app?sslmode=require"
 * ```
 */
export async function databaseTarget(env: Environment, ctx: OpenContext): Promise<DatabaseTarget> {
  const url = ctx.readEnv("DATABASE_URL");
  if (url) {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) ctx.onSecret(password);
    } catch { /* openDatabase reports a malformed URL */ }
    return url;
  }
  if (ctx.target.kind === "sandbox") return { pglite: `${ctx.target.stateDir}/pglite` };
  const password = await ctx.secret(env.database.password);
  if (!password) {
    throw new Error(
      "the database password's secret reference resolved to nothing: set it, or DATABASE_URL",
    );
  }
  const u = new URL(
    `postgres://${env.database.host}:${env.database.port}/${env.database.database}`,
  );
  u.username = env.database.user;
  u.password = password;
  u.searchParams.set("sslmode", driverSslMode(env.database.ssl_mode));
  return u.href;
}

/**
 * The `sslmode` to give the `postgres` driver for an environment's `ssl_mode` (libpq's
 * names). All pass through but `allow`, which that driver treats as TLS-or-fail. libpq's
 * `allow` tries a plain connection first and TLS only if the server refuses it; the
 * driver's `prefer` asks for TLS and goes plain when the server has none. `prefer` is
 * chosen over leaving `sslmode` out (plain only): it connects wherever libpq's `allow`
 * does — a server without TLS in plain, a server that requires TLS over TLS — and
 * differs only by using TLS when the server offers both, which is never less safe.
 */
function driverSslMode(mode: string): string {
  return mode === "allow" ? "prefer" : mode;
}

/**
 * The `database` registry entry. Its grant is empty (`proxied`): stages reach the
 * database only through `ctx.use("database")`, so their Worker may not connect to its
 * host nor read its password's variable.
 *
 * @example
 * ```ts ignore
 * import { database } from "./database.ts";
 * database.grant(env); // { net: [], env: [], read: [], proxied: true }
 * const opened = await database.open!(env, ctx);
 * await opened.api.ping();
 * await opened.close?.();
 * ```
 */
export const database: Capability<DatabaseCapability> = {
  name: "database",
  summary:
    "the environment's PostgreSQL (or the sandbox's), held by the runner: probes, migrations",
  grant: proxiedGrant,
  secrets(env, ctx) {
    // DATABASE_URL carries its own password; the sandbox's database needs none.
    if (ctx.readEnv("DATABASE_URL") || ctx.target.kind === "sandbox") return [];
    return [{ what: "the database password", ref: env.database.password }];
  },
  async open(env, ctx): Promise<Opened<DatabaseCapability>> {
    // The sandbox's embedded database starts while the run gets going; a server is
    // connected at its first use.
    const eager = ctx.target.kind === "sandbox" && !ctx.readEnv("DATABASE_URL");
    const { close, ...api } = databaseCapability(await databaseTarget(env, ctx), { eager });
    return { api, close };
  },
};
