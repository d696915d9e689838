/**
 * The charting library the HTML report carries inside it: Chart.js's minified browser build
 * (UMD, it sets `window.Chart`), read from the npm package `deno install` put in the cache
 * (pinned in `deno.json`'s imports). Nothing is downloaded: a missing package is an error
 * that says to run `deno install`.
 *
 * Chart.js rather than uPlot: its floating bars draw the stages' timeline (start and end of
 * each on one axis, overlaps visible) and its line charts the gates, so one library draws
 * every chart; uPlot is smaller but has no bar ranges, and a timeline would be hand-drawn.
 * @module
 */

/** The version pinned in `deno.json` (its build's banner must say it). */
export const CHART_JS_VERSION = "4.6.1";

let cached: Promise<string> | undefined;

async function read(): Promise<string> {
  let entry: URL;
  try {
    entry = new URL(import.meta.resolve("chart.js"));
  } catch (err) {
    throw new Error(
      `Cannot find Chart.js: "chart.js" does not resolve (${
        (err as Error).message
      }); run deno install`,
    );
  }
  if (entry.protocol !== "file:") {
    throw new Error(`Cannot find Chart.js: it is not installed (${entry.href}); run deno install`);
  }
  const build = new URL("./chart.umd.min.js", entry);
  let text: string;
  try {
    text = await Deno.readTextFile(build);
  } catch (err) {
    throw new Error(
      `Cannot read Chart.js's browser build ${build.pathname}: ${(err as Error).message}; ` +
        "run deno install",
    );
  }
  if (!text.slice(0, 200).includes(`Chart.js v${CHART_JS_VERSION}`)) {
    throw new Error(`${build.pathname} is not Chart.js ${CHART_JS_VERSION}'s build`);
  }
  if (/<\/script|<!--/i.test(text)) {
    // Inside a <script> element these would end it early; the pinned build has neither.
    throw new Error(`${build.pathname} cannot be inlined in a script element`);
  }
  return text;
}

/**
 * Chart.js's minified browser build, read once per process.
 *
 * @returns The library's source, to inline in a `<script>` element.
 * @throws {Error} When the package is not installed or is not the pinned version.
 *
 * @example
 * ```ts
 * import { CHART_JS_VERSION, readChartLibrary } from "./chart_library.ts";
 * const source = await readChartLibrary();
 * console.assert(source.includes(`Chart.js v${CHART_JS_VERSION}`));
 * ```
 */
export function readChartLibrary(): Promise<string> {
  cached ??= read().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
