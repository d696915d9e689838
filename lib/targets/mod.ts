/**
 * Where a run goes, built in one place (the composition root, outside the CLI):
 * {@linkcode connect} opens the target's capabilities and its gate analyzer,
 * {@linkcode sandboxTarget} finds or starts the sandbox for `--sandbox` (seeded by
 * {@linkcode sandboxSeedFromDir} from the project's environment files), and
 * {@linkcode kubeTarget} narrows an environment to what `lib/kubernetes` needs.
 *
 * ```ts ignore
 * import { connect, sandboxTarget } from "./mod.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const sandbox = await sandboxTarget({ stateDir: SANDBOX_DIR, scenario: undefined, reset: false });
 * const connection = connect({ env, sandbox, dryRun: false, redactor, metrics, log: console.log });
 * ```
 * @module
 */
export * from "./connect.ts";
export * from "./sandbox.ts";
export * from "./sandbox_seed.ts";
export * from "./kube_target.ts";
export * from "./database.ts";
