/**
 * A throwaway PostgreSQL server for tests and benches: `initdb` in a temporary folder,
 * listening only on 127.0.0.1 on a free port, its unix socket inside that folder, and
 * password (SCRAM) authentication for the `postgres` superuser. `stop()` shuts it down
 * and removes everything.
 *
 * `initdb` refuses to run as root: when the tests run as root, the folder is given to an
 * unprivileged user (`postgres` if it exists, else `nobody`) and the server's programs
 * run through `runuser -u <user> --`. The programs are looked up on `PATH` (`initdb`,
 * `pg_ctl`; PostgreSQL 15 on our machines).
 *
 * ```ts ignore
 * import { startPostgres } from "../_support/postgres.ts";
 * const server = await startPostgres();
 * try {
 *   const url = await server.createDatabase("case_1"); // a fresh, empty database
 *   // ... connect to url ...
 * } finally {
 *   await server.stop();
 * }
 * ```
 * @module
 */

/** A running throwaway server. */
export interface PostgresServer {
  /** URL of its `postgres` database: `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** The superuser's password (random per server). */
  readonly password: string;
  /**
   * Creates an empty database and returns its URL.
   *
   * @param name A name made of lowercase letters, digits and `_`.
   */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (immediate shutdown) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * The same as {@linkcode PostgresServer.stop}, synchronously: for an `unload` listener
   * where nothing can be awaited (bench files, which have no "after all" hook).
   */
  stopSync(): void;
}

/** Options for {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /** Extra `postgres -c name=value` settings. */
  settings?: Record<string, string>;
}

async function run(
  argv: string[],
  options: { asUser?: string | undefined; env?: Record<string, string> } = {},
): Promise<string> {
  const full = options.asUser ? ["runuser", "-u", options.asUser, "--", ...argv] : argv;
  const output = await new Deno.Command(full[0]!, {
    args: full.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(
      `Cannot start PostgreSQL: ${argv[0]} exited with ${output.code}: ${text.trim()}`,
    );
  }
  return text;
}

function runSync(argv: string[], asUser: string | undefined): void {
  const full = asUser ? ["runuser", "-u", asUser, "--", ...argv] : argv;
  new Deno.Command(full[0]!, { args: full.slice(1), stdin: "null", stdout: "null", stderr: "null" })
    .outputSync();
}

async function idOf(user: string): Promise<[number, number] | undefined> {
  try {
    const uid = Number((await run(["id", "-u", user])).trim());
    const gid = Number((await run(["id", "-g", user])).trim());
    return [uid, gid];
  } catch {
    return undefined;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts a throwaway PostgreSQL server (a few seconds: `initdb` dominates; start one per
 * test file and use {@linkcode PostgresServer.createDatabase} per test).
 *
 * @param options Extra server settings.
 * @returns The running server.
 * @throws {Error} When `initdb` or `pg_ctl` fails (their output is in the message).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const root = Deno.uid() === 0;
  let user: string | undefined;
  let ids: [number, number] | undefined;
  if (root) {
    for (const candidate of ["postgres", "nobody"]) {
      ids = await idOf(candidate);
      if (ids) {
        user = candidate;
        break;
      }
    }
    if (!user || !ids) {
      throw new Error("Cannot start PostgreSQL: no unprivileged user to run it as");
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "tracktion-pg-" });
  const data = `${dir}/data`;
  const password = crypto.randomUUID().replaceAll("-", "");
  let stopped = false;
  let started = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (started) {
      await run(["pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t", "60"], {
        asUser: user,
      }).catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (started) runSync(["pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t", "60"], user);
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  };
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.writeTextFile(`${dir}/pwfile`, `${password}\n`);
    if (ids) {
      await Deno.chown(dir, ids[0], ids[1]);
      await Deno.chown(`${dir}/pwfile`, ids[0], ids[1]);
    }
    await run([
      "initdb",
      "-D",
      data,
      "-U",
      "postgres",
      `--pwfile=${dir}/pwfile`,
      "--auth-host=scram-sha-256",
      "--auth-local=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ], { asUser: user });
    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: dir,
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      max_connections: "50",
      shared_buffers: "32MB",
      ...options.settings,
    };
    let port = 0;
    for (let attempt = 1;; attempt++) {
      port = freePort();
      const flags = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)];
      try {
        await run([
          "pg_ctl",
          "start",
          "-D",
          data,
          "-w",
          "-t",
          "60",
          "-l",
          `${dir}/server.log`,
          "-o",
          flags.join(" "),
        ], { asUser: user });
        started = true;
        break;
      } catch (error) {
        started = true; // a half-started server must still be stopped
        await run(["pg_ctl", "stop", "-D", data, "-m", "immediate", "-w"], { asUser: user })
          .catch(() => {});
        started = false;
        if (attempt >= 3) {
          const log = await Deno.readTextFile(`${dir}/server.log`).catch(() => "");
          throw new Error(`${(error as Error).message}\n${log}`);
        }
      }
    }
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    return {
      url,
      port,
      password,
      async createDatabase(name: string): Promise<string> {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
          throw new TypeError(
            `Cannot create database "${name}": use lowercase letters, digits and _`,
          );
        }
        await run([
          "psql",
          "-X",
          "-q",
          "-v",
          "ON_ERROR_STOP=1",
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "postgres",
          "-d",
          "postgres",
          "-c",
          `CREATE DATABASE ${name}`,
        ], {
          env: { PGPASSWORD: password },
        });
        return `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
      },
      stop,
      stopSync,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
