/**
 * A tiny RESP2 client over `Deno.connect`: enough for health checks (AUTH, SELECT,
 * PING, INFO, SET/GET/DEL), with a deadline on every exchange. No dependencies, so it
 * runs in a stage's Worker with only `net` to the Redis host.
 * @module
 */

/** A RESP2 value: simple string, error, integer, bulk string (or null), array (or null). */
export type RespValue = string | number | null | RedisReplyError | RespValue[];

/** An error reply from the server (`-ERR ...`), returned inside arrays, thrown at top level. */
export class RedisReplyError extends Error {
  /**
   * Wraps an error reply.
   *
   * @param message The server's error line, e.g. `WRONGPASS invalid username-password pair`.
   */
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** Options for {@linkcode RedisClient.connect}. */
export interface RedisConnectOptions {
  /** Host name or address. */
  readonly hostname: string;
  /** Port (default 6379). */
  readonly port?: number;
  /** Password for `AUTH`; never echoed in errors. */
  readonly password?: string;
  /** ACL user name for `AUTH <user> <password>`. */
  readonly username?: string;
  /** Database index for `SELECT` (default 0: no SELECT). */
  readonly database?: number;
  /** Connect over TLS. */
  readonly tls?: boolean;
  /** With `tls`: the CA certificates (PEM) to trust instead of the system's. */
  readonly caCerts?: readonly string[];
  /** Deadline in milliseconds for connecting and for each command (default 5 000). */
  readonly timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(args: readonly (string | number)[]): Uint8Array {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const s = String(arg);
    parts.push(`$${encoder.encode(s).byteLength}\r\n${s}\r\n`);
  }
  return encoder.encode(parts.join(""));
}

/**
 * A connection to one Redis server. Commands are sent one at a time.
 *
 * @example
 * ```ts ignore
 * import { RedisClient } from "./resp.ts";
 * const client = await RedisClient.connect({ hostname: "127.0.0.1", port: 6379 });
 * try {
 *   console.log(await client.command("PING")); // "PONG"
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class RedisClient {
  #conn: Deno.Conn;
  #timeoutMs: number;
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects, authenticates (when a password is given) and selects the database.
   *
   * @param options Where and how to connect.
   * @returns The connected client.
   * @throws {RedisReplyError} When AUTH or SELECT is refused (the password is not in the message).
   * @throws {Deno.errors.TimedOut} When the server does not answer in time.
   */
  static async connect(options: RedisConnectOptions): Promise<RedisClient> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const port = options.port ?? 6379;
    const connecting: Promise<Deno.Conn> = options.tls
      ? Deno.connectTls({
        hostname: options.hostname,
        port,
        ...(options.caCerts ? { caCerts: [...options.caCerts] } : {}),
      })
      : Deno.connect({ hostname: options.hostname, port });
    const conn = await withDeadline(connecting, timeoutMs, () => {
      connecting.then((c) => c.close(), () => {});
    }, `connect to ${options.hostname}:${port}`);
    const client = new RedisClient(conn, timeoutMs);
    try {
      if (options.password !== undefined) {
        const args = options.username !== undefined
          ? ["AUTH", options.username, options.password]
          : ["AUTH", options.password];
        await client.command(...args);
      }
      if (options.database) await client.command("SELECT", options.database);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /**
   * Sends one command and reads its reply.
   *
   * @param args The command and its arguments, e.g. `"INFO", "memory"`.
   * @returns The reply.
   * @throws {RedisReplyError} For an error reply.
   * @throws {Deno.errors.TimedOut} When no full reply arrives within the deadline.
   */
  command(...args: (string | number)[]): Promise<RespValue> {
    const next = this.#busy.then(() => this.#exchange(args));
    this.#busy = next.catch(() => {});
    return next;
  }

  async #exchange(args: (string | number)[]): Promise<RespValue> {
    if (this.#closed) throw new Deno.errors.BadResource("Redis connection is closed");
    const name = String(args[0]).toUpperCase();
    const work = (async () => {
      const bytes = encode(args);
      let written = 0;
      while (written < bytes.byteLength) {
        written += await this.#conn.write(bytes.subarray(written));
      }
      return await this.#readValue();
    })();
    const value = await withDeadline(work, this.#timeoutMs, () => this.close(), name);
    if (value instanceof RedisReplyError) throw value;
    return value;
  }

  /** Closes the connection. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Deno.errors.UnexpectedEof("Redis closed the connection");
    const merged = new Uint8Array(this.#buffer.byteLength + n);
    merged.set(this.#buffer);
    merged.set(chunk.subarray(0, n), this.#buffer.byteLength);
    this.#buffer = merged;
  }

  async #readLine(): Promise<string> {
    while (true) {
      const end = this.#buffer.findIndex((b, i) => b === 13 && this.#buffer[i + 1] === 10);
      if (end >= 0) {
        const line = decoder.decode(this.#buffer.subarray(0, end));
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      await this.#fill();
    }
  }

  async #readBytes(length: number): Promise<string> {
    while (this.#buffer.byteLength < length + 2) await this.#fill();
    const text = decoder.decode(this.#buffer.subarray(0, length));
    this.#buffer = this.#buffer.subarray(length + 2);
    return text;
  }

  async #readValue(): Promise<RespValue> {
    const line = await this.#readLine();
    const type = line[0];
    const rest = line.slice(1);
    switch (type) {
      case "+":
        return rest;
      case "-":
        return new RedisReplyError(rest);
      case ":":
        return Number(rest);
      case "$": {
        const length = Number(rest);
        return length < 0 ? null : await this.#readBytes(length);
      }
      case "*": {
        const count = Number(rest);
        if (count < 0) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < count; i++) items.push(await this.#readValue());
        return items;
      }
      default:
        throw new SyntaxError(
          `Cannot parse Redis reply: unexpected type byte ${JSON.stringify(type)}`,
        );
    }
  }
}

async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => void,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Deno.errors.TimedOut(`Redis ${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

/**
 * Parses an `INFO` reply (`key:value` lines, `# Section` headers) into a flat record.
 *
 * @param text The bulk string `INFO` returned.
 * @returns Field name to raw value.
 *
 * @example
 * ```ts
 * import { parseInfo } from "./resp.ts";
 * import assert from "node:assert/strict";
 * const info = parseInfo("# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\n");
 * assert.equal(info.used_memory, "1024");
 * ```
 */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}
