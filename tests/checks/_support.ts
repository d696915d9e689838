/**
 * Test support for checks: a hand-made StageContext, free ports, a throwaway
 * `redis-server`, and polling.
 * @module
 */
import type { StageContext } from "../../lib/dsl/types.ts";
import { RedisClient } from "../../lib/redis/resp.ts";

/** A StageContext whose `use()` returns the given capabilities. */
export function fakeContext(
  capabilities: Record<string, object> = {},
  options: { signal?: AbortSignal } = {},
): StageContext & { lines: string[] } {
  const lines: string[] = [];
  // Fields the DSL may add later are filled with neutral values by the cast below.
  const ctx = {
    stageId: "preflight",
    pipeline: "test",
    runId: "test-run",
    user: "tester",
    environment: "development",
    version: { version: "1.2.4", tag: "v1.2.4", major: 1, minor: 2, patch: 4 },
    dryRun: false,
    attempt: 1,
    signal: options.signal ?? new AbortController().signal,
    failures: [],
    lines,
    log: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(`warn: ${m}`),
    notice: (m: string) => lines.push(`notice: ${m}`),
    output: () => {
      throw new Error("no outputs in tests");
    },
    use: <T extends object>(resource: string): T => {
      const cap = capabilities[resource];
      if (!cap) throw new Error(`resource ${resource} was not declared`);
      return cap as T;
    },
  };
  return ctx as typeof ctx & StageContext;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Polls until `probe` resolves truthy, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A running throwaway Redis. */
export interface RedisServer {
  readonly port: number;
  readonly password: string;
  stop(): Promise<void>;
}

/** Starts `redis-server` on 127.0.0.1 with a password, in a temp dir. */
export async function startRedis(
  options: { maxmemory?: string; password?: string } = {},
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "checks_redis_" });
  const port = freePort();
  const password = options.password ?? crypto.randomUUID();
  const conf = [
    `port ${port}`,
    "bind 127.0.0.1",
    `dir ${dir}`,
    'save ""',
    "appendonly no",
    `requirepass ${password}`,
    ...(options.maxmemory ? [`maxmemory ${options.maxmemory}`] : []),
  ].join("\n");
  await Deno.writeTextFile(`${dir}/redis.conf`, conf);
  const child = new Deno.Command("redis-server", {
    args: [`${dir}/redis.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitFor("redis-server", async () => {
      const client = await RedisClient.connect({ hostname: "127.0.0.1", port, password });
      try {
        return (await client.command("PING")) === "PONG";
      } finally {
        client.close();
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, password, stop };
}

/** A running throwaway Prometheus. */
export interface PrometheusServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts Debian's `prometheus` on 127.0.0.1 with an empty config, in a temp dir. */
export async function startPrometheus(): Promise<PrometheusServer> {
  const dir = await Deno.makeTempDir({ prefix: "checks_prom_" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 1m\n");
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitFor("prometheus", async () => {
      const r = await fetch(`${url}/-/ready`);
      await r.body?.cancel();
      return r.ok;
    }, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** Serves `handler` on 127.0.0.1 (free port); returns its base URL and a stop function. */
export function serve(
  handler: (req: Request) => Response | Promise<Response>,
): { url: string; stop(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stop: () => server.shutdown(),
  };
}
