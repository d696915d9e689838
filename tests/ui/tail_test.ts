// The journal tailer and its wake-ups: whole lines only, a character split between writes
// kept whole, a file that shrank read again, a missing file; `changes` woken by the watcher
// (before its poll could), by the poll for a folder made later, and ended by its signal; the
// SSE stream of a run that grows while a client reads it, resumed after Last-Event-ID.
import assert from "node:assert/strict";
import { changes, FileTail, runEventStream, RunIndex } from "../../lib/ui/mod.ts";

const enc = new TextEncoder();

async function append(path: string, bytes: Uint8Array | string) {
  const f = await Deno.open(path, { append: true, create: true });
  await f.write(typeof bytes === "string" ? enc.encode(bytes) : bytes);
  f.close();
}

Deno.test("FileTail.read() hands out whole lines once, waiting for a line's newline", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/events.jsonl`;
  try {
    const tail = new FileTail(path);
    assert.deepEqual(await tail.read(), [], "a missing file has no lines");
    await append(path, "a\nb\nc");
    assert.deepEqual(await tail.read(), ["a", "b"]);
    assert.deepEqual(await tail.read(), []);
    await append(path, "d\n\ne\n");
    assert.deepEqual(await tail.read(), ["cd", "", "e"]);
    assert.equal(tail.offset, (await Deno.stat(path)).size);
    // "é" is two bytes: the first ends one write, the second starts the next.
    const bytes = enc.encode('{"who":"é"}\n');
    const cut = bytes.indexOf(0xc3) + 1;
    await append(path, bytes.subarray(0, cut));
    assert.deepEqual(await tail.read(), []);
    await append(path, bytes.subarray(cut));
    assert.deepEqual(await tail.read(), ['{"who":"é"}']);
    assert.equal(tail.restarted, false);
    // Rewritten shorter (a resume drops a cut-short line; a file replaced): read again.
    await Deno.writeTextFile(path, "x\n");
    assert.deepEqual(await tail.read(), ["x"]);
    assert.equal(tail.restarted, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("changes() wakes on a write through the watcher, before its poll would", async () => {
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  const pollMs = 600_000;
  try {
    const wakes = changes(dir, { signal: stop.signal, pollMs });
    await wakes.next(); // the first wake-up is at once
    const next = wakes.next();
    await append(`${dir}/events.jsonl`, "a\n");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const polled = new Promise<string>((r) => timer = setTimeout(() => r("poll"), pollMs));
    const first = await Promise.race([next.then(() => "watch"), polled]);
    clearTimeout(timer);
    assert.equal(first, "watch");
    stop.abort();
    assert.equal((await wakes.next()).done, true, "the signal ends it");
  } finally {
    stop.abort();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("changes() polls a folder that does not exist yet, and wakes once it does", async () => {
  const parent = await Deno.makeTempDir();
  const dir = `${parent}/run`;
  const stop = new AbortController();
  try {
    let woke = 0;
    for await (const _ of changes(dir, { signal: stop.signal, pollMs: 20 })) {
      woke++;
      if (woke === 2) {
        await Deno.mkdir(dir);
        await append(`${dir}/events.jsonl`, "a\n");
      }
      if (woke > 2 && (await new FileTail(`${dir}/events.jsonl`).read()).length === 1) break;
    }
    assert.ok(woke > 2);
  } finally {
    stop.abort();
    await Deno.remove(parent, { recursive: true });
  }
});

/** Reads server-sent events from a stream until `until` says enough. */
async function readEvents(
  stream: ReadableStream<Uint8Array>,
  until: (events: { event: string; id?: string; data: string }[]) => boolean,
) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; id?: string; data: string }[] = [];
  let buffer = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (frame.startsWith(":")) continue;
      const e: { event: string; id?: string; data: string } = { event: "message", data: "" };
      for (const line of frame.split("\n")) {
        const [k, ...v] = line.split(": ");
        if (k === "event") e.event = v.join(": ");
        if (k === "id") e.id = v.join(": ");
        if (k === "data") e.data += v.join(": ");
      }
      events.push(e);
    }
  }
  await reader.cancel();
  return events;
}

function line(seq: number, type: string, extra: Record<string, unknown> = {}): string {
  return `${
    JSON.stringify({ seq, ts: new Date(seq * 1000).toISOString(), prev: "x", type, ...extra })
  }\n`;
}

Deno.test("runEventStream() sends what the journal holds, then each line as it is appended", async () => {
  const runs = await Deno.makeTempDir();
  const dir = `${runs}/r1`;
  await Deno.mkdir(`${dir}/logs`, { recursive: true });
  const journal = `${dir}/events.jsonl`;
  await append(
    journal,
    line(1, "run.started", {
      runId: "r1",
      environment: "production",
      who: { user: "ada", host: "elsewhere" },
    }),
  );
  await append(journal, line(2, "stage.started", { stage: "canary-5" }));
  try {
    const index = new RunIndex(runs);
    const stream = runEventStream(index, "r1", { pollMs: 600_000 });
    let appended = false;
    const events = await readEvents(stream, (evs) => {
      const journalled = evs.filter((e) => e.event === "journal");
      if (journalled.length === 2 && !appended) {
        appended = true;
        // Written while the client reads: a stage finishing, a traffic split in its log.
        append(journal, line(3, "stage.finished", { stage: "canary-5", status: "succeeded" }));
        append(
          `${dir}/logs/canary-5.log`,
          "2026-01-01T00:00:00.000Z NOTICE web: blue 80% / green 20%\n",
        );
      }
      // The state is told beside the events (its check runs on its own), so it may come later.
      return journalled.length === 3 && evs.some((e) => e.event === "traffic") &&
        evs.some((e) => e.event === "state");
    });
    const journalled = events.filter((e) => e.event === "journal");
    assert.deepEqual(journalled.map((e) => e.id), ["1", "2", "3"]);
    assert.equal(JSON.parse(journalled[2]!.data).type, "stage.finished");
    assert.equal(JSON.parse(journalled[0]!.data).prev, undefined, "the chain's hashes stay home");
    const traffic = JSON.parse(events.find((e) => e.event === "traffic")!.data);
    assert.deepEqual(traffic.split, [{ slot: "blue", percent: 80 }, {
      slot: "green",
      percent: 20,
    }]);
    assert.equal(traffic.stage, "canary-5");
    // No process holds this journal open: the run's state says killed.
    const state = JSON.parse(events.find((e) => e.event === "state")!.data);
    assert.equal(state.state, "killed");
    assert.match(state.how, /no process holds its journal open/);

    // A reconnect after id 2 gets only what came after it; a report ends the stream.
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify({ status: "succeeded" }));
    const rest = await readEvents(runEventStream(index, "r1", { afterSeq: 2 }), () => false);
    assert.deepEqual(rest.filter((e) => e.event === "journal").map((e) => e.id), ["3"]);
    assert.equal(rest.at(-1)!.event, "finished");
    assert.deepEqual(JSON.parse(rest.at(-1)!.data), { status: "succeeded" });
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
