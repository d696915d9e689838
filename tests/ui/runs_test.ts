// How the dashboard tells a run's state without a report: a real process holding the
// journal open is running (paused while a stage.paused waits for its stage.decision); the
// same run once that process is gone is killed; a run.finished, then a report, finish it.
// Where /proc cannot tell: the recorded pid, then the journal's age. The list: newest first,
// filtered by environment and status; a folder that is no run left out.
import assert from "node:assert/strict";
import { fileHolders, RunIndex, runnerLives } from "../../lib/ui/mod.ts";
import { hostname } from "node:os";

function line(seq: number, type: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ seq, ts: `2026-01-01T00:00:0${seq}.000Z`, type, ...extra })}\n`;
}

function started(id: string, environment: string, at: string): string {
  return line(1, "run.started", {
    runId: id,
    pipeline: "deploy",
    environment,
    version: "v1",
    startedAt: at,
    who: { user: "ada", host: "elsewhere" },
  });
}

/** A real process that holds `path` open (appending) until `release()`. */
async function holder(path: string) {
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec 3>>"$1"; echo ready; read -r _', "holder", path],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "ready");
  return {
    pid: child.pid,
    async release() {
      await child.stdin.close();
      await child.status;
      // stdout is locked by the decoder it was piped through: cancel through its reader.
      await reader.cancel();
    },
  };
}

Deno.test("RunIndex tells running, paused, killed and finished apart by the journal's holder", async () => {
  const runs = await Deno.makeTempDir();
  const journal = `${runs}/r1/events.jsonl`;
  await Deno.mkdir(`${runs}/r1`);
  await Deno.writeTextFile(journal, started("r1", "production", "2026-01-01T00:00:00.000Z"));
  const index = new RunIndex(runs);
  const runner = await holder(journal);
  try {
    const held = await fileHolders([journal]);
    assert.ok(held, "/proc is readable here");
    assert.deepEqual(held.get(await Deno.realPath(journal)), [runner.pid]);

    let r = await index.get("r1");
    assert.equal(r?.state, "running");
    assert.match(r!.how!, /a process holds its journal open/);
    await Deno.writeTextFile(journal, line(2, "stage.paused", { stage: "canary-5" }), {
      append: true,
    });
    r = await index.get("r1");
    assert.equal(r?.state, "paused");
    assert.equal(r?.waiting, "canary-5");
    assert.equal((await index.list({ status: "paused" })).length, 1);
    await Deno.writeTextFile(journal, line(3, "stage.decision", { stage: "canary-5" }), {
      append: true,
    });
    assert.equal((await index.get("r1"))?.state, "running");
  } finally {
    await runner.release();
  }
  const killed = await index.get("r1");
  assert.equal(killed?.state, "killed");
  assert.match(killed!.how!, /no process/);
  assert.equal((await index.list({ status: "killed" }))[0]?.id, "r1");

  // run.finished is journalled before report.json is written: finished already.
  await Deno.writeTextFile(journal, line(4, "run.finished", { status: "rolled_back" }), {
    append: true,
  });
  assert.deepEqual([(await index.get("r1"))?.state, (await index.get("r1"))?.status], [
    "finished",
    "rolled_back",
  ]);
  await Deno.writeTextFile(
    `${runs}/r1/report.json`,
    JSON.stringify({
      environment: "production",
      pipeline: { name: "deploy" },
      status: "rolled_back",
      who: { user: "ada" },
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:04.000Z",
    }),
  );
  const done = await index.get("r1");
  assert.equal(done?.state, "finished");
  assert.equal(done?.finishedAt, "2026-01-01T00:00:04.000Z");
  await Deno.remove(runs, { recursive: true });
});

Deno.test("RunIndex.list() is newest first, filtered, and leaves out what is not a run", async () => {
  const runs = await Deno.makeTempDir();
  const make = async (id: string, env: string, at: string) => {
    await Deno.mkdir(`${runs}/${id}`);
    await Deno.writeTextFile(`${runs}/${id}/events.jsonl`, started(id, env, at));
  };
  await make("a", "staging", "2026-01-01T00:00:00.000Z");
  await make("b", "production", "2026-01-03T00:00:00.000Z");
  await make("c", "staging", "2026-01-02T00:00:00.000Z");
  await Deno.mkdir(`${runs}/empty`); // no journal
  await Deno.mkdir(`${runs}/junk`);
  await Deno.writeTextFile(`${runs}/junk/events.jsonl`, "not json\n");
  await Deno.writeTextFile(`${runs}/file.txt`, "x");
  try {
    const index = new RunIndex(runs);
    assert.deepEqual((await index.list()).map((r) => r.id), ["b", "c", "a"]);
    assert.deepEqual((await index.list({ environment: "staging" })).map((r) => r.id), ["c", "a"]);
    assert.deepEqual(await index.list({ environment: "staging", status: "running" }), []);
    assert.deepEqual((await index.list({ status: "killed" })).map((r) => r.id), ["b", "c", "a"]);
    assert.equal(await index.get("../a"), undefined);
    assert.equal(await index.get("nope"), undefined);
    assert.deepEqual(await new RunIndex(`${runs}/missing`).list(), []);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("runnerLives() without /proc: the recorded pid, then the journal's age", async () => {
  const dir = await Deno.makeTempDir();
  const journal = `${dir}/events.jsonl`;
  await Deno.writeTextFile(journal, "x\n");
  try {
    const base = { journal, held: undefined, sameHost: true };
    assert.equal((await runnerLives({ ...base, pid: Deno.pid })).alive, true);
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const dead = await runnerLives({ ...base, pid: gone.pid });
    assert.equal(dead.alive, false);
    assert.match(dead.how, new RegExp(`pid ${gone.pid}, is gone`));
    // Another host's pid says nothing here: the journal's age decides.
    const mtime = (await Deno.stat(journal)).mtime!.getTime();
    const fresh = await runnerLives({ ...base, pid: gone.pid, sameHost: false }, {
      staleMs: 60_000,
      now: mtime + 59_000,
    });
    assert.equal(fresh.alive, true);
    const stale = await runnerLives({ ...base, sameHost: hostname() === "" }, {
      staleMs: 60_000,
      now: mtime + 61_000,
    });
    assert.equal(stale.alive, false);
    assert.match(stale.how, /last written 61 s ago/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
