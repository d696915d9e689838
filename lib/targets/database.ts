/**
 * The database a command outside a run talks to (`deno task migrate`), composed by the
 * same rule as the `database` capability of a run ({@linkcode databaseTarget}):
 * `DATABASE_URL` when set; for the sandbox, the embedded PGlite in its state folder's
 * `pglite/` (the one a deploy with the same `--sandbox-dir` migrates); otherwise the
 * environment file's `database:` section, its password resolved from the process's
 * environment and its `ssl_mode` passed on as `sslmode` (libpq's meaning, which `postgres`
 * follows: `prefer`, the default, uses TLS when the server offers it).
 * @module
 */
import { join } from "node:path";
import { type Environment, MissingSecretError, type SecretRef, secretRefs } from "../config/mod.ts";
import { databaseTarget } from "../capabilities/database.ts";
import type { OpenContext } from "../capabilities/types.ts";
import { type DatabaseTarget, redactUrl } from "../migrate/mod.ts";

export type { DatabaseTarget };

/**
 * Where a command connects, how to describe it, and what to scrub from its output.
 *
 * @example
 * ```ts
 * import type { DatabaseConnection } from "./database.ts";
 * const c: DatabaseConnection = {
 *   target: { pglite: "/tmp/db" },
 *   description: "embedded PGlite in /tmp/db",
 *   source: "sandbox",
 *   secrets: [],
 * };
 * console.assert(c.source === "sandbox");
 * ```
 */
export interface DatabaseConnection {
  /** What to pass to `openDatabase`: a URL or `{ pglite: dir }`. */
  readonly target: DatabaseTarget;
  /** For messages: the URL without its password, or the PGlite folder. */
  readonly description: string;
  /** Where it came from. */
  readonly source: "DATABASE_URL" | "sandbox" | "environment";
  /** The secret values it carries (the password), to scrub from any output. */
  readonly secrets: readonly string[];
}

/** What {@linkcode databaseConnection} needs. */
export interface DatabaseConnectionOptions {
  /**
   * Loads the environment file: called only when neither `DATABASE_URL` nor the sandbox
   * says where the database is.
   */
  readonly loadEnvironment: () => Promise<Environment>;
  /** The sandbox's state folder, for the sandbox's database (undefined: not the sandbox). */
  readonly sandboxDir?: string | undefined;
  /** Reads the process's environment variables (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
}

/**
 * Stands for the environment when `databaseTarget` does not read it (`DATABASE_URL`, the
 * sandbox): the file is then not loaded, so it need not exist nor be valid. Reading it
 * would be a bug here, and says so.
 */
const UNREAD_ENVIRONMENT = new Proxy({}, {
  get(_target, key) {
    throw new Error(`the environment file was not loaded (its ${String(key)} was read)`);
  },
}) as Environment;

/**
 * Works out the database connection of an environment.
 *
 * @param o How to load the environment file, the sandbox's state folder, the process's
 *   environment.
 * @returns The connection (its password registered in `secrets`).
 * @throws {ConfigError} The environment file is unknown or invalid.
 * @throws {MissingSecretError} The password's secret reference is not set here (a
 *   `secret_key_ref` needs a Kubernetes client, which this has not: set `DATABASE_URL`).
 *
 * @example
 * ```ts
 * import { databaseConnection } from "./database.ts";
 * import assert from "node:assert/strict";
 * const c = await databaseConnection({
 *   loadEnvironment: () => Promise.reject(new Error("not read")),
 *   readEnv: (name) => name === "DATABASE_URL" ? "postgres://app:s3cret@db:5432/app" : undefined,
 * });
 * assert.equal(c.source, "DATABASE_URL");
 * assert.deepEqual(c.secrets, ["s3cret"]);
 * const sandbox = await databaseConnection({
 *   loadEnvironment: () => Promise.reject(new Error("not read")),
 *   sandboxDir: "/tmp/sandbox",
 *   readEnv: () => undefined,
 * });
 * assert.deepEqual(sandbox.target, { pglite: "/tmp/sandbox/pglite" });
 * ```
 */
export async function databaseConnection(
  o: DatabaseConnectionOptions,
): Promise<DatabaseConnection> {
  const readEnv = o.readEnv ?? ((name: string) => Deno.env.get(name));
  const source = readEnv("DATABASE_URL")
    ? "DATABASE_URL"
    : o.sandboxDir !== undefined
    ? "sandbox"
    : "environment";
  const env = source === "environment" ? await o.loadEnvironment() : UNREAD_ENVIRONMENT;
  const secrets: string[] = [];
  const ctx: OpenContext = {
    target: o.sandboxDir === undefined ? { kind: "kubernetes" } : {
      kind: "sandbox",
      kubeconfigPath: join(o.sandboxDir, "kubeconfig"),
      stateDir: o.sandboxDir,
    },
    dryRun: false,
    readEnv,
    secret: (ref) => Promise.resolve(fromEnvironment(env, ref, readEnv, secrets)),
    onSecret: (value) => secrets.push(value),
    log: () => {},
  };
  const target = await databaseTarget(env, ctx);
  const description = typeof target === "string"
    ? redactUrl(target)
    : `embedded PGlite in ${target.pglite}`;
  return { target, description, source, secrets };
}

/** A secret reference resolved from the process's environment, or MissingSecretError. */
function fromEnvironment(
  env: Environment,
  ref: SecretRef,
  readEnv: (name: string) => string | undefined,
  secrets: string[],
): string {
  const value = "from_env" in ref ? readEnv(ref.from_env) : undefined;
  if (value) {
    secrets.push(value);
    return value;
  }
  const path = secretRefs(env).find((entry) => entry.ref === ref)?.path ?? "database.password";
  throw new MissingSecretError(env.name, [{
    path,
    ref,
    reason: "from_env" in ref
      ? "is not set (or empty)"
      : "needs a Kubernetes client (none given): set DATABASE_URL",
  }]);
}
