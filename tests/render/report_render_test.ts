import assert from "node:assert/strict";
import { renderCommand } from "../../lib/cli/report_render.ts";
import { reportCommand } from "../../lib/cli/report.ts";
import { Journal, verifyJournal } from "../../lib/journal/journal.ts";
import { InputError } from "../../lib/runner/mod.ts";
import { diedJournal, smallReport } from "./_report.ts";

/** A runs folder holding one run: a journal of four events and the small report, chained. */
async function runsWithOne(): Promise<{ runs: string; dir: string; runId: string }> {
  const runs = await Deno.makeTempDir({ prefix: "render-cli-" });
  const report = smallReport();
  const dir = `${runs}/${report.runId}`;
  await Deno.mkdir(dir);
  const journal = await Journal.open(`${dir}/events.jsonl`);
  for (const type of ["run.started", "stage.started", "stage.finished", "run.finished"]) {
    await journal.append({ type });
  }
  await journal.close();
  const chain = await verifyJournal(`${dir}/events.jsonl`);
  report.events = { file: "events.jsonl", count: chain.lines, digest: chain.digest };
  await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report, null, 2));
  return { runs, dir, runId: report.runId };
}

function io() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
    },
  };
}

/** Every file under `dir` with its size, to show nothing was written. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await listing(path));
    else out.push(`${path} ${(await Deno.stat(path)).size}`);
  }
  return out.sort();
}

Deno.test("report render: bad usage refuses (exit 2) and writes nothing", async () => {
  const { runs, dir, runId } = await runsWithOne();
  try {
    const before = await listing(runs);
    const bad: [string[], RegExp][] = [
      [[], /^usage: deno task report render/],
      [[dir], /^usage: deno task report render/],
      [[dir, "--html", "--md"], /^usage/],
      [[dir, dir, "--html"], /^usage/],
      [[dir, "--pdf"], /Unknown option '--pdf'/],
      [[dir, "--html", "--out"], /--out/],
      [[dir, "--html", "--out", ""], /^usage/],
      [["no-such-run", "--html", "--runs-dir", runs], /No run "no-such-run"/],
      [[runId, "--html"], /No run "20260101T120000Z-abc123"/],
      [[dir, "--md", "--out", `${runs}/missing/r.md`], /missing is not a folder/],
      [[dir, "--md", "--out", runs], /it is a folder/],
    ];
    for (const [args, message] of bad) {
      const { io: o } = io();
      await assert.rejects(
        () => renderCommand(args, o),
        (err: Error) => err instanceof InputError && message.test(err.message),
        args.join(" "),
      );
    }
    assert.deepEqual(await listing(runs), before);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("report render: a report that is not one refuses, naming the field, and writes nothing", async () => {
  const { runs, dir } = await runsWithOne();
  try {
    const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    report.stages[0].status = "exploded";
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
    const before = await listing(runs);
    await assert.rejects(
      () => renderCommand([dir, "--html"], io().io),
      (err: Error) =>
        err instanceof InputError &&
        /does not match the report schema: stages\.0\.status/.test(err.message),
    );
    await Deno.writeTextFile(`${dir}/report.json`, "{ not json");
    await assert.rejects(() => renderCommand([dir, "--md"], io().io), /Cannot read .*report\.json/);
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
    assert.deepEqual(await listing(runs), before);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("report render: writes <run-dir>/report.html and report.md by default, verified", async () => {
  const { runs, dir, runId } = await runsWithOne();
  try {
    const html = io();
    assert.equal(await renderCommand([runId, "--html", "--runs-dir", runs], html.io), 0);
    assert.equal(html.out.stdout, `rendered: ${runs}/${runId}/report.html\n`);
    const page = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(
      page,
      /<li class="verify-true">✓ journal chain: 4 events, chain verified, digest /,
    );
    // What report verify checks beyond the chain is on the page too: this hand-made journal
    // (four bare events) does not state the report's fields, and the run is not signed.
    assert.match(page, /<li class="verify-false">✗ report against journal: /);
    assert.match(page, /<li class="verify-(true|false)">[✓✗] signature: unsigned/);
    const md = io();
    // Through `report`'s dispatch, as `deno task report render` runs it.
    assert.equal(await reportCommand(["render", dir, "--md"], md.io), 0);
    assert.equal(md.out.stdout, `rendered: ${dir}/report.md\n`);
    assert.match(await Deno.readTextFile(`${dir}/report.md`), /^- ✓ journal chain: 4 events/m);
    // No temporary file left beside them.
    assert.deepEqual((await listing(dir)).map((l) => l.split(" ")[0]!.slice(dir.length + 1)), [
      "events.jsonl",
      "report.html",
      "report.json",
      "report.md",
    ]);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("report render: --out - writes the document to stdout and nothing to the run", async () => {
  const { runs, dir } = await runsWithOne();
  try {
    const before = await listing(runs);
    const md = io();
    assert.equal(await renderCommand([dir, "--md", "--out", "-"], md.io), 0);
    assert.match(md.out.stdout, /^# deploy → prod &#64; v2\.0\.0: rolled\\_back\n/);
    const html = io();
    assert.equal(await renderCommand([dir, "--html", "--out", "-"], html.io), 0);
    assert.match(html.out.stdout, /^<!doctype html>/);
    assert.deepEqual(await listing(runs), before);
    const other = `${runs}/elsewhere.html`;
    assert.equal(await renderCommand([dir, "--html", "--out", other], io().io), 0);
    assert.equal(await Deno.readTextFile(other), html.out.stdout);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("report render: a journal edited after the report still renders, marked broken, exit 1", async () => {
  const { runs, dir } = await runsWithOne();
  try {
    const lines = (await Deno.readTextFile(`${dir}/events.jsonl`)).split("\n");
    lines[1] = lines[1]!.replace("stage.started", "stage.startex");
    await Deno.writeTextFile(`${dir}/events.jsonl`, lines.join("\n"));
    const html = io();
    assert.equal(await renderCommand([dir, "--html"], html.io), 1);
    assert.match(html.out.stderr, /the journal does not verify/);
    assert.match(
      await Deno.readTextFile(`${dir}/report.html`),
      /<li class="verify-false">✗ journal chain: BROKEN at line 3: line 3 does not carry the hash of line 2<\/li>/,
    );
    await Deno.remove(`${dir}/events.jsonl`);
    const md = io();
    assert.equal(await renderCommand([dir, "--md", "--out", "-"], md.io), 1);
    assert.match(
      md.out.stdout,
      /^- ✗ \*\*FAILED\*\* journal chain: cannot read events\.jsonl: No such file/m,
    );
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("report render: a run whose runner died gets its report rebuilt from the journal, then rendered", async () => {
  const runs = await Deno.makeTempDir({ prefix: "render-cli-died-" });
  try {
    const dir = `${runs}/20260101T120000Z-dead01`;
    await Deno.mkdir(dir);
    await diedJournal(dir);
    const o = io();
    assert.equal(
      await renderCommand(["20260101T120000Z-dead01", "--md", "--runs-dir", runs], o.io),
      0,
    );
    assert.match(o.out.stderr, /no report\.json \(its runner died\): rebuilt from the journal/);
    const md = await Deno.readTextFile(`${dir}/report.md`);
    assert.match(md, /: interrupted$/m);
    assert.match(md, /^- ✓ journal chain: 4 events, chain verified/m);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
