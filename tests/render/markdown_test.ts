import assert from "node:assert/strict";
import { renderMarkdown } from "../../lib/render/mod.ts";
import { rebuildReport } from "../../lib/runner/rebuild.ts";
import { diedJournal, smallReport } from "./_report.ts";

/** The rows of the Markdown table that follows `heading` (its header and separator left out). */
function tableAfter(md: string, heading: string): string[][] {
  const lines = md.slice(md.indexOf(heading)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("| "));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("| ")) break;
    // Cells split on the pipes that are not escaped.
    rows.push(line.slice(2, -2).split(/(?<!\\) \| /));
  }
  return rows;
}

Deno.test("renderMarkdown() has the header, verification, approvals, stages, gates, checks and rollback", () => {
  const md = renderMarkdown(smallReport(), {
    verification: [{ check: "journal chain", ok: true, detail: "40 events, chain verified" }],
  });
  const headings = md.split("\n").filter((l) => /^#{1,3} /.test(l));
  assert.deepEqual(headings, [
    "# deploy → prod &#64; v2.0.0: rolled\\_back",
    "## Verification",
    "## Approvals",
    "## Stages",
    "## Gates",
    "### canary-5",
    "## Checks",
    "### preflight:a",
    "## Rollback",
    "### rollback: succeeded",
  ]);
  assert.match(md, /^- ✓ journal chain: 40 events, chain verified$/m);
  assert.match(md, /^- stage confirm: "DEPLOY" given by ada&#64;example\.com at /m);
  assert.match(md, /^\| \*\*who\*\* \| ada&#64;example\.com on laptop \|$/m);
  const stages = tableAfter(md, "## Stages");
  assert.equal(stages.length, 7);
  assert.deepEqual(stages[4], [
    "canary-5",
    "normal",
    "**failed**",
    "20",
    "24",
    "4 s",
    "1",
    "error\\_rate &lt; 1% breached",
  ]);
  assert.deepEqual(stages[5]!.slice(0, 5), ["promote", "normal", "skipped", "", ""]);
});

Deno.test("renderMarkdown() gives each gate a table of its samples against its threshold", () => {
  const md = renderMarkdown(smallReport());
  assert.match(md, /^#### error\\_rate &lt; 1%: failed$/m);
  assert.match(
    md,
    /^threshold &lt; 1 %, 6 samples: error\\_rate &lt; 1% breached for service=worker/m,
  );
  const rows = tableAfter(md, "#### error\\_rate");
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.map((r) => [r[0], r[1], r[2], r[3], r[4]]), [
    ["api", "1", "0.25", "&lt; 1", "successful"],
    ["api", "2", "none", "&lt; 1", "**inconclusive**"],
    ["api", "3", "0.5", "&lt; 1", "successful"],
    ["worker", "1", "0.5", "&lt; 1", "successful"],
    ["worker", "2", "0.75", "&lt; 1", "successful"],
    ["worker", "3", "3.25", "&lt; 1", "**failed**"],
  ]);
  assert.equal(rows[1]![8], "no traffic in the window");
  // The gate never sampled: no table, a sentence.
  const latency = md.slice(md.indexOf("#### p95\\_latency"), md.indexOf("## Checks"));
  assert.match(latency, /No sample was measured for this gate\./);
  assert.doesNotMatch(latency, /^\|/m);
});

Deno.test("renderMarkdown() escapes the report as data: no HTML, no mention, one cell per value", () => {
  const md = renderMarkdown(smallReport());
  // No tag of the report's survives (the one HTML block is the renderer's own <details>).
  const outsideFences = md.replace(/^(`{3,})json\n[\s\S]*?^\1$/gm, "");
  const tags = [...outsideFences.matchAll(/<\/?([a-z]+)[^>]*>/gi)].map((m) => m[1]);
  assert.deepEqual([...new Set(tags)], ["details", "summary"]);
  assert.match(md, /\| &lt;\/script&gt;&lt;script&gt;document\.title="pwned"&lt;\/script&gt; \|/);
  assert.doesNotMatch(outsideFences, /(^|[^;])@/m, "no @ outside code could mention anyone");
  const checks = tableAfter(md, "## Checks");
  assert.equal(checks.length, 1);
  assert.equal(checks[0]!.length, 5, "the | in a check's name stays in its cell");
  assert.equal(checks[0]![0], "Secrets \\| present &#64;team");
  assert.equal(checks[0]![3], "2 secrets present \\`ok\\`");
  assert.match(checks[0]![4]!, /note: &lt;img src="http:\/\/127\.0\.0\.1:9\/x\.png" onerror=/);
  // The rollback's output is a block its backticks and </details> cannot end.
  assert.match(md, /<details><summary>Its output<\/summary>\n\n````json\n\{\n/);
  assert.match(md, /back on blue ``` <\/details>"\n {2}\]\n\}\n````\n\n<\/details>/);
});

Deno.test("renderMarkdown() renders a rebuilt interrupted report and a broken chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "render-rebuilt-md-" });
  try {
    await diedJournal(dir);
    const md = renderMarkdown(await rebuildReport(dir), {
      verification: [{ check: "journal chain", ok: false, detail: "BROKEN at line 2" }],
    });
    assert.match(md, /^# deploy → prod &#64; v2\.0\.0: interrupted$/m);
    assert.match(md, /^- ✗ \*\*FAILED\*\* journal chain: BROKEN at line 2$/m);
    assert.match(md, /^> This report was rebuilt from the journal/m);
    assert.match(md, /^No gate was recorded\.$/m);
    assert.match(md, /^No check was recorded\.$/m);
    assert.match(md, /^no rollback ran$/m);
    const stages = tableAfter(md, "## Stages");
    assert.deepEqual(stages.map((r) => [r[0], r[2], r[4]]), [
      ["lock", "succeeded", stages[0]![4]],
      ["canary-5", "**interrupted**", `${stages[1]![4]}`],
      ["promote", "skipped", ""],
    ]);
    assert.match(stages[1]![4]!, /\(open\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
