/**
 * What the dashboard's page builders return: the page's HTML and the
 * Content-Security-Policy to serve it with (as a response header: only the page's own
 * scripts and style by their hashes, requests to the dashboard only, no framing).
 * @module
 */

/**
 * A page and its Content-Security-Policy.
 *
 * @example
 * ```ts
 * import type { Page } from "./page.ts";
 * const p: Page = { html: "<!doctype html>", csp: "default-src 'none'" };
 * console.assert(p.csp.startsWith("default-src"));
 * ```
 */
export interface Page {
  /** The page. */
  readonly html: string;
  /** The `Content-Security-Policy` header's value. */
  readonly csp: string;
}
