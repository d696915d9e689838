/**
 * `deno task migrate <environment> status|up|down|lint`: the database migrations of an
 * environment. Exit codes: `0` done; `1` a migration failed (rolled back), the database is
 * unreachable, the lock stayed busy, or `lint` found blocking DDL; `2` bad input with nothing
 * changed: usage, environment file, migration files, checksum drift, history that disagrees
 * with the files, wrong credentials or unknown database, risky DDL blocked, a `down` without
 * the confirmation its environment requires, `--sandbox` while `DATABASE_URL` is set; `130`
 * interrupted (SIGINT/SIGTERM): it stops between migrations, the one in progress rolled back,
 * the lock released, and says how many were applied.
 * @module
 */

import { parseArgs } from "node:util";
import { type Environment, loadEnvironment } from "../config/mod.ts";
import {
  ChecksumDriftError,
  DatabaseConnectionError,
  formatFinding,
  formatStatus,
  isBlocking,
  LintBlockedError,
  type LintFinding,
  lintMigrations,
  loadMigrations,
  migrateDown,
  type MigrateResult,
  migrateUp,
  MigrationFileError,
  migrationId,
  MigrationInterruptedError,
  type MigrationRun,
  MigrationStateError,
  migrationStatus,
  openDatabase,
} from "../migrate/mod.ts";
import { MIGRATION_DIRECTIVE, SANDBOX_DIR, TOOL_NAME } from "../product/mod.ts";
import { type DatabaseConnection, databaseConnection } from "../targets/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { actor, ACTOR_ENV } from "../runner/mod.ts";

/**
 * The usage of `migrate`.
 *
 * @example
 * ```ts
 * import { MIGRATE_USAGE } from "./migrate.ts";
 * console.assert(MIGRATE_USAGE.startsWith("usage: deno task migrate"));
 * ```
 */
export const MIGRATE_USAGE =
  `usage: deno task migrate <environment> status|up|down|lint [--to <version>] [--dry-run]
                          [--sandbox [--sandbox-dir <dir>]] [--json] [--dir <migrations>]
                          [--lock-timeout <seconds>] [--confirm <environment>]
                          [--environments-dir <dir>]

  status   what is applied and what is pending (--json for machines)
  up       apply pending migrations (up to --to); lints them first: an environment with
           deployment.require_confirmation refuses risky DDL without a reviewed
           -- ${MIGRATION_DIRECTIVE}:lint-ignore override (the others warn)
  down     revert to --to <version> (0 = everything); one step without --to; in an
           environment with deployment.require_confirmation only with --confirm <environment>
  lint     lint every migration, no database needed; exit 1 on blocking findings

  The database: DATABASE_URL when set; with --sandbox the sandbox's embedded PGlite, in
  pglite/ of its state folder (--sandbox-dir, default ${SANDBOX_DIR}: the one a deploy
  with the same --sandbox-dir migrates; refused while DATABASE_URL is set); otherwise the
  environment file's database: section (its ssl_mode passed on as sslmode).
  Ctrl-C (SIGINT/SIGTERM) stops between migrations, the one in progress rolled back: exit 130.
  Migrations are recorded as applied by ${ACTOR_ENV} when set, else git's user.email, else
  the OS user.`;

class UsageError extends Error {}

const COMMANDS = ["status", "up", "down", "lint"] as const;

interface MigrateArguments {
  readonly envName: string;
  readonly command: (typeof COMMANDS)[number];
  readonly to: number | undefined;
  readonly dryRun: boolean;
  /** The sandbox's state folder with `--sandbox`, else undefined. */
  readonly sandboxDir: string | undefined;
  readonly json: boolean;
  readonly dir: string;
  readonly lockMs: number;
  readonly confirm: string | undefined;
  readonly environmentsDir: string | undefined;
}

function migrateArguments(args: string[]): MigrateArguments {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      sandbox: { type: "boolean", default: false },
      "sandbox-dir": { type: "string" },
      json: { type: "boolean", default: false },
      dir: { type: "string", default: "migrations" },
      "lock-timeout": { type: "string", default: "60" },
      confirm: { type: "string" },
      "environments-dir": { type: "string" },
    },
  });
  const [envName, command, ...extra] = positionals;
  if (envName === undefined || command === undefined || extra.length > 0) {
    throw new UsageError("expected <environment> and a command");
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}": expected status, up, down or lint`);
  }
  const to = values.to === undefined ? undefined : parseVersion(values.to);
  if (to !== undefined && command !== "up" && command !== "down") {
    throw new UsageError(`--to applies to up and down, not ${command}`);
  }
  const lockSeconds = Number(values["lock-timeout"]);
  if (!Number.isFinite(lockSeconds) || lockSeconds < 0) {
    throw new UsageError(
      `--lock-timeout must be a number of seconds, got "${values["lock-timeout"]}"`,
    );
  }
  return {
    envName,
    command: command as MigrateArguments["command"],
    to,
    dryRun: values["dry-run"],
    sandboxDir: sandboxDir(values.sandbox, values["sandbox-dir"]),
    json: values.json,
    dir: values.dir,
    lockMs: lockSeconds * 1000,
    confirm: values.confirm,
    environmentsDir: values["environments-dir"],
  };
}

/** `--sandbox-dir` needs `--sandbox`, and names a folder (PGlite creates a missing one). */
function sandboxDir(sandbox: boolean, dir: string | undefined): string | undefined {
  if (!sandbox) {
    if (dir !== undefined) {
      throw new UsageError("--sandbox-dir needs --sandbox: it is about the sandbox's database");
    }
    return undefined;
  }
  if (dir === undefined) return SANDBOX_DIR;
  if (dir.trim() === "") throw new UsageError(`--sandbox-dir takes a folder, got ""`);
  let isFile = false;
  try {
    isFile = !Deno.statSync(dir).isDirectory;
  } catch {
    // Missing: PGlite creates it.
  }
  if (isFile) throw new UsageError(`--sandbox-dir ${dir} is a file, not a folder`);
  return dir;
}

/**
 * `application_name` of the migrate CLI's session, so that a lock holder named in a message
 * tells a manual migrate from a deploy (whose capability uses `TOOL_NAME`).
 *
 * @example
 * ```ts
 * import { MIGRATE_APPLICATION_NAME } from "./migrate.ts";
 * import { TOOL_NAME } from "../product/mod.ts";
 * console.assert(MIGRATE_APPLICATION_NAME === `${TOOL_NAME}-migrate`);
 * ```
 */
export const MIGRATE_APPLICATION_NAME = `${TOOL_NAME}-migrate`;

/** `--sandbox` with `DATABASE_URL` set would migrate DATABASE_URL's database: refused. */
function checkSandboxTarget(a: MigrateArguments, readEnv: (name: string) => string | undefined) {
  if (a.sandboxDir !== undefined && readEnv("DATABASE_URL")) {
    throw new UsageError(
      "--sandbox is about the sandbox's embedded database, but DATABASE_URL is set (and " +
        "would win: another database, production even): unset DATABASE_URL to migrate the " +
        "sandbox, or drop --sandbox to migrate DATABASE_URL's database",
    );
  }
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`--to must be a version number (e.g. 3 or 0003), got "${text}"`);
  }
  return Number(text);
}

/** A `down` where the environment file requires confirmation needs `--confirm <environment>`. */
function checkConfirmation(a: MigrateArguments, env: Environment): void {
  if (
    a.command === "down" && env.deployment.require_confirmation && !a.dryRun &&
    a.confirm !== a.envName
  ) {
    throw new UsageError(
      `down in ${a.envName} runs destructive scripts and ${env.file} sets ` +
        `deployment.require_confirmation: pass --confirm ${a.envName} (try --dry-run first)`,
    );
  }
}

/**
 * Runs `migrate` and returns the exit code.
 *
 * @param args The arguments after `migrate`.
 * @param io Where to write (a secret of the connection never is).
 * @returns 0, 1, 2, or 130 when `io.signal` stopped it.
 *
 * @example
 * ```ts
 * import { migrateCommand } from "./migrate.ts";
 * const err: string[] = [];
 * const io = { stdout: () => {}, stderr: (t: string) => err.push(t), tty: false, colour: false };
 * console.assert(await migrateCommand(["staging", "sideways"], io) === 2);
 * console.assert(err.join("").includes('unknown command "sideways"'));
 * ```
 */
export async function migrateCommand(args: string[], io: CliIo): Promise<number> {
  let connection: DatabaseConnection | undefined;
  const scrub = (text: string) =>
    (connection?.secrets ?? []).filter((secret) => secret.length >= 3)
      .reduce((scrubbed, secret) => scrubbed.split(secret).join("***"), text);
  const out = (line: string) => io.stdout(`${scrub(line)}\n`);
  const err = (line: string) => io.stderr(`${scrub(line)}\n`);
  try {
    const a = migrateArguments(args);
    checkSandboxTarget(a, (name) => Deno.env.get(name));
    let env: Environment | undefined;
    const loadEnv = async () =>
      env ??= await loadEnvironment(a.envName, a.environmentsDir ? { dir: a.environmentsDir } : {});
    if (a.command === "up" || a.command === "down") checkConfirmation(a, await loadEnv());
    const migrations = await loadMigrations(a.dir);
    if (a.command === "lint") {
      const findings = lintMigrations(migrations);
      if (a.json) out(JSON.stringify({ findings }, null, 2));
      else {
        for (const f of findings) out(formatFinding(f));
        out(`${findings.length} finding(s), ${findings.filter(isBlocking).length} blocking`);
      }
      return findings.some(isBlocking) ? EXIT.failed : EXIT.ok;
    }
    connection = await databaseConnection({ loadEnvironment: loadEnv, sandboxDir: a.sandboxDir });
    const db = await openDatabase(connection.target, {
      lockTimeoutMs: a.lockMs,
      applicationName: MIGRATE_APPLICATION_NAME,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    try {
      if (io.signal?.aborted) {
        throw new MigrationInterruptedError({
          direction: "up",
          done: 0,
          waitingFor: "the database",
        });
      }
      if (a.command === "status") {
        const status = await migrationStatus(db, migrations);
        if (a.json) out(JSON.stringify({ database: connection.description, ...status }, null, 2));
        else out(`database: ${connection.description}\n${formatStatus(status)}`);
        return EXIT.ok;
      }
      const common = {
        dryRun: a.dryRun,
        lockTimeoutMs: a.lockMs,
        appliedBy: await actor(),
        onLockWait: (holder: string | undefined) =>
          err(
            `waiting up to ${a.lockMs / 1000} s for the migration lock${
              holder ? ` held by ${holder}` : ""
            }`,
          ),
        onProgress: (run: MigrationRun) => {
          if (a.json) return;
          const verb = run.direction === "up" ? "applied" : "reverted";
          out(`${verb} ${migrationId(run)} (${run.durationMs} ms)`);
        },
        ...(a.to === undefined ? {} : { to: a.to }),
        ...(io.signal ? { signal: io.signal } : {}),
      };
      if (!a.json) out(`database: ${connection.description}`);
      const lint = (await loadEnv()).deployment.require_confirmation ? "block" : "warn";
      const result = a.command === "up"
        ? await migrateUp(db, migrations, { ...common, lint })
        : await migrateDown(db, migrations, common);
      report(result, a.json, out, err);
      return EXIT.ok;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (error instanceof LintBlockedError) {
      for (const f of error.findings as LintFinding[]) err(formatFinding(f));
    }
    const message = error instanceof Error ? error.message : String(error);
    err(error instanceof MigrationInterruptedError ? message : `error: ${message}`);
    if (error instanceof UsageError || isParseArgsError(error)) err(MIGRATE_USAGE);
    if (error instanceof MigrationInterruptedError) return EXIT.interrupted;
    return exitCode(error);
  }
}

function report(
  result: MigrateResult,
  json: boolean,
  out: (line: string) => void,
  err: (line: string) => void,
): void {
  if (json) {
    out(JSON.stringify(result, null, 2));
    return;
  }
  for (const finding of result.lint) err(`lint: ${formatFinding(finding)}`);
  const show = (v: number | null) => (v === null ? "none" : String(v));
  if (result.dryRun) {
    for (const run of result.migrations) {
      out(
        `-- ${migrationId(run)} (${run.direction}, ${
          run.transactional ? "in a transaction" : "no transaction"
        }): ${run.file}`,
      );
      out(`${run.sql}\n`);
    }
    out(
      `dry run: ${result.migrations.length} migration(s) would run, schema version ${
        show(result.fromVersion)
      } -> ${show(result.toVersion)}; nothing was changed`,
    );
    return;
  }
  out(
    result.migrations.length === 0
      ? `nothing to do: schema version ${show(result.toVersion)}`
      : `schema version ${show(result.fromVersion)} -> ${show(result.toVersion)}`,
  );
}

function isParseArgsError(error: unknown): boolean {
  return (error as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS") === true ||
    (error instanceof TypeError && /parseArgs|option/i.test(error.message));
}

function exitCode(error: unknown): number {
  if (error instanceof DatabaseConnectionError) {
    return error.reason === "unreachable" || error.reason === "other" ? EXIT.failed : EXIT.input;
  }
  if (
    error instanceof UsageError || error instanceof MigrationFileError ||
    error instanceof MigrationStateError || error instanceof ChecksumDriftError ||
    error instanceof LintBlockedError || isParseArgsError(error)
  ) return EXIT.input;
  const name = error instanceof Error ? error.name : "";
  if (name === "ConfigError" || name === "MissingSecretError") return EXIT.input;
  return EXIT.failed;
}

/**
 * The `migrate` command of the CLI.
 *
 * @example
 * ```ts
 * import { MIGRATE_COMMAND } from "./migrate.ts";
 * console.assert(MIGRATE_COMMAND.name === "migrate");
 * ```
 */
export const MIGRATE_COMMAND: Command = {
  name: "migrate",
  summary: "database migrations: status, up, down, lint",
  usage: MIGRATE_USAGE,
  stopsOnSignal: true,
  run: migrateCommand,
};
