/**
 * The `migrate` command:
 *
 * ```
 * deno task migrate <environment> status|up|down|lint [--to <version>] [--dry-run]
 *                   [--sandbox] [--json] [--dir <migrations>] [--lock-timeout <seconds>]
 *                   [--confirm production]
 * ```
 *
 * Exit codes: `0` done; `1` a migration failed (rolled back), the database is
 * unreachable, the lock stayed busy, or `lint` found blocking DDL; `2` bad input with
 * nothing changed: usage, environment file, migration files, checksum drift, history
 * that disagrees with the files, wrong credentials or unknown database, risky DDL
 * blocked in production.
 * @module
 */

import { parseArgs } from "node:util";
import { type CliConnection, resolveConnection } from "./_cli_connection.ts";
import { openDatabase } from "./database.ts";
import {
  ChecksumDriftError,
  DatabaseConnectionError,
  LintBlockedError,
  MigrationFileError,
  MigrationStateError,
} from "./errors.ts";
import { formatFinding, isBlocking, type LintFinding, lintMigrations } from "./lint.ts";
import { migrateDown, type MigrateResult, migrateUp, type MigrationRun } from "./migrate.ts";
import { loadMigrations, migrationId } from "./migration_files.ts";
import { formatStatus, migrationStatus } from "./status.ts";

const USAGE =
  `usage: deno task migrate <environment> status|up|down|lint [--to <version>] [--dry-run]
                          [--sandbox] [--json] [--dir <migrations>] [--lock-timeout <seconds>]
                          [--confirm production]

  status   what is applied and what is pending (--json for machines)
  up       apply pending migrations (up to --to); lints them first: production refuses
           risky DDL without a reviewed -- tracktion:lint-ignore override
  down     revert to --to <version> (0 = everything); one step without --to;
           in production only with --confirm production
  lint     lint every migration, no database needed; exit 1 on blocking findings

  The database: DATABASE_URL when set; with --sandbox an embedded PGlite in
  .tracktion/sandbox/pglite/; otherwise the environment file's database: section.`;

/** Options for {@linkcode main}: the process's surroundings, replaceable in tests. */
export interface MainOptions {
  /** Reads an environment variable. Default `Deno.env.get`. */
  getEnv?: (name: string) => string | undefined;
  /** Writes a line to standard output. */
  out?: (line: string) => void;
  /** Writes a line to standard error. */
  err?: (line: string) => void;
}

class UsageError extends Error {}

/**
 * Runs the `migrate` command.
 *
 * @param args The arguments after `migrate`.
 * @param options Where to read the environment and write output.
 * @returns The exit code.
 */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  const getEnv = options.getEnv ?? ((name: string) => Deno.env.get(name));
  let connection: CliConnection | undefined;
  const scrub = (text: string) =>
    connection && connection.secret.length >= 3 ? text.split(connection.secret).join("***") : text;
  const out = (line: string) => (options.out ?? console.log)(scrub(line));
  const err = (line: string) => (options.err ?? console.error)(scrub(line));
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        to: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        sandbox: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        dir: { type: "string", default: "migrations" },
        "lock-timeout": { type: "string", default: "60" },
        confirm: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      out(USAGE);
      return 0;
    }
    const [envName, command, ...extra] = positionals;
    if (envName === undefined || command === undefined || extra.length > 0) {
      throw new UsageError("expected <environment> and a command");
    }
    if (!["status", "up", "down", "lint"].includes(command)) {
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
    if (
      command === "down" && envName === "production" && !values["dry-run"] &&
      values.confirm !== envName
    ) {
      throw new UsageError(
        "down in production runs destructive scripts: pass --confirm production (try --dry-run first)",
      );
    }
    const migrations = await loadMigrations(values.dir);

    if (command === "lint") {
      const findings = lintMigrations(migrations);
      if (values.json) out(JSON.stringify({ findings }, null, 2));
      else {
        for (const f of findings) out(formatFinding(f));
        out(`${findings.length} finding(s), ${findings.filter(isBlocking).length} blocking`);
      }
      return findings.some(isBlocking) ? 1 : 0;
    }

    connection = await resolveConnection(envName, { sandbox: values.sandbox, getEnv });
    const db = await openDatabase(connection.target, { lockTimeoutMs: lockSeconds * 1000 });
    try {
      if (command === "status") {
        const status = await migrationStatus(db, migrations);
        if (values.json) {
          out(JSON.stringify({ database: connection.description, ...status }, null, 2));
        } else out(`database: ${connection.description}\n${formatStatus(status)}`);
        return 0;
      }
      const common = {
        dryRun: values["dry-run"],
        lockTimeoutMs: lockSeconds * 1000,
        appliedBy: getEnv("TRACKTION_ACTOR") ?? getEnv("USER") ?? getEnv("LOGNAME") ?? "unknown",
        onLockWait: (holder: string | undefined) =>
          err(
            `waiting up to ${lockSeconds} s for the migration lock${
              holder ? ` held by ${holder}` : ""
            }`,
          ),
        onProgress: (run: MigrationRun) => {
          if (!values.json) {
            out(
              `${run.direction === "up" ? "applied" : "reverted"} ${
                migrationId(run)
              } (${run.durationMs} ms)`,
            );
          }
        },
        ...(to === undefined ? {} : { to }),
      };
      if (!values.json) out(`database: ${connection.description}`);
      const result = command === "up"
        ? await migrateUp(db, migrations, {
          ...common,
          lint: envName === "production" ? "block" : "warn",
        })
        : await migrateDown(db, migrations, common);
      report(result, values.json, out, err);
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    const code = exitCode(error);
    if (error instanceof LintBlockedError) {
      for (const f of error.findings as LintFinding[]) err(formatFinding(f));
    }
    const message = error instanceof Error ? error.message : String(error);
    err(`error: ${message}`);
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && /parseArgs|option/i.test(message))
    ) {
      err(USAGE);
    }
    return code;
  }
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`--to must be a version number (e.g. 3 or 0003), got "${text}"`);
  }
  return Number(text);
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

function exitCode(error: unknown): number {
  if (error instanceof DatabaseConnectionError) {
    return error.reason === "unreachable" || error.reason === "other" ? 1 : 2;
  }
  if (
    error instanceof UsageError || error instanceof MigrationFileError ||
    error instanceof MigrationStateError || error instanceof ChecksumDriftError ||
    error instanceof LintBlockedError
  ) return 2;
  const name = error instanceof Error ? error.name : "";
  if (name === "ConfigError" || name === "MissingSecretError") return 2;
  if (error instanceof TypeError && error.message.includes("parseArgs")) return 2;
  if ((error as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS")) return 2;
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
