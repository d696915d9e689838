/**
 * A real `redis-server` (Debian's package `redis-server`) as a companion: bound to
 * a loopback address (given, or 127.0.0.1 on a free port), its password given (`requirepass`, written to its config file
 * with mode 0600, never on its command line), and with `tls` a TLS-only port whose
 * certificate a CA of its own signs (`openssl`). Nothing is saved to disk (`save ""`).
 * @module
 */
import { RedisClient } from "../redis/resp.ts";
import {
  addressFree,
  type CompanionProcess,
  findProgram,
  freePort,
  launch,
  type MissingProgram,
  stopLeftover,
} from "./process.ts";
import { makeCertificates } from "./tls.ts";

/** Where a companion Redis listens (what a check is given). */
export interface RedisEndpoint {
  /** Its loopback address. */
  readonly host: string;
  /** Its port (TLS only when `tls`). */
  readonly port: number;
  /** Whether the port speaks TLS. */
  readonly tls: boolean;
  /** With `tls`: the CA's PEM a client trusts. */
  readonly ca?: string | undefined;
}

/** A running companion Redis. */
export interface RedisCompanion extends RedisEndpoint {
  /** Its process. */
  readonly process: CompanionProcess;
  /** Stops it. */
  stop(): Promise<void>;
}

/** What {@linkcode startRedisCompanion} takes. */
export interface RedisCompanionOptions {
  /** Its folder. */
  readonly dir: string;
  /** The address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** The port (default: a free one). */
  readonly port?: number;
  /** The password it requires (undefined: none). */
  readonly password: string | undefined;
  /** Serve TLS only. */
  readonly tls: boolean;
  /** How long it may take to answer (default 20 s). */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts a companion Redis, or says which program is missing (`redis-server`, or
 * `openssl` for TLS).
 *
 * @param o Its folder, password and whether it serves TLS.
 * @returns The running Redis, or what to install.
 * @throws {Error} When it is installed but does not start (its log's last lines).
 *
 * @example
 * ```ts ignore
 * import { startRedisCompanion } from "./redis.ts";
 * const redis = await startRedisCompanion({ dir, password: "pw", tls: true });
 * if (!("missing" in redis)) await redis.stop();
 * ```
 */
export async function startRedisCompanion(
  o: RedisCompanionOptions,
): Promise<RedisCompanion | { missing: MissingProgram }> {
  const missing = await findProgram("redis-server", "redis-server") ??
    (o.tls ? await findProgram("openssl", "openssl", ["version"]) : undefined);
  if (missing) return { missing };
  await Deno.mkdir(o.dir, { recursive: true });
  const host = o.host ?? "127.0.0.1";
  // A leftover of this folder may hold the address: stop it before looking.
  await stopLeftover(o.dir);
  const port = o.port ?? freePort();
  if (!addressFree(host, port)) {
    throw new Error(`${host}:${port} is in use (another sandbox's Redis for this namespace?)`);
  }
  const certs = o.tls
    ? await makeCertificates(`${o.dir}/tls`, "sandbox companion Redis CA", host)
    : undefined;
  const lines = [
    `bind ${host}`,
    "protected-mode yes",
    `dir ${o.dir}`,
    `logfile ${o.dir}/redis.log`,
    `pidfile ${o.dir}/redis.pid`,
    'save ""',
    "appendonly no",
    "daemonize no",
    ...(certs
      ? [
        "port 0",
        `tls-port ${port}`,
        `tls-cert-file ${certs.certFile}`,
        `tls-key-file ${certs.keyFile}`,
        `tls-ca-cert-file ${certs.caFile}`,
        "tls-auth-clients no",
      ]
      : [`port ${port}`]),
    ...(o.password !== undefined ? [`requirepass "${o.password.replace(/["\\]/g, "\\$&")}"`] : []),
    "",
  ];
  const conf = `${o.dir}/redis.conf`;
  await Deno.remove(`${o.dir}/redis.log`).catch(() => {});
  await Deno.writeTextFile(conf, lines.join("\n"), { mode: 0o600 });
  await Deno.chmod(conf, 0o600);
  const endpoint: RedisEndpoint = {
    host,
    port,
    tls: o.tls,
    ...(certs ? { ca: certs.caPem } : {}),
  };
  const process = await launch({
    name: "redis-server",
    dir: o.dir,
    command: "redis-server",
    args: [conf],
    logFile: `${o.dir}/redis.log`,
    ...(o.readyTimeoutMs !== undefined ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
    ready: async () => {
      const client = await RedisClient.connect({
        hostname: endpoint.host,
        port,
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(certs ? { tls: true, caCerts: [certs.caPem] } : {}),
        timeoutMs: 1_000,
      });
      try {
        return (await client.command("PING")) === "PONG";
      } finally {
        client.close();
      }
    },
  });
  return { ...endpoint, process, stop: () => process.stop() };
}
