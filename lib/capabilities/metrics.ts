/**
 * The `metrics` resource: a direct one. A stage that `uses("metrics")` queries the
 * environment's Prometheus itself, so it is granted that `host:port` (the port from the
 * URL, else 443 for https and 80 for http).
 * @module
 */
import type { Capability, Grant } from "./types.ts";

/**
 * The `host:port` a URL connects to.
 *
 * @param url An `http:` or `https:` URL.
 * @returns E.g. `prom.example:443`.
 *
 * @example
 * ```ts
 * import { hostPort } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hostPort("https://prom.example/api"), "prom.example:443");
 * assert.equal(hostPort("http://prom.example:9090"), "prom.example:9090");
 * ```
 */
export function hostPort(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}:${port}`;
}

/**
 * The `metrics` registry entry: grants the Prometheus `host:port` of
 * `monitoring.prometheus_url`.
 *
 * @example
 * ```ts ignore
 * import { metrics } from "./metrics.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * metrics.grant(await loadEnvironment("staging")).net; // ["prometheus.example.internal:9090"]
 * ```
 */
export const metrics: Capability = {
  name: "metrics",
  summary: "Prometheus, queried directly by the stage (its host:port)",
  grant(env): Grant {
    return { net: [hostPort(env.monitoring.prometheus_url)], env: [], read: [], proxied: false };
  },
};
