/**
 * Expected traffic per service, as a sandbox seed carries it (from the environment files'
 * `traffic:` sections) and the traffic model takes it: a rate, and the healthy version's
 * latency and error rate.
 * @module
 */
import type { SandboxSeed } from "./seed.ts";

/**
 * The traffic a service expects, which the sandbox's traffic model draws its requests from
 * (on a virtual clock): a rate, and the healthy version's latency and error rate.
 *
 * @example
 * ```ts
 * import type { ServiceTrafficSeed } from "./traffic_rates.ts";
 * const api: ServiceTrafficSeed = { requestsPerSecond: 400, medianMs: 45, p95Ms: 160, errorRate: 0.0005 };
 * ```
 */
export interface ServiceTrafficSeed {
  /** Requests per second (sandbox time) to the service as a whole, over all its slots. */
  readonly requestsPerSecond: number;
  /** Median latency of a healthy version, ms (default 60). */
  readonly medianMs?: number;
  /** p95 latency of a healthy version, ms (> the median; default 140, or 2.33 × the median). */
  readonly p95Ms?: number;
  /** Fraction of a healthy version's requests that fail (default 0.0005, i.e. 0.05%). */
  readonly errorRate?: number;
}

/**
 * Expected traffic: namespace → service → rate and healthy profile.
 *
 * @example
 * ```ts
 * import type { TrafficRates } from "./traffic_rates.ts";
 * const rates: TrafficRates = { "shop-prod": { api: { requestsPerSecond: 400 } } };
 * ```
 */
export type TrafficRates = Readonly<Record<string, Readonly<Record<string, ServiceTrafficSeed>>>>;

/**
 * Checks one service's expected traffic in a seed.
 *
 * @param service The service's name.
 * @param t Its expected traffic.
 * @param where The namespace, as messages name it (`namespace "shop"`).
 * @throws {RangeError} Naming the service and the field at fault.
 *
 * @example
 * ```ts
 * import { checkTraffic } from "./traffic_rates.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkTraffic("api", { requestsPerSecond: -1 }, "namespace \"shop\""), /requestsPerSecond -1/);
 * ```
 */
export function checkTraffic(service: string, t: ServiceTrafficSeed, where: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(service)) {
    throw new RangeError(
      `Cannot seed ${where}: ${JSON.stringify(service)} is not a valid service name ` +
        '(lowercase letters, digits and "-")',
    );
  }
  const bad = (field: string, value: unknown, expected: string) => {
    throw new RangeError(
      `Cannot seed ${where}: traffic of ${service}: ${field} ${value} is not ${expected}`,
    );
  };
  const rps = t.requestsPerSecond;
  if (!(rps >= 0 && Number.isFinite(rps))) bad("requestsPerSecond", rps, "a number >= 0");
  for (const field of ["medianMs", "p95Ms"] as const) {
    const v = t[field];
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) bad(field, v, "a number of ms > 0");
  }
  if (t.medianMs !== undefined && t.p95Ms !== undefined && !(t.p95Ms > t.medianMs)) {
    bad("p95Ms", t.p95Ms, `above medianMs (${t.medianMs})`);
  }
  const e = t.errorRate;
  if (e !== undefined && !(e >= 0 && e < 1)) bad("errorRate", e, "a fraction from 0 to 1");
}

/**
 * Each seeded namespace's expected traffic per service, as the traffic model takes it.
 *
 * @param seed The sandbox's seed.
 * @returns Namespace → service → expected traffic (namespaces without any left out).
 *
 * @example
 * ```ts
 * import { trafficRatesOf } from "./traffic_rates.ts";
 * import assert from "node:assert/strict";
 * const rates = trafficRatesOf({ namespaces: [{ name: "shop", traffic: { api: { requestsPerSecond: 40 } } }] });
 * assert.equal(rates.shop?.api?.requestsPerSecond, 40);
 * ```
 */
export function trafficRatesOf(
  seed: SandboxSeed,
): Record<string, Readonly<Record<string, ServiceTrafficSeed>>> {
  const out: Record<string, Readonly<Record<string, ServiceTrafficSeed>>> = {};
  for (const ns of seed.namespaces ?? []) {
    if (ns.traffic && Object.keys(ns.traffic).length) out[ns.name] = ns.traffic;
  }
  return out;
}
