/**
 * Which database the `migrate` CLI talks to: `DATABASE_URL` when set; with `--sandbox`,
 * the embedded PGlite under `.tracktion/sandbox/pglite/`; otherwise the environment
 * file's `database:` section.
 * @module
 */

import { loadEnvironment, resolveSecrets } from "../config/mod.ts";
import type { Environment } from "../config/mod.ts";
import type { DatabaseTarget } from "./database.ts";
import { redactUrl } from "./database.ts";

/** Where the CLI connects, and how to describe it. */
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

/** The folder of the sandbox's embedded database, relative to the working directory. */
export const SANDBOX_PGLITE_DIR = ".tracktion/sandbox/pglite";

/**
 * Works out the connection for an environment.
 *
 * @param envName The environment's name.
 * @param options `--sandbox`, the process environment, and the environments folder.
 * @returns The connection.
 * @throws {ConfigError} The environment file is unknown or invalid.
 * @throws {MissingSecretError} The password's secret reference cannot be resolved.
 */
export async function resolveConnection(
  envName: string,
  options: {
    sandbox: boolean;
    getEnv: (name: string) => string | undefined;
    environmentsDir?: string;
  },
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
  const env = await loadEnvironment(
    envName,
    options.environmentsDir === undefined ? {} : { dir: options.environmentsDir },
  );
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
