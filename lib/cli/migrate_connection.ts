/**
 * Which database the `migrate` command talks to: `DATABASE_URL` when set; with `--sandbox`,
 * the sandbox's embedded PGlite (`pglite/` in its state folder); otherwise the environment
 * file's `database:` section.
 * @module
 */

import type { Environment } from "../config/mod.ts";
import { resolveSecrets } from "../config/mod.ts";
import { type DatabaseTarget, redactUrl } from "../migrate/mod.ts";
import { SANDBOX_DIR } from "../product/mod.ts";

/**
 * Where the command connects, and how to describe it.
 *
 * @example
 * ```ts
 * import type { CliConnection } from "./migrate_connection.ts";
 * const c: CliConnection = { target: { pglite: "/tmp/db" }, description: "PGlite", source: "sandbox", secret: "" };
 * console.assert(c.source === "sandbox");
 * ```
 */
export interface CliConnection {
  /** What to pass to `openDatabase`. */
  target: DatabaseTarget;
  /** For messages: the URL without its password, or the PGlite folder. */
  description: string;
  /** Where it came from. */
  source: "DATABASE_URL" | "sandbox" | "environment";
  /** The password, to scrub from any output (empty when none). */
  secret: string;
}

/**
 * The folder of the sandbox's embedded database, relative to the working directory.
 *
 * @example
 * ```ts
 * import { SANDBOX_PGLITE_DIR } from "./migrate_connection.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * console.assert(SANDBOX_PGLITE_DIR === `${SANDBOX_DIR}/pglite`);
 * ```
 */
export const SANDBOX_PGLITE_DIR = `${SANDBOX_DIR}/pglite`;

/**
 * Works out the connection for an environment.
 *
 * @param loadEnv Loads the environment file (only when neither `DATABASE_URL` nor `--sandbox`
 *   says where the database is).
 * @param options `--sandbox` and the process environment.
 * @returns The connection.
 * @throws {ConfigError} The environment file is unknown or invalid.
 * @throws {MissingSecretError} The password's secret reference cannot be resolved.
 *
 * @example
 * ```ts
 * import { resolveConnection } from "./migrate_connection.ts";
 * const c = await resolveConnection(() => Promise.reject(new Error("not read")), {
 *   sandbox: false,
 *   getEnv: (name) => name === "DATABASE_URL" ? "postgres://app:s3cret@db:5432/app" : undefined,
 * });
 * console.assert(c.source === "DATABASE_URL" && c.secret === "s3cret");
 * ```
 */
export async function resolveConnection(
  loadEnv: () => Promise<Environment>,
  options: { sandbox: boolean; getEnv: (name: string) => string | undefined },
): Promise<CliConnection> {
  const fromEnv = options.getEnv("DATABASE_URL");
  if (fromEnv !== undefined && fromEnv !== "") {
    let secret = "";
    try {
      secret = decodeURIComponent(new URL(fromEnv).password);
    } catch {
      // openDatabase reports the invalid URL.
    }
    return { target: fromEnv, description: redactUrl(fromEnv), source: "DATABASE_URL", secret };
  }
  if (options.sandbox) {
    return {
      target: { pglite: SANDBOX_PGLITE_DIR },
      description: `embedded PGlite in ${SANDBOX_PGLITE_DIR}`,
      source: "sandbox",
      secret: "",
    };
  }
  const env = await loadEnv();
  const db = env.database;
  const onlyDatabase = {
    name: env.name,
    database: { password: db.password },
  } as unknown as Environment;
  const secrets = await resolveSecrets(onlyDatabase, { env: options.getEnv });
  const password = secrets.get("database.password") ?? "";
  const url = new URL("postgres://localhost");
  url.hostname = db.host;
  url.port = String(db.port);
  url.username = db.user;
  url.password = password;
  url.pathname = `/${db.database}`;
  if (db.ssl_mode !== "disable" && db.ssl_mode !== "allow" && db.ssl_mode !== "prefer") {
    url.searchParams.set("sslmode", db.ssl_mode);
  }
  const text = url.toString();
  return { target: text, description: redactUrl(text), source: "environment", secret: password };
}
