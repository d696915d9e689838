/**
 * Opens a rendered report in a real browser: Debian's headless Chromium (`/usr/bin/chromium`,
 * which `scripts/test.sh` installs) driven by playwright-core. Records every request the
 * page makes, every console message and page error, reads each canvas's pixels, and writes
 * a screenshot under `tests/render/artefacts/` (git-ignored). The functions handed to
 * `page.evaluate` run in the page; this file is checked without the DOM's types, so they
 * reach the page's globals untyped.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { type Browser, chromium, type Page } from "playwright-core";

/** Where the screenshots go. */
export const ARTEFACTS = new URL("./artefacts/", import.meta.url).pathname;

/** What a canvas holds, read from its pixels. */
export interface CanvasPixels {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Pixels not fully transparent. */
  readonly painted: number;
  /** Distinct colours among them. */
  readonly colours: number;
  /** Pixels of a strong red (threshold lines, failed bars and points). */
  readonly red: number;
  /** Pixels of a strong green (succeeded bars). */
  readonly green: number;
  /** Pixels of the first series' blue (a gate's first target's line). */
  readonly blue: number;
}

/** A page opened from a file, and what it did while loading. */
export interface OpenedPage {
  readonly page: Page;
  readonly url: string;
  /** Every request but the page's own document. */
  readonly requests: string[];
  /** Console messages of type error or warning, and uncaught page errors. */
  readonly problems: string[];
  /** `data-charts` on the root element (charts drawn), or null. */
  readonly charts: string | null;
  /** `data-render-error`, or null. */
  readonly renderError: string | null;
}

/** Launches Chromium; fails with what to do when it is not installed. */
export async function launch(): Promise<Browser> {
  const path = "/usr/bin/chromium";
  if (!(await Deno.stat(path).catch(() => null))?.isFile) {
    throw new Error(`${path} is missing: apt-get install chromium (scripts/test.sh does)`);
  }
  return await chromium.launch({ executablePath: path });
}

/**
 * Opens `file` and waits for its load event: every inline script has run by then (the
 * charts are drawn synchronously, animation off), so nothing is waited for by time.
 */
export async function open(browser: Browser, file: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const url = new URL(`file://${await Deno.realPath(file)}`).href;
  const requests: string[] = [];
  const problems: string[] = [];
  page.on("request", (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url, { waitUntil: "load" });
  const [charts, renderError] = await page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return [root.getAttribute("data-charts"), root.getAttribute("data-render-error")];
  });
  return { page, url, requests, problems, charts, renderError };
}

/** The pixels of every canvas on the page. */
export async function canvases(page: Page): Promise<CanvasPixels[]> {
  return await page.evaluate(() =>
    [...(globalThis as any).document.querySelectorAll("canvas")].map((c: any) => {
      const data: Uint8ClampedArray = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      let red = 0;
      let green = 0;
      let blue = 0;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
        if (a === 0) continue;
        painted++;
        colours.add((r << 16) | (g << 8) | b);
        if (a > 200 && r > 150 && g < 90 && b < 90) red++;
        if (a > 200 && g > 100 && r < 80 && b < 80) green++;
        if (a > 200 && b > 150 && r < 60 && g < 130) blue++;
      }
      return {
        id: c.id,
        width: c.width,
        height: c.height,
        painted,
        colours: colours.size,
        red,
        green,
        blue,
      };
    })
  );
}

/**
 * The timeline's bars as Chart.js laid them out on the canvas: each stage's left and right
 * edge in pixels (a stage with no bar: null).
 */
export async function timelineBars(
  page: Page,
): Promise<({ id: string; left: number; right: number } | null)[]> {
  return await page.evaluate(() => {
    const canvas = (globalThis as any).document.getElementById("timeline-chart");
    const chart = (globalThis as any).Chart.getChart(canvas);
    const labels = chart.data.labels as string[];
    const values = chart.data.datasets[0].data as (number[] | null)[];
    return chart.getDatasetMeta(0).data.map((bar: any, i: number) => {
      if (values[i] === null) return null;
      const { x, base } = bar.getProps(["x", "base"], true);
      return { id: labels[i]!, left: Math.min(x, base), right: Math.max(x, base) };
    });
  });
}

/** Writes a full-page screenshot to `tests/render/artefacts/<name>` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(ARTEFACTS, { recursive: true });
  const path = `${ARTEFACTS}${name}`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
