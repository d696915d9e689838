// The dashboard's time to first event after a stage finishes: a real dashboard
// (startDashboard on a free port) with two clients on a run's event stream (a plain HTTP/1.1
// socket, as a browser's EventSource reads it, and Deno's fetch), and the run's journal written by
// the real Journal as the runner writes it when a stage finishes (append the
// `stage.finished`, then flush). Measured: from the append until the client has the event's
// frame (the watcher wakes the stream, which reads the new line and sends it). Also: a new
// client's time to its first event. Prints the medians.
//
//   deno bench -A bench/ui_bench.ts
import { Journal } from "../lib/journal/mod.ts";
import { startDashboard } from "../lib/ui/mod.ts";

const runs = await Deno.makeTempDir({ prefix: "ui-bench-" });
await Deno.mkdir(`${runs}/r1`);
const journal = await Journal.open(`${runs}/r1/events.jsonl`);
await journal.append({
  type: "run.started",
  runId: "r1",
  pipeline: "deploy",
  environment: "production",
});
await journal.flush();
const dashboard = await startDashboard({ runsDir: runs, user: "bench" });
const auth = { authorization: `Bearer ${dashboard.token}` };

/**
 * An SSE client on the run's stream: `socket` speaks HTTP/1.1 over a plain TCP connection (the
 * bytes as the server sends them, as a browser's EventSource gets them); `fetch` is Deno's
 * fetch reading the body. `waitFor(seq)` resolves when the frame with that id has arrived.
 */
async function client(kind: "socket" | "fetch") {
  let reader: ReadableStreamDefaultReader<string>;
  if (kind === "fetch") {
    const response = await fetch(`${dashboard.origin}/runs/r1/events`, { headers: auth });
    reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  } else {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: dashboard.port });
    await conn.write(new TextEncoder().encode(
      `GET /runs/r1/events HTTP/1.1\r\nHost: 127.0.0.1:${dashboard.port}\r\n` +
        `Authorization: Bearer ${dashboard.token}\r\nAccept: text/event-stream\r\n\r\n`,
    ));
    reader = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
  }
  const seen = new Set<number>();
  const waiting = new Map<number, () => void>();
  let buffer = "";
  const reading = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // One frame is one chunk of the response: its id line is never split by chunking.
      for (const m of buffer.matchAll(/^id: (\d+)$/gm)) {
        seen.add(Number(m[1]));
        waiting.get(Number(m[1]))?.();
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
    }
  })();
  return {
    waitFor(seq: number): Promise<void> {
      if (seen.has(seq)) return Promise.resolve();
      return new Promise((resolve) => waiting.set(seq, resolve));
    },
    async close() {
      await reader.cancel();
      await reading.catch(() => {});
    },
  };
}

const clients = { socket: await client("socket"), fetch: await client("fetch") };
await clients.socket.waitFor(1);
await clients.fetch.waitFor(1);

const times = new Map<string, number[]>();
function keep(name: string, ms: number) {
  times.set(name, [...times.get(name) ?? [], ms]);
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

let stage = 0;
for (const kind of ["socket", "fetch"] as const) {
  Deno.bench({
    name: `a stage finishes: journal append + flush → the ${kind} client has the event`,
    group: "stage finished",
    baseline: kind === "socket",
    async fn(b) {
      const id = `stage-${++stage}`;
      b.start();
      const t = performance.now();
      await journal.append({
        type: "stage.finished",
        stage: id,
        status: "succeeded",
        durationMs: 1,
      });
      await journal.flush();
      const flushed = performance.now();
      await clients[kind].waitFor(journal.length);
      const ms = performance.now() - t;
      b.end();
      keep(`${kind}: stage finished (append + flush) → event seen`, ms);
      keep(`${kind}:   of which flushed → event seen`, performance.now() - flushed);
      // Both clients have it before the next stage (the other one is not measured here).
      await Promise.all(Object.values(clients).map((c) => c.waitFor(journal.length)));
    },
  });
}

Deno.bench({
  name: "a new client: connect → its first event (the journal replayed)",
  async fn(b) {
    b.start();
    const t = performance.now();
    const c = await client("socket");
    await c.waitFor(1);
    const ms = performance.now() - t;
    b.end();
    keep("socket: connect → first event", ms);
    await c.close();
  },
});

globalThis.addEventListener("unload", () => {
  for (const [name, xs] of times) {
    console.log(
      `${name}: median ${median(xs).toFixed(2)} ms over ${xs.length} (min ${
        Math.min(...xs).toFixed(2)
      }, max ${Math.max(...xs).toFixed(2)})`,
    );
  }
  try {
    Deno.removeSync(runs, { recursive: true });
  } catch {
    // already gone
  }
});
// Stop the stream and the server once every bench ran (the unload event cannot wait).
globalThis.addEventListener("beforeunload", () => {
  for (const c of Object.values(clients)) c.close();
  journal.close();
  dashboard.stop();
});
