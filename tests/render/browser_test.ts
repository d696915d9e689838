// The HTML report in a real browser (Debian's headless Chromium through playwright-core):
// a production rehearsal whose canary breaches and rolls back, rendered by the real CLI in
// both formats, and the renderers' small report whose data would be markup if it were not
// escaped. Each page: charts drawn (pixels read from every canvas), the timeline's bars laid
// out with the concurrency visible, no console error, no request but the file itself, and a
// screenshot under tests/render/artefacts/ (git-ignored; the test prints each path).
import assert from "node:assert/strict";
import { readChartLibrary, renderHtml } from "../../lib/render/mod.ts";
import type { Report } from "../../lib/report/types.ts";
import { canvases, launch, open, screenshot, timelineBars } from "./_browser.ts";
import { productionRun } from "./_production.ts";
import { smallReport } from "./_report.ts";

/** Runs the real CLI: `deno task report ...`. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", "report", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test({
  name:
    "report render --html: a production run's report opens in Chromium, every chart drawn, nothing fetched",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const run = await productionRun();
    const report = JSON.parse(await Deno.readTextFile(`${run.runDir}/report.json`)) as Report;
    const sampled = report.stages.flatMap((s) => s.gates).filter((g) => g.samples.length > 0);
    // The breaching gate was measured; the others may have stopped before their first look.
    const gates = report.stages.flatMap((s) =>
      s.gates.map((g) => `${s.id} ${g.gate} ${g.verdict} ${g.samples.length}`)
    );
    assert.ok(
      sampled.some((g) => g.verdict === "failed" && g.samples.some((x) => x.verdict === "failed")),
      gates.join("\n"),
    );

    await t.step("bad usage exits 2 and writes nothing", async () => {
      const before = await listing(run.runDir);
      const r = await cli("render", run.runDir);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /usage: deno task report render/);
      assert.equal(
        (await cli("render", run.runDir, "--html", "--out", `${run.runDir}/no/x.html`)).code,
        2,
      );
      assert.deepEqual(await listing(run.runDir), before);
    });

    await t.step(
      "the Markdown has the breach, the samples against the threshold and the rollback",
      async () => {
        const r = await cli("render", run.runId, "--md", "--runs-dir", `${run.rehearsal.dir}/runs`);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, `rendered: ${run.runDir}/report.md\n`);
        const md = await Deno.readTextFile(`${run.runDir}/report.md`);
        assert.match(md, /^# deploy → production &#64; v1\.1\.0: rolled\\_back$/m);
        assert.match(md, /^- ✓ journal chain: \d+ events, chain verified/m);
        assert.match(md, /^\| canary-5 \| normal \| \*\*failed\*\* \|/m);
        assert.match(md, /^#### error\\_rate &lt; 1% \\\(sequential\\\): failed$/m);
        // A breaching sample, its value over the threshold beside it.
        const breach = /^\| [^|]+ \| \d+ \| ([\d.]+) \| &lt; 1 \| \*\*failed\*\* \|/m.exec(md);
        assert.ok(breach, "a failed sample row in the error-rate table");
        assert.ok(Number(breach[1]) >= 1, breach[0]);
        assert.match(md, /^rollback ran \\\(rollback\\\): succeeded$/m);
        assert.ok(md.length < 65536, `fits a GitHub comment: ${md.length} characters`);
      },
    );

    await t.step(
      "the HTML in Chromium: timeline and gate charts drawn, no error, no request",
      async () => {
        const r = await cli("render", run.runDir, "--html");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const file = `${run.runDir}/report.html`;
        const browser = await launch();
        try {
          const opened = await open(browser, file);
          assert.equal(opened.renderError, null);
          assert.deepEqual(opened.problems, []);
          assert.deepEqual(opened.requests, []);
          assert.equal(opened.charts, String(1 + sampled.length));
          const pixels = await canvases(opened.page);
          assert.equal(pixels.length, 1 + sampled.length);
          for (const c of pixels) {
            assert.ok(c.width > 300 && c.height > 100, `${c.id}: ${c.width}×${c.height}`);
            assert.ok(
              c.painted > c.width * c.height * 0.01,
              `${c.id} is blank: ${JSON.stringify(c)}`,
            );
            assert.ok(c.colours > 10, `${c.id}: ${JSON.stringify(c)}`);
            assert.ok(c.red > 50, `${c.id}: no threshold line or failed bar drawn`);
          }
          for (const c of pixels.filter((c) => c.id.startsWith("gate-"))) {
            assert.ok(c.blue > 100, `${c.id}: its first target's line is not drawn`);
          }
          const timeline = pixels.find((c) => c.id === "timeline-chart")!;
          assert.ok(timeline.green > 1000, "the succeeded stages' bars");
          // Concurrency visible: the four slot deploys' bars overlap on the canvas.
          const bars = await timelineBars(opened.page);
          assert.equal(bars.length, report.stages.length);
          const deploys = bars.filter((b) => b?.id.startsWith("deploy:"));
          assert.ok(deploys.length >= 2);
          const overlap = Math.min(...deploys.map((b) => b!.right)) -
            Math.max(...deploys.map((b) => b!.left));
          assert.ok(overlap > 10, `the deploys' bars overlap by ${overlap} px`);
          const skipped = report.stages.filter((s) => s.status === "skipped").map((s) => s.id);
          assert.ok(skipped.includes("canary-20"));
          for (const id of skipped) {
            assert.equal(
              bars[report.stages.findIndex((s) => s.id === id)],
              null,
              `${id} has no bar`,
            );
          }
          console.log(`screenshot: ${await screenshot(opened.page, "production-report.png")}`);
        } finally {
          await browser.close();
        }
      },
    );
  },
});

Deno.test({
  name:
    "renderHtml() in Chromium: a stage named </script><script> and an <img> in evidence stay text",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "render-browser-" });
    const browser = await launch();
    try {
      const file = `${dir}/report.html`;
      await Deno.writeTextFile(
        file,
        renderHtml(smallReport(), { chartLibrary: await readChartLibrary() }),
      );
      const opened = await open(browser, file);
      assert.deepEqual(opened.problems, []);
      // The evidence's <img src="http://127.0.0.1:9/..."> would have been fetched as markup.
      assert.deepEqual(opened.requests, []);
      assert.equal(await opened.page.title(), "deploy → prod @ v2.0.0: rolled_back");
      assert.equal(opened.charts, "2", "the timeline and the one sampled gate");
      assert.equal(await opened.page.locator("img").count(), 0);
      const names = await opened.page.locator("#timeline td:first-child").allTextContents();
      assert.ok(names.includes('</script><script>document.title="pwned"</script>'), names.join());
      for (const c of await canvases(opened.page)) assert.ok(c.painted > 1000, c.id);
      assert.equal(
        await opened.page.locator("text=No sample was measured for this gate.").count(),
        1,
      );
      console.log(`screenshot: ${await screenshot(opened.page, "small-report.png")}`);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
