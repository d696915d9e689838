/**
 * Private helpers for HTTP checks.
 * @module
 */
import { type HttpProbeResult, probeHttp } from "../lib/probes/http.ts";
import type { HttpCheckOptions } from "./options.ts";

export type { HttpCheckOptions };

/**
 * Validates a check's URL when the check is built (so a typo fails `plan`, not the run).
 *
 * @throws {TypeError} `Cannot create check "<name>": invalid URL "<url>"` (http/https only).
 */
export function checkUrl(url: string, check: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new TypeError(
      `Cannot create check ${JSON.stringify(check)}: invalid URL ${JSON.stringify(url)}`,
    );
  }
  return url;
}

/** Joins a base URL and a path, keeping the base's own path prefix. */
export function joinUrl(base: string, path: string, check = "HTTP check"): string {
  const url = new URL(checkUrl(base, check));
  url.pathname = url.pathname.replace(/\/+$/, "") + path;
  return url.toString();
}

/** GETs a URL with the check's deadline and the stage's signal. */
export function get(
  url: string,
  options: HttpCheckOptions,
  signal: AbortSignal,
): Promise<HttpProbeResult> {
  return probeHttp(url, {
    timeoutMs: options.timeoutMs ?? 10_000,
    signal,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** A short, single-line excerpt of a body for evidence. */
export function excerpt(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
