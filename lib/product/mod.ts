/**
 * The tool's own name, in the few places it leaves it: the project's state folder, the
 * field manager and user agent it writes with, and the API groups of its annotations and
 * of the sandbox. Everything else a deploy needs to know (services, namespaces, labels,
 * secrets, severities) comes from the project's `environments/` and `pipelines/`.
 *
 * These are written here once; every other module imports them.
 * @module
 */

/**
 * The project-relative folder the tool keeps its state in.
 *
 * @example
 * ```ts
 * import { STATE_DIR } from "./mod.ts";
 * console.assert(STATE_DIR === ".tracktion");
 * ```
 */
export const STATE_DIR = ".tracktion";

/**
 * Where run folders go by default (`<run-id>/events.jsonl`, `report.json`, ...).
 *
 * @example
 * ```ts
 * import { RUNS_DIR } from "./mod.ts";
 * console.assert(RUNS_DIR === ".tracktion/runs");
 * ```
 */
export const RUNS_DIR = `${STATE_DIR}/runs`;

/**
 * The sandbox's default state folder (its kubeconfig, saved cluster, embedded database).
 *
 * @example
 * ```ts
 * import { SANDBOX_DIR } from "./mod.ts";
 * console.assert(SANDBOX_DIR === ".tracktion/sandbox");
 * ```
 */
export const SANDBOX_DIR = `${STATE_DIR}/sandbox`;

/**
 * The field manager of server-side apply, the reporting component of Events, the
 * `application_name` of database sessions and the HTTP user agent.
 *
 * @example
 * ```ts
 * import { TOOL_NAME } from "./mod.ts";
 * console.assert(TOOL_NAME === "tracktion-deploy");
 * ```
 */
export const TOOL_NAME = "tracktion-deploy";

/**
 * The prefix of the annotations the tool writes on the objects it manages
 * (e.g. `deploy.tracktion.dev/delete-after`).
 *
 * @example
 * ```ts
 * import { ANNOTATION_PREFIX } from "./mod.ts";
 * console.assert(`${ANNOTATION_PREFIX}/delete-after` === "deploy.tracktion.dev/delete-after");
 * ```
 */
export const ANNOTATION_PREFIX = "deploy.tracktion.dev";

/**
 * The API group of the sandbox's own resources (measurements, pod addresses, the
 * gateway controller).
 *
 * @example
 * ```ts
 * import { SANDBOX_API_GROUP } from "./mod.ts";
 * console.assert(SANDBOX_API_GROUP === "sandbox.tracktion.dev");
 * ```
 */
export const SANDBOX_API_GROUP = "sandbox.tracktion.dev";

/**
 * The name of the sandbox's cluster, context and user in the kubeconfig it writes.
 *
 * @example
 * ```ts
 * import { SANDBOX_CLUSTER } from "./mod.ts";
 * console.assert(SANDBOX_CLUSTER === "tracktion-sandbox");
 * ```
 */
export const SANDBOX_CLUSTER = "tracktion-sandbox";

/**
 * The name of the directives a migration's header may carry, as in
 * `-- tracktion:no-transaction` and `-- tracktion:lint-ignore <rule> reason="..." reviewed-by="..."`.
 *
 * @example
 * ```ts
 * import { MIGRATION_DIRECTIVE } from "./mod.ts";
 * console.assert(`-- ${MIGRATION_DIRECTIVE}:no-transaction` === "-- tracktion:no-transaction");
 * ```
 */
export const MIGRATION_DIRECTIVE = "tracktion";
