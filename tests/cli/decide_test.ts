// `deno task decide <run-id> promote|abort`: the decision is recorded for the stage waiting,
// by the user; every refusal is exit 2 with its reason and writes nothing (no decision.json).
import assert from "node:assert/strict";
import { main } from "../../lib/cli/main.ts";

async function decide(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["decide", ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    tty: false,
    colour: false,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

async function runs(journals: Record<string, string[]>, finished: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "decide-" });
  for (const [id, events] of Object.entries(journals)) {
    await Deno.mkdir(`${dir}/${id}`);
    await Deno.writeTextFile(`${dir}/${id}/events.jsonl`, events.map((e) => `${e}\n`).join(""));
    if (finished.includes(id)) await Deno.writeTextFile(`${dir}/${id}/report.json`, "{}");
  }
  return dir;
}

const PAUSED = '{"type":"stage.paused","stage":"canary-5"}';

Deno.test("decide records the decision for the stage waiting, with who decided", async () => {
  const dir = await runs({ r1: ['{"type":"run.started"}', PAUSED] });
  try {
    const r = await decide("r1", "abort", "--runs-dir", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^abort recorded for stage "canary-5" of run r1 \(by .+\)\n$/);
    const written = JSON.parse(await Deno.readTextFile(`${dir}/r1/decision.json`));
    assert.equal(written.action, "abort");
    assert.equal(typeof written.by, "string");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decide refuses, exit 2, nothing written: usage, no such run, a path, finished, nothing waiting", async () => {
  const dir = await runs({
    done: [PAUSED],
    busy: ['{"type":"run.started"}'],
    decided: [PAUSED, '{"type":"stage.decision","stage":"canary-5"}'],
  }, ["done"]);
  try {
    const cases: [string[], RegExp][] = [
      [["r1"], /usage: deno task decide <run-id> promote\|abort/],
      [["r1", "ship"], /usage: deno task decide/],
      [["r1", "abort", "extra"], /usage: deno task decide/],
      [["r1", "abort", "--bogus"], /bogus/],
      [["nope", "abort"], /No run "nope" in /],
      [["../done", "abort"], /No run "\.\.\/done"/],
      [["done", "promote"], /Run "done" has finished: there is nothing to decide/],
      [["busy", "promote"], /Run "busy" has no stage waiting for a decision/],
      [["decided", "promote"], /Run "decided" has no stage waiting for a decision/],
    ];
    for (const [args, message] of cases) {
      const r = await decide(...args, "--runs-dir", dir);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "");
    }
    for (const id of ["done", "busy", "decided"]) {
      assert.equal(await Deno.stat(`${dir}/${id}/decision.json`).catch(() => null), null, id);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
