// `deno task report render` of a production run's report: the render tests' rehearsal (the
// deploy tests' baseline, then a canary that breaches at 5% and rolls back; made once, in
// the first bench's first call, outside the measured part), rendered through the command
// in-process — report read and validated, journal chain verified, page or Markdown written —
// and the renderers alone on the parsed report. Prints each format's size and the medians.
//
//   deno bench -A bench/report_render_bench.ts
import { renderCommand } from "../lib/cli/report_render.ts";
import { readChartLibrary, renderHtml, renderMarkdown } from "../lib/render/mod.ts";
import type { Report } from "../lib/report/types.ts";
import { productionRun } from "../tests/render/_production.ts";

const io = { stdout: () => {}, stderr: () => {} };
const out = await Deno.makeTempDir({ prefix: "render-bench-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(out, { recursive: true });
  } catch {
    // already gone
  }
});

let report: Report | undefined;
/** Each bench's measured times, in ms, for the medians printed at the end. */
const times = new Map<string, number[]>();

/** Measures `fn` between b.start() and b.end(), and keeps its time under `name`. */
async function measured(b: Deno.BenchContext, name: string, fn: () => unknown): Promise<void> {
  b.start();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  b.end();
  times.set(name, [...times.get(name) ?? [], ms]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
async function run() {
  const r = await productionRun();
  report ??= JSON.parse(await Deno.readTextFile(`${r.runDir}/report.json`)) as Report;
  return { ...r, report };
}

Deno.bench({
  name: "report render --html (read, validate, verify the chain, render, write)",
  group: "command",
  baseline: true,
  async fn(b) {
    const { runDir } = await run();
    let code = -1;
    await measured(b, "report render --html", async () => {
      code = await renderCommand([runDir, "--html", "--out", `${out}/r.html`], io);
    });
    if (code !== 0) throw new Error(`render exited ${code}`);
  },
});

Deno.bench({
  name: "report render --md (read, validate, verify the chain, render, write)",
  group: "command",
  async fn(b) {
    const { runDir } = await run();
    let code = -1;
    await measured(b, "report render --md", async () => {
      code = await renderCommand([runDir, "--md", "--out", `${out}/r.md`], io);
    });
    if (code !== 0) throw new Error(`render exited ${code}`);
  },
});

Deno.bench({
  name: "renderHtml() of the parsed report",
  group: "renderer",
  baseline: true,
  async fn(b) {
    const { report } = await run();
    const chartLibrary = await readChartLibrary();
    await measured(b, "renderHtml()", () => renderHtml(report, { chartLibrary }));
  },
});

Deno.bench({
  name: "renderMarkdown() of the parsed report",
  group: "renderer",
  async fn(b) {
    const { report } = await run();
    await measured(b, "renderMarkdown()", () => renderMarkdown(report));
  },
});

globalThis.addEventListener("unload", () => {
  if (!report) return;
  const html = renderHtml(report, { chartLibrary: "" }).length;
  console.log(
    `production report: ${report.stages.length} stages, ` +
      `${
        report.stages.reduce((n, s) => n + s.gates.reduce((m, g) => m + g.samples.length, 0), 0)
      } ` +
      `gate samples; HTML ${html} characters + Chart.js, Markdown ${
        renderMarkdown(report).length
      } characters`,
  );
  for (const [name, xs] of times) {
    console.log(`${name}: median ${median(xs).toFixed(2)} ms over ${xs.length} runs`);
  }
});
