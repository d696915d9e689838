/**
 * Upper bounds of the counts in an environment file. They keep a typo (`replicas:
 * 100000000`) from reaching a cluster, or the sandbox, that would try to honour it: the
 * loader refuses a file over a bound with its file, line, column and field.
 * @module
 */

/**
 * The largest counts an environment file may ask for.
 *
 * - `replicasPerService` (1000): `infrastructure.replicas.<service>`; each blue-green slot
 *   of a service has this many pods at most.
 * - `services` (100): how many services `infrastructure.replicas` may list.
 * - `connectionPoolSize` (1000): `database.connection_pool.min_size` and `max_size`, per
 *   service process (PostgreSQL's own default `max_connections` is 100).
 * - `requestsPerSecond` (1,000,000): `traffic.<service>.requests_per_second`, what the
 *   sandbox's traffic model draws (a typo of a few zeros would make a rehearsal crawl).
 *
 * @example
 * ```ts
 * import { ENVIRONMENT_LIMITS } from "./limits.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ENVIRONMENT_LIMITS.replicasPerService, 1000);
 * ```
 */
export const ENVIRONMENT_LIMITS: {
  readonly replicasPerService: number;
  readonly services: number;
  readonly connectionPoolSize: number;
  readonly requestsPerSecond: number;
} = Object.freeze({
  replicasPerService: 1000,
  services: 100,
  connectionPoolSize: 1000,
  requestsPerSecond: 1_000_000,
});
