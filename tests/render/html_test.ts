import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readChartLibrary, renderHtml } from "../../lib/render/mod.ts";
import { rebuildReport } from "../../lib/runner/rebuild.ts";
import { diedJournal, EVIL_EVIDENCE, EVIL_STAGE, smallReport } from "./_report.ts";

const chartLibrary = await readChartLibrary();

/** Every `<script ...>...</script>` element of a page: its attributes and its text. */
function scripts(page: string): { attrs: string; body: string }[] {
  return [...page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => ({
    attrs: m[1]!,
    body: m[2]!,
  }));
}

function csp(page: string): string {
  return /<meta http-equiv="Content-Security-Policy" content="([^"<>&]+)">/.exec(page)![1]!;
}

Deno.test("renderHtml() escapes the report as data: a stage named </script><script> opens no script, evidence holding an <img> is text", () => {
  const page = renderHtml(smallReport(), { chartLibrary });
  const found = scripts(page);
  // The data, Chart.js, the page's own: nothing else, and nothing cut short.
  assert.equal(found.length, 3);
  assert.equal(found[0]!.attrs, ' type="application/json" id="report-data"');
  assert.equal(found[1]!.body, chartLibrary);
  assert.doesNotMatch(page, /<script>document\.title/);
  assert.doesNotMatch(page, /<img /);
  assert.match(page, /&lt;\/script&gt;&lt;script&gt;document\.title=&quot;pwned&quot;/);
  assert.match(page, /&lt;img src=&quot;http:\/\/127\.0\.0\.1:9\/x\.png&quot; onerror=/);
  const data = JSON.parse(found[0]!.body);
  assert.equal(data.timeline[2].id, EVIL_STAGE);
  assert.ok(!page.includes(EVIL_EVIDENCE));
});

Deno.test("renderHtml() allows no network and runs only its own two scripts, by their hashes", () => {
  const page = renderHtml(smallReport(), { chartLibrary });
  const policy = csp(page);
  assert.match(policy, /^default-src 'none'; /);
  const hashes = [...policy.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]);
  const executable = scripts(page).filter((s) => !s.attrs.includes("application/json"));
  const sha = (t: string) => createHash("sha256").update(t).digest("base64");
  assert.deepEqual(hashes.slice(0, 2), executable.map((s) => sha(s.body)));
  const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
  assert.equal(hashes[2], sha(style));
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|https?:/);
  // Nothing in the markup (the scripts' text aside) points anywhere.
  const markup = page.replace(/<script([^>]*)>[\s\S]*?<\/script>/g, "<script$1></script>");
  assert.doesNotMatch(markup, /<(link|img|iframe|object|embed|base)\b/i);
  assert.doesNotMatch(markup, /<[a-z][^>]*\s(src|href|action|srcset)=/i);
});

Deno.test("renderHtml() draws the timeline and a canvas per sampled gate; a gate never sampled says so", () => {
  const page = renderHtml(smallReport(), { chartLibrary });
  assert.match(page, /<canvas id="timeline-chart"/);
  assert.equal([...page.matchAll(/<canvas id="gate-\d+" class="gate-chart"/g)].length, 1);
  assert.match(page, /<canvas id="gate-0" class="gate-chart"/);
  assert.doesNotMatch(page, /id="gate-1"/);
  assert.match(page, /p95_latency &lt; 2000ms<\/strong> <span class="status s-not_measured">/);
  assert.match(page, /No sample was measured for this gate\./);
  // Every sample is in the markup too, with the threshold beside it.
  assert.match(page, /<summary>Samples \(6\)<\/summary>/);
  assert.match(
    page,
    /<td>worker<\/td><td class="num">3<\/td><td>[^<]+<\/td><td class="num">3\.25<\/td><td>&lt; 1<\/td><td><span class="status s-failed">failed<\/span>/,
  );
  assert.match(page, /<td class="num">none<\/td>/);
  assert.match(page, /<h2>Checks<\/h2><h3>preflight:a<\/h3>/);
  assert.match(page, /<h2>Rollback<\/h2><p>rollback ran \(rollback\): succeeded<\/p>/);
  assert.match(page, /back on blue ``` &lt;\/details&gt;/);
});

Deno.test("renderHtml() shows the verification handed in, a broken chain in red", () => {
  const broken = renderHtml(smallReport(), {
    chartLibrary,
    verification: [{ check: "journal chain", ok: false, detail: "BROKEN at line 3: edited" }],
  });
  assert.match(broken, /<li class="verify-false">✗ journal chain: BROKEN at line 3: edited<\/li>/);
  const none = renderHtml(smallReport(), { chartLibrary });
  assert.match(none, /<li class="verify-null">– verification: not verified when this was rendered/);
});

Deno.test("renderHtml() renders a rebuilt interrupted report: no gates, no checks, a note why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "render-rebuilt-" });
  try {
    await diedJournal(dir);
    const report = await rebuildReport(dir);
    assert.equal(report.status, "interrupted");
    const page = renderHtml(report, { chartLibrary });
    assert.match(page, /<span class="status s-interrupted">interrupted<\/span><\/h1>/);
    assert.match(page, /rebuilt from the journal of a run whose runner died/);
    assert.match(page, /<p>No gate was recorded\.<\/p>/);
    assert.match(page, /<p>No check was recorded\.<\/p>/);
    assert.match(page, /<td>where<\/td><td>not recorded<\/td>/);
    const data = JSON.parse(scripts(page)[0]!.body);
    const canary = data.timeline.find((r: { id: string }) => r.id === "canary-5");
    assert.equal(canary.open, true, "running when the runner died: its bar runs to the end");
    assert.equal(data.timeline.find((r: { id: string }) => r.id === "promote").start, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
