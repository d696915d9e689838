/**
 * The frame of the dashboard's pages (private): one style sheet, the page's data as JSON in
 * an `application/json` element (never markup), its inline scripts, and the
 * Content-Security-Policy that goes with them as a response header: only these scripts and
 * this style (by their hashes), requests to the dashboard itself only, forms to itself only,
 * no framing.
 * @module
 */
import { createHash } from "node:crypto";
import { escapeHtml as h, scriptJson } from "../render/mod.ts";
import type { Page } from "./page.ts";

/** The dashboard's style sheet. */
export const STYLE = `
:root { color-scheme: light; --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; --muted: #757575;
  --run: #1565c0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  max-width: 1200px; padding: 16px 24px 48px; color: #212121; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 24px 0 8px;
  border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #e0e0e0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
a { color: #1565c0; } code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.s-succeeded, .s-passed, .s-successful { background: var(--ok); }
.s-failed, .s-rolled_back, .s-killed, .s-error { background: var(--bad); }
.s-interrupted, .s-paused, .s-inconclusive, .s-not_measured { background: var(--warn); }
.s-running { background: var(--run); } .s-skipped, .s-pending, .s-null { background: var(--muted); }
form.filters { display: flex; gap: 12px; align-items: end; margin: 8px 0 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #424242; }
.chart { position: relative; height: 240px; margin: 8px 0; }
.decision { background: #fff3e0; border-left: 4px solid var(--warn); padding: 8px 12px; margin: 12px 0; }
.decision button { font-size: 14px; padding: 4px 14px; margin-right: 8px; cursor: pointer; }
.finished { background: #e8f5e9; border-left: 4px solid var(--ok); padding: 8px 12px; margin: 12px 0; }
.bar { display: flex; height: 18px; width: 320px; border: 1px solid #bdbdbd; }
.bar span { display: block; height: 100%; color: #fff; font-size: 11px; overflow: hidden; text-align: center; }
.slot-blue { background: #1565c0; } .slot-green { background: #2e7d32; } .slot-other { background: #6a1b9a; }
#events { max-height: 320px; overflow: auto; background: #f5f5f5; padding: 6px; }
.muted { color: var(--muted); } .gates { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
`;

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/**
 * Frames a page.
 *
 * @param o The title, the body's markup (escaped by the caller), the data for its scripts,
 * and its inline scripts.
 * @returns The page and its policy.
 */
export function page(
  o: { title: string; body: string; data: unknown; scripts: readonly string[] },
): Page {
  const csp = [
    "default-src 'none'",
    `script-src ${o.scripts.map(sha256).join(" ") || "'none'"}`,
    `style-src ${sha256(STYLE)}`,
    "img-src data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${h(o.title)}</title>
<style>${STYLE}</style></head>
<body>
${o.body}
<script type="application/json" id="page-data">${scriptJson(o.data)}</script>
${o.scripts.map((s) => `<script>${s}</script>`).join("\n")}
</body></html>
`;
  return { html, csp };
}
