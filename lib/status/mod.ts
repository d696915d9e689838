/**
 * What is deployed in an environment right now: per service the live slot and its version,
 * the idle slot and its version, the traffic split (a canary's HTTPRoute weights, else the
 * Service's selector), ready/desired pods per slot and the idle slot's clean-up time; the
 * last run in the runs folder and the cluster's deployment record; the deploy lock's holder
 * and expiry. Read through the `kubernetes` capability the deploy uses (read only), from the
 * sandbox or a kubeconfig's cluster; printed as a table ({@linkcode formatStatus}) or as one
 * JSON document ({@linkcode EnvironmentStatus}).
 *
 * ```ts
 * import { environmentStatus, formatStatus } from "./mod.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const env = await loadEnvironment("production", { dir: "environments" });
 * const sandboxDir = await Deno.makeTempDir();
 * const status = await environmentStatus({ env, runsDir: `${sandboxDir}/runs`, lockName: "lock", sandboxDir });
 * assert.match(formatStatus(status), /nothing deployed/);
 * await Deno.remove(sandboxDir, { recursive: true });
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./read.ts";
export * from "./runs.ts";
export * from "./format.ts";
export * from "./status.ts";
