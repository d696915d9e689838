/**
 * Where a run goes, built in one place (the composition root, outside the CLI):
 * {@linkcode connect} opens the target's capabilities and its gate analyzer, and
 * {@linkcode sandboxTarget} finds or starts the sandbox for `--sandbox`.
 *
 * ```ts ignore
 * import { connect, sandboxTarget } from "./mod.ts";
 * const sandbox = await sandboxTarget({ stateDir: ".tracktion/sandbox", scenario: undefined, reset: false });
 * const connection = connect({ env, sandbox, dryRun: false, redactor, metrics, log: console.log });
 * ```
 * @module
 */
export * from "./connect.ts";
export * from "./sandbox.ts";
