/**
 * The sandbox's API from another process (issue 18): `get` and `list` throughput with 8
 * concurrent clients, and the watch fan-out latency with 50 watchers (from a write's answer
 * to each watcher having the event).
 *
 * A plain script (`deno run -A bench/sandbox_api_bench.ts`), not `Deno.bench`: what it
 * measures is a rate over a window and a distribution over 50 watchers per write, with the
 * sandbox in a child process (`deno task sandbox`'s entry point) — not one function's
 * per-iteration time, which is what `deno bench` reports.
 * @module
 */

const NS = "tracktion-dev";
const CLIENTS = 8;
const WATCHERS = 50;
const WRITES = 40;
const ROUNDS = 3;
const WINDOW_MS = 3000;

/** The sandbox CLI in a child process, started on a fresh state dir; its URL and token. */
async function startSandboxProcess(stateDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../lib/cli/main.ts", import.meta.url).pathname,
      "sandbox",
      "--state-dir",
      stateDir,
      "--port",
      "0",
      "--traffic-rate",
      "0",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The sandbox ended before its ready line: ${out}`);
    out += value;
  }
  const kubeconfig = /kubeconfig=(\S+)/.exec(out)?.[1] ?? "";
  const text = await Deno.readTextFile(kubeconfig);
  const url = /server:\s*(\S+)/.exec(text)?.[1] ?? "";
  const token = /token:\s*(\S+)/.exec(text)?.[1] ?? "";
  return { child, reader, url, headers: { authorization: `Bearer ${token}` } };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** `CLIENTS` loops sending `path` for `WINDOW_MS`; requests per second and latencies. */
async function throughput(url: string, headers: HeadersInit, path: string) {
  const latencies: number[] = [];
  const end = performance.now() + WINDOW_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const sent = performance.now();
        const response = await fetch(url + path, { headers });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${path}: ${response.status}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { rps: latencies.length / ((performance.now() - start) / 1000), latencies };
}

/** A watch stream that resolves `seen(rv)` when an event with that resourceVersion arrives. */
function watcher(url: string, headers: HeadersInit, path: string, signal: AbortSignal) {
  const waiting = new Map<string, (at: number) => void>();
  const arrived = new Map<string, number>();
  const ready = fetch(url + path, { headers, signal }).then((response) => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    (async () => {
      while (true) {
        const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
        if (done) return;
        buffer += value;
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        const at = performance.now();
        for (const line of lines) {
          if (!line.trim()) continue;
          const rv = JSON.parse(line).object?.metadata?.resourceVersion as string;
          arrived.set(rv, at);
          waiting.get(rv)?.(at);
        }
      }
    })();
  });
  return {
    ready,
    seen(rv: string): Promise<number> {
      const at = arrived.get(rv);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => waiting.set(rv, resolve));
    },
  };
}

async function fanOut(url: string, headers: Record<string, string>) {
  const base = `/api/v1/namespaces/${NS}/configmaps`;
  const created = await fetch(url + base, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ metadata: { name: "fan-out" }, data: { n: "0" } }),
  });
  const rv = (await created.json()).metadata.resourceVersion;
  const abort = new AbortController();
  const path = `${base}?watch=true&fieldSelector=metadata.name%3Dfan-out&resourceVersion=${rv}`;
  const watchers = Array.from(
    { length: WATCHERS },
    () => watcher(url, headers, path, abort.signal),
  );
  await Promise.all(watchers.map((w) => w.ready));
  const samples: number[] = [];
  const fromSend: number[] = [];
  for (let i = 1; i <= WRITES; i++) {
    const sent = performance.now();
    const response = await fetch(`${url}${base}/fan-out`, {
      method: "PATCH",
      headers: { ...headers, "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ data: { n: String(i) } }),
    });
    const answered = performance.now();
    const written = (await response.json()).metadata.resourceVersion as string;
    const seen = await Promise.all(watchers.map((w) => w.seen(written)));
    samples.push(...seen.map((at) => at - answered));
    fromSend.push(...seen.map((at) => at - sent));
  }
  abort.abort();
  return { samples, fromSend };
}

if (import.meta.main) {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-api-bench-" });
  const sandbox = await startSandboxProcess(stateDir);
  try {
    const { url, headers } = sandbox;
    await fetch(`${url}/api/v1/namespaces/${NS}/configmaps`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "bench" }, data: { k: "v" } }),
    }).then((r) => r.body?.cancel());
    const paths = {
      get: `/api/v1/namespaces/${NS}/configmaps/bench`,
      list: `/api/v1/namespaces/${NS}/configmaps`,
    };
    const listed = await (await fetch(url + paths.list, { headers })).json();
    console.log(`list answers ${listed.items.length} ConfigMaps`);
    await throughput(url, headers, paths.get); // warm-up: connections, JIT
    for (const [what, path] of Object.entries(paths)) {
      const rounds = [];
      for (let r = 0; r < ROUNDS; r++) rounds.push(await throughput(url, headers, path));
      const rps = rounds.map((r) => r.rps);
      const all = rounds.flatMap((r) => r.latencies);
      console.log(
        `${what}: ${CLIENTS} clients, ${ROUNDS} × ${WINDOW_MS / 1000} s: median ` +
          `${quantile(rps, 0.5).toFixed(0)} req/s (rounds ${
            rps.map((x) => x.toFixed(0)).join(", ")
          }), ` +
          `latency median ${quantile(all, 0.5).toFixed(2)} ms, p95 ${
            quantile(all, 0.95).toFixed(2)
          } ms`,
      );
    }
    const { samples, fromSend } = await fanOut(url, headers);
    console.log(
      `watch fan-out: ${WATCHERS} watchers × ${WRITES} writes (${samples.length} samples): ` +
        `from the write's answer to a watcher's event median ${
          quantile(samples, 0.5).toFixed(2)
        } ms, ` +
        `p95 ${quantile(samples, 0.95).toFixed(2)} ms, max ${quantile(samples, 1).toFixed(2)} ms ` +
        `(negative: the watcher had it before the writer had its answer); from the write's send ` +
        `median ${quantile(fromSend, 0.5).toFixed(2)} ms, p95 ${
          quantile(fromSend, 0.95).toFixed(2)
        } ms`,
    );
  } finally {
    sandbox.child.kill("SIGTERM");
    await sandbox.reader.cancel().catch(() => {});
    await sandbox.child.status;
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}
