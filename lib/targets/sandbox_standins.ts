/**
 * What a sandbox rehearsal stands in for beside the cluster, so the pre-flight asks them the
 * way it asks production's: a DNS server (UDP, on loopback) that answers the environment's own
 * host names with the sandbox's address (and NXDOMAIN for every other name), and the external
 * API's health endpoint (`{"status":"ok"}`). The checks reach them through the same code as in
 * production (`Deno.resolveDns` against a name server, an HTTP GET); only the addresses are the
 * stand-ins', given to the pipeline as `--option dns-server=` and `--option external-api=`.
 * @module
 */
import type { Environment } from "../config/types.ts";

/** The running stand-ins. */
export interface StandIns {
  /** The pipeline options that point the checks at them. */
  readonly options: Readonly<Record<string, string>>;
  /** Answers these names (A: 127.0.0.1) from now on, besides those already answered. */
  answer(hosts: readonly string[]): void;
  /** The names asked so far (lower case), for tests and the report. */
  readonly asked: readonly string[];
  /** Stops both. */
  close(): Promise<void>;
}

/**
 * The host names an environment file names: its public API, the external API, the database
 * and Redis (IP addresses left out: nothing to resolve).
 *
 * @param env The environment.
 * @returns The names, deduplicated, in that order.
 *
 * @example
 * ```ts ignore
 * import { environmentHostnames } from "./sandbox_standins.ts";
 * console.log(environmentHostnames(env)); // ["api.shop.example", "db.shop.internal", ...]
 * ```
 */
export function environmentHostnames(env: Environment): string[] {
  const urls = [env.environment.api_url, env.external_services.health_url];
  const hosts = [
    ...urls.filter((u): u is string => u !== undefined).map((u) => new URL(u).hostname),
    env.database.host,
    env.redis.host,
  ];
  return [...new Set(hosts.map((h) => h.toLowerCase()))]
    .filter((h) => !/^[\d.]+$/.test(h) && !h.includes(":"));
}

/** Reads a query's name (labels from offset 12) and type; undefined when malformed. */
function question(msg: Uint8Array): { name: string; type: number; end: number } | undefined {
  if (msg.length < 17) return undefined;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const n = msg[i]!;
    if (n > 63 || i + 1 + n > msg.length) return undefined;
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + n)));
    i += 1 + n;
  }
  if (i + 5 > msg.length) return undefined;
  const type = (msg[i + 1]! << 8) | msg[i + 2]!;
  return { name: labels.join(".").toLowerCase(), type, end: i + 5 };
}

/** The answer to one query: 127.0.0.1 for a known name's A record, else none or NXDOMAIN. */
function reply(msg: Uint8Array, known: ReadonlySet<string>): Uint8Array | undefined {
  const q = question(msg);
  if (!q) return undefined;
  const found = known.has(q.name);
  const answer = found && q.type === 1;
  const head = new Uint8Array(12);
  head.set(msg.subarray(0, 2), 0); // the query's id
  head[2] = 0x84 | (msg[2]! & 0x01); // a response, authoritative, recursion as asked
  head[3] = 0x80 | (found ? 0 : 3); // recursion available; NXDOMAIN for unknown names
  head[5] = 1; // one question
  head[7] = answer ? 1 : 0;
  const rr = answer
    ? new Uint8Array([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1])
    : new Uint8Array();
  const out = new Uint8Array(12 + (q.end - 12) + rr.length);
  out.set(head, 0);
  out.set(msg.subarray(12, q.end), 12);
  out.set(rr, q.end);
  return out;
}

/**
 * Starts the stand-ins on loopback: a DNS server answering only the names given to
 * `answer()`, and the external API's health endpoint at `healthPath` (default `/health`).
 *
 * @param o The path the external API's health answers on.
 * @returns The stand-ins; `close()` them when the rehearsal ends.
 *
 * @example
 * ```ts
 * import { startStandIns } from "./sandbox_standins.ts";
 * const s = await startStandIns();
 * s.answer(["api.shop.example"]);
 * const [a] = await Deno.resolveDns("api.shop.example", "A", {
 *   nameServer: { ipAddr: "127.0.0.1", port: Number(s.options["dns-server"]!.split(":")[1]) },
 * });
 * console.assert(a === "127.0.0.1");
 * await s.close();
 * ```
 */
export async function startStandIns(o: { healthPath?: string } = {}): Promise<StandIns> {
  const known = new Set<string>();
  const asked: string[] = [];
  // Loaded when used: every stage Worker loads this module, one stage starts the stand-ins.
  const dgram = await import("node:dgram");
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg: Uint8Array, from: { port: number; address: string }) => {
    const q = question(msg);
    if (q) asked.push(q.name);
    const out = reply(msg, known);
    if (out) socket.send(out, from.port, from.address);
  });
  const dnsPort = await new Promise<number>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve(socket.address().port));
  });
  const healthPath = o.healthPath ?? "/health";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    return path === healthPath
      ? Response.json({ status: "ok", service: "external API (sandbox stand-in)" })
      : Response.json({ error: "not found" }, { status: 404 });
  });
  return {
    options: {
      "dns-server": `127.0.0.1:${dnsPort}`,
      "external-api": `http://127.0.0.1:${server.addr.port}${healthPath}`,
    },
    answer: (hosts) => hosts.forEach((h) => known.add(h.toLowerCase())),
    asked,
    close: async () => {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await server.shutdown();
    },
  };
}
