import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "../deploy/_deploy.ts";
import { Tmux } from "./_tmux.ts";

// The live view as a person sees it: the real CLI deploys production in a real terminal
// (tmux), in a sandbox of the test's own on the virtual clock. The canary breaches (scenario
// canary-errors) and pauses for a decision (on-breach=pause), so the region stands still while
// the question waits: the test reads it at 80 columns while the run goes, at 160 once paused,
// answers "abort" at the terminal, and checks what the screen says against the run's report.
// Beside it, a run with NO_COLOR shows no colour. The redraw is checked by the scrollback: a
// region redrawn in place leaves no copy of itself behind, however many frames were drawn.
// The CLI runs as deno.json's tasks run it, with --no-prompt: at a terminal Deno would
// otherwise ask for a permission a stage's Worker lacks (the storage check's statfs of "."),
// and the question would stop the run; a pipe denies it without asking.

const CONFIRM = ["--confirm", "'DEPLOY TO PRODUCTION'", ...VIRTUAL_LEASE];
const TITLE = /^deploy → production @ v1\.2\.4 · run \S+ · \S+$/;
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const SGR = new RegExp(String.raw`\x1b\[[0-9;]*m`, "g");

function titles(text: string): number {
  return text.split("\n").filter((l) => TITLE.test(l.trimEnd())).length;
}

/** The region that ends `text` (or ends before `before`): its title line to its last line. */
function region(text: string, before?: RegExp): string[] {
  let lines = text.split("\n").map((l) => l.trimEnd());
  if (before) lines = lines.slice(0, lines.findLastIndex((l) => before.test(l)));
  const at = lines.findLastIndex((l) => TITLE.test(l));
  assert.ok(at >= 0, `no region in:\n${text}`);
  const rest = lines.slice(at);
  // It ends at a blank line (the question's), or at the run's outcome printed below it.
  const end = rest.findIndex((l) =>
    l === "" || /^(succeeded|failed|rolled_back|interrupted)\b/.test(l)
  );
  return end < 0 ? rest : rest.slice(0, end);
}

Deno.test("the live view redraws in place at 80 and 160 columns, names every breach, and honours NO_COLOR", async () => {
  const r = await Rehearsal.create();
  const plain = await Rehearsal.create();
  const live = new Tmux("live");
  const mono = new Tmux("mono");
  try {
    const cmd = (x: Rehearsal, extra: string[]) =>
      ["deno", ...x.args("deploy", "production", "v1.2.4", [...CONFIRM, ...extra])].join(" ");
    await live.start(
      cmd(r, ["--scenario", "canary-errors", "--option", "on-breach=pause"]),
      160,
      50,
      { TERM: "xterm-256color" },
    );
    // No staging rehearsal: production's pre-flight fails, and the run ends soon.
    await mono.start(cmd(plain, ["--option", "rehearse-staging=no"]), 80, 40, {
      TERM: "xterm-256color",
      NO_COLOR: "1",
    });

    // At 160 columns, the paused canary's region, left on screen above the question.
    const paused = await live.until((s) => /promote or abort\? *$/m.test(s), "the canary paused");
    assert.equal(titles(paused), 1, "a frame was left behind: the region did not redraw in place");
    const board = region(paused, /^stage "canary-5" breached/);
    for (const l of board) assert.ok([...l].length <= 159, `wider than 159: ${l}`);
    assert.ok(board.some((l) => [...l].length > 80), "the region does not use 160 columns");
    const text = board.join("\n");
    const progress =
      /^canary-5 · sample (\d+) of (\d+) · (\S+) elapsed, (\S+) left \(wall [^)]+\)$/m
        .exec(text);
    assert.ok(progress, `no progress line in:\n${text}`);
    assert.ok(Number(progress[1]) >= 1 && Number(progress[1]) <= Number(progress[2]));
    assert.match(text, /^ {2}service +error_rate < 1% +p95_latency < 2000ms +requests$/m);
    const rows = new Map<string, { error: string; requests: number }>();
    for (const s of SERVICES) {
      const row = new RegExp(`^ {2}${s} +([✓✗?]) (\\S+) +[✓✗?] \\S+ +([\\d,]+)$`, "m").exec(text);
      assert.ok(row, `no row for ${s} in:\n${text}`);
      rows.set(s, { error: `${row[1]} ${row[2]}`, requests: Number(row[3]!.replaceAll(",", "")) });
      assert.match(text, new RegExp(`^ {2}${s} +[█▒]+ blue \\d+% / green \\d+%$`, "m"));
    }
    assert.match(text, /✗ breach: /);
    // Colour at a terminal: the breached values are red.
    const escaped = await live.history(true);
    const question = escaped.lastIndexOf('stage "canary-5" breached');
    const colours = escaped.slice(escaped.lastIndexOf("✗ breach: ", question) - 8, question);
    assert.ok(colours.includes("\x1b[31m"), "no red in the region");

    await live.type("abort");
    const done = await live.until((s) => /^EXIT=\d+$/m.test(s), "the run ended");
    assert.match(done, /^EXIT=1$/m);
    // The frozen region and the run's last one: nothing else.
    assert.equal(titles(done), 2);

    // What the screen said is what the report holds: the last look's samples of error_rate.
    const runId = /^deploy → production @ v1\.2\.4 · run (\S+)/m.exec(done)![1]!;
    const report = JSON.parse(await Deno.readTextFile(`${r.dir}/runs/${runId}/report.json`));
    const gate = report.stages.find((s: { id: string }) => s.id === "canary-5").gates
      .find((g: { gate: string }) => g.gate === "error_rate < 1%");
    assert.equal(gate.verdict, "failed");
    type Sample = {
      at: string;
      value: number;
      labels: Record<string, string>;
      verdict: string;
      decision?: { state: string };
      evidence: { requests: number };
    };
    const latest = (gate.samples as Sample[]).filter((s) => s.at === gate.samples.at(-1).at);
    const breached = latest.filter((s) => s.verdict === "failed" || s.decision?.state === "breach");
    assert.ok(breached.length >= 1);
    for (const s of latest) {
      const row = rows.get(s.labels.service!)!;
      const mark2 = breached.includes(s) ? "✗" : s.verdict === "successful" ? "✓" : "?";
      assert.equal(row.error, `${mark2} ${+s.value.toFixed(2)}%`);
    }
    // The failed stage names every service that breached, with its value and counts.
    const flat = done.split("\n").map((l) => l.trimEnd());
    const head = flat.findIndex((l) =>
      l.includes(`canary-5: error_rate < 1% breached for ${breached.length} of 4 service(s):`)
    );
    assert.ok(head >= 0, `no breach list in:\n${done}`);
    const listed = flat.slice(head + 1, head + 1 + breached.length).map((l) => l.trim());
    assert.deepEqual(
      listed.map((l) => l.split(" ").slice(0, 2).join(" ")),
      breached.map((s) => `${s.labels.service} ${+s.value.toFixed(2)}%`),
    );

    // At 80 columns with NO_COLOR: the region redrawn in place (its last frame stays), every
    // stage of the graph in it, every line within 79 columns, and not one colour.
    const mdone = await mono.until((s) => /^EXIT=\d+$/m.test(s), "the NO_COLOR run ended");
    assert.match(mdone, /^EXIT=1$/m);
    assert.equal(titles(mdone), 1, "a frame was left behind: the region did not redraw in place");
    const escapes = await mono.history(true);
    assert.deepEqual(escapes.match(SGR) ?? [], []);
    const last = region(mdone);
    for (const l of last) assert.ok([...l].length <= 79, `wider than 79: ${l}`);
    const mid = /^deploy → production @ v1\.2\.4 · run (\S+)/m.exec(mdone)![1]!;
    const failed = JSON.parse(await Deno.readTextFile(`${plain.dir}/runs/${mid}/report.json`));
    const shown = last.slice(1).join("  ");
    for (const s of failed.stages as { id: string; status: string }[]) {
      const mark = { succeeded: "✓", failed: "✗", skipped: "-", interrupted: "■" }[s.status];
      assert.ok(shown.includes(`${mark} ${s.id}`), `${s.id} (${s.status}) not in:\n${shown}`);
    }
  } finally {
    await live.kill();
    await mono.kill();
    await r.remove();
    await plain.remove();
  }
});
