/**
 * Private helpers for HTTP checks.
 * @module
 */
import { type HttpProbeResult, probeHttp } from "../lib/probes/http.ts";
import type { HttpCheckOptions } from "./options.ts";

export type { HttpCheckOptions };

/** Joins a base URL and a path, keeping the base's own path prefix. */
export function joinUrl(base: string, path: string): string {
  const url = new URL(base);
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
  });
}

/** A short, single-line excerpt of a body for evidence. */
export function excerpt(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
