/**
 * A run live, as server-sent events: {@linkcode runEventStream} sends every event of the
 * run's journal (`event: journal`, its `seq` as the event's id, so a reconnecting
 * `EventSource` goes on after the last it got), then each new one as it is appended; the
 * traffic splits its stages report in their logs (`event: traffic`, from
 * `logs/<stage>.log`'s `NOTICE <service>: [...— ]blue 95% / green 5%` lines); and the run's state
 * (`event: state`: running, paused with the stage waiting, killed, finished) whenever it
 * changes. Once the run has its report, `event: finished` ends the stream.
 * @module
 */
import { type RunIndex, type RunSummary } from "./runs.ts";
import { changes, FileTail } from "./tail.ts";

/**
 * One server-sent event, framed: `id:` when given, `event:`, then the data (one `data:` line
 * per line of it) and a blank line.
 *
 * @param o The event's name, data and id.
 * @returns Its text on the stream.
 *
 * @example
 * ```ts
 * import { sseFrame } from "./live.ts";
 * console.assert(sseFrame({ event: "journal", data: "{}", id: "3" }) === "id: 3\nevent: journal\ndata: {}\n\n");
 * ```
 */
export function sseFrame(o: { event: string; data: string; id?: string }): string {
  const data = o.data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join("");
  return `${o.id !== undefined ? `id: ${o.id}\n` : ""}event: ${o.event}\n${data}\n`;
}

/**
 * A traffic split reported in a stage's log, or undefined for any other line.
 *
 * @param line A line of `logs/<stage>.log`.
 * @returns When, which service, and its slots' percentages.
 *
 * @example
 * ```ts
 * import { trafficNotice } from "./live.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(trafficNotice("2026-01-01T00:00:00.000Z NOTICE web: blue 95% / green 5%"), {
 *   at: "2026-01-01T00:00:00.000Z", service: "web",
 *   split: [{ slot: "blue", percent: 95 }, { slot: "green", percent: 5 }],
 * });
 * const back = trafficNotice("2026-01-01T00:00:00.000Z NOTICE web: traffic back on blue — blue 100% / green 0%");
 * assert.deepEqual(back?.split, [{ slot: "blue", percent: 100 }, { slot: "green", percent: 0 }]);
 * assert.equal(trafficNotice("2026-01-01T00:00:00.000Z INFO web: blue 95% / green 5%"), undefined);
 * ```
 */
export function trafficNotice(
  line: string,
): { at: string; service: string; split: { slot: string; percent: number }[] } | undefined {
  const slot = String.raw`[\w.-]+ \d+(?:\.\d+)?%`;
  const m = new RegExp(String.raw`^(\S+) NOTICE ([^\s:]+): (?:.* — )?(${slot}(?: / ${slot})+)$`)
    .exec(line);
  if (!m) return undefined;
  const split = m[3]!.split(" / ").map((part) => {
    const [slot, pct] = part.split(" ");
    return { slot: slot!, percent: Number(pct!.slice(0, -1)) };
  });
  return { at: m[1]!, service: m[2]!, split };
}

/**
 * Options of {@linkcode runEventStream}.
 *
 * @example
 * ```ts
 * import type { LiveOptions } from "./live.ts";
 * const o: LiveOptions = { afterSeq: 10, heartbeatMs: 15_000 };
 * console.assert(o.afterSeq === 10);
 * ```
 */
export interface LiveOptions {
  /** Send only journal events after this `seq` (a reconnect's `Last-Event-ID`). */
  readonly afterSeq?: number | undefined;
  /** A comment line this often, so a gone client is noticed (default 15 s). */
  readonly heartbeatMs?: number | undefined;
  /** The slowest wake-up when the watcher misses a change (default 1 s). */
  readonly pollMs?: number | undefined;
  /** Ends the stream (as the client going away does). */
  readonly signal?: AbortSignal | undefined;
}

/** The journal events that can change a run's state (paused, running again, finished). */
const STATE_EVENTS = new Set([
  "run.started",
  "run.resumed",
  "stage.paused",
  "stage.decision",
  "run.finished",
]);

async function logFiles(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir)))
      .filter((e) => e.isFile && e.name.endsWith(".log")).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * The run's events as a server-sent event stream (see the module's description).
 *
 * @param index The runs folder's index (tells the run's state).
 * @param runId The run.
 * @param o Where to start, heartbeat, poll, and an abort.
 * @returns The stream's bytes (`text/event-stream`).
 *
 * @example
 * ```ts
 * import { RunIndex } from "./runs.ts";
 * import { runEventStream } from "./live.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/r1`);
 * const started = { seq: 1, type: "run.started", runId: "r1", environment: "staging" };
 * await Deno.writeTextFile(`${dir}/r1/events.jsonl`, JSON.stringify(started) + "\n");
 * await Deno.writeTextFile(`${dir}/r1/report.json`, JSON.stringify({ status: "succeeded" }));
 * const text = await new Response(runEventStream(new RunIndex(dir), "r1")).text();
 * assert.match(text, /id: 1\nevent: journal\ndata: \{"seq":1/);
 * assert.match(text, /event: finished\ndata: \{"status":"succeeded"\}/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function runEventStream(
  index: RunIndex,
  runId: string,
  o: LiveOptions = {},
): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const runDir = `${index.runsDir}/${runId}`;
  const encoder = new TextEncoder();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!cancelled) controller.enqueue(encoder.encode(text));
      };
      const heartbeat = setInterval(() => send(": keep-alive\n\n"), o.heartbeatMs ?? 15_000);
      const journal = new FileTail(`${runDir}/events.jsonl`);
      const logs = new Map<string, FileTail>();
      let lastSeq = o.afterSeq ?? 0;
      let lastState = "";
      let lastCheck = -Infinity;
      let finished = false;
      // The run's state (a /proc scan: milliseconds, more on a busy machine) is told beside the
      // events, never in their way: one check at a time, another asked for while it runs.
      let checking: Promise<void> | undefined;
      let again = false;
      const check = async (): Promise<void> => {
        // The report first: a summary read after it says how the run finished.
        const report = await Deno.stat(`${runDir}/report.json`).catch(() => null);
        const summary: RunSummary | undefined = await index.get(runId);
        if (summary) {
          const state = JSON.stringify({
            state: summary.state,
            status: summary.status,
            waiting: summary.waiting ?? null,
            how: summary.how ?? null,
          });
          if (state !== lastState) send(sseFrame({ event: "state", data: state }));
          lastState = state;
        }
        if (report && !finished) {
          finished = true;
          send(sseFrame({
            event: "finished",
            data: JSON.stringify({ status: summary?.status ?? "unknown" }),
          }));
          stop.abort(); // ends the loop below
        }
      };
      const askCheck = () => {
        lastCheck = performance.now();
        if (checking) {
          again = true;
          return;
        }
        checking = check().catch((err) => {
          send(sseFrame({ event: "problem", data: JSON.stringify({ message: String(err) }) }));
        }).finally(() => {
          checking = undefined;
          if (again && !stop.signal.aborted) {
            again = false;
            askCheck();
          }
        });
      };
      const pollMs = o.pollMs ?? 1000;
      try {
        for await (const _ of changes(runDir, { signal: stop.signal, pollMs })) {
          let telling = false;
          for (const line of await journal.read()) {
            let e: Record<string, unknown>;
            try {
              e = JSON.parse(line);
            } catch {
              continue;
            }
            const seq = typeof e.seq === "number" ? e.seq : 0;
            if (seq <= lastSeq) continue;
            lastSeq = seq;
            delete e.prev;
            send(sseFrame({ event: "journal", data: JSON.stringify(e), id: String(seq) }));
            telling ||= STATE_EVENTS.has(String(e.type));
          }
          for (const name of await logFiles(`${runDir}/logs`)) {
            if (!logs.has(name)) logs.set(name, new FileTail(`${runDir}/logs/${name}`));
            for (const line of await logs.get(name)!.read()) {
              const t = trafficNotice(line);
              const stage = name.slice(0, -".log".length);
              if (t) send(sseFrame({ event: "traffic", data: JSON.stringify({ stage, ...t }) }));
            }
          }
          // Checked when an event may change it, while a finished run waits for its report,
          // and at least every poll (a killed runner writes nothing).
          const due = performance.now() - lastCheck >= pollMs;
          if (telling || due || lastState.includes('"finished"')) askCheck();
        }
      } catch (err) {
        send(sseFrame({ event: "problem", data: JSON.stringify({ message: String(err) }) }));
      } finally {
        await checking;
        clearInterval(heartbeat);
        o.signal?.removeEventListener("abort", onAbort);
        if (!cancelled) controller.close();
        stop.abort();
      }
    },
    cancel() {
      cancelled = true;
      stop.abort();
    },
  });
}
