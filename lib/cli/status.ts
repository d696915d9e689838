/**
 * `deno task status <environment> [--json]`: what is deployed right now, where the traffic
 * goes, who holds the lock — read from the sandbox (`--sandbox`) or the environment's cluster
 * (`--kubeconfig`, else the environment's kubeconfig as the deploy finds it). Reads only.
 * Exit codes: 0 read; 1 the cluster did not answer or refused a read; 2 bad input, nothing read.
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, ENVIRONMENTS_DIR, loadEnvironment } from "../config/mod.ts";
import { KubernetesApiError } from "../kubernetes/errors.ts";
import { RUNS_DIR, SANDBOX_DIR, TOOL_NAME } from "../product/mod.ts";
import { InputError } from "../runner/errors.ts";
import { ClusterUnreachableError, environmentStatus, formatStatus } from "../status/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `status`.
 *
 * @example
 * ```ts
 * import { STATUS_USAGE } from "./status.ts";
 * console.assert(STATUS_USAGE.startsWith("usage: deno task status <environment>"));
 * ```
 */
export const STATUS_USAGE = `usage: deno task status <environment> [flags]

What is deployed in the environment now: per service the live slot and its version, the idle
slot and its version, the traffic split (a canary's HTTPRoute weights, else the Service's
selector), ready/desired pods per slot and when the idle slot may be cleaned up; the last run
(its status and report) and the cluster's deployment record; the deploy lock's holder, run and
expiry, or free. It only reads.
  --sandbox                 read the sandbox: the one running on --sandbox-dir, else one
                            started from its saved state for the read, and stopped again
  --sandbox-dir <dir>       with --sandbox: its state folder (default ${SANDBOX_DIR})
  --kubeconfig <file>       read this kubeconfig's cluster (default: the environment's, as the
                            deploy finds it: kubernetes.kubeconfig, KUBECONFIG, ~/.kube/config)
  --context <name>          its context (default: the environment's kubernetes.context)
  --runs-dir <dir>          where the run folders are (default ${RUNS_DIR})
  --lock <name>             the deploy lock's Lease (default ${TOOL_NAME})
  --environments-dir <dir>  the environment files (default ${ENVIRONMENTS_DIR})
  --json                    one JSON document (kind "environment-status") instead of the table
Exit codes: 0 read; 1 the cluster did not answer, or refused a read; 2 bad input (nothing read).`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        sandbox: { type: "boolean", default: false },
        "sandbox-dir": { type: "string" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        "runs-dir": { type: "string" },
        lock: { type: "string" },
        "environments-dir": { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new InputError(`${(error as Error).message}\n${STATUS_USAGE}`);
  }
}

/** A path a flag names: a folder when it exists (it may not: nothing is there yet). */
async function notAFile(flag: string, path: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (info && !info.isDirectory) throw new InputError(`Cannot use ${flag} ${path}: not a folder`);
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((i) => i.isFile, () => false);
}

const LEASE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Every argument checked, the environment loaded: what to read, or an InputError. */
async function inputs(args: string[]) {
  const { values: v, positionals } = parse(args);
  if (positionals.length !== 1) {
    throw new InputError(
      `expected one environment, got ${
        positionals.length === 0 ? "none" : `${positionals.length} (${positionals.join(" ")})`
      }\n${STATUS_USAGE}`,
    );
  }
  if (!v.sandbox && v["sandbox-dir"] !== undefined) {
    throw new InputError("--sandbox-dir needs --sandbox: it is about the sandbox cluster");
  }
  const cluster = ["kubeconfig", "context"].filter((f) => v[f as "kubeconfig"] !== undefined);
  if (v.sandbox && cluster.length > 0) {
    throw new InputError(
      `--sandbox reads the sandbox: --${cluster.join(" and --")} would name another cluster`,
    );
  }
  if (v.kubeconfig !== undefined && !(await isFile(v.kubeconfig))) {
    throw new InputError(`Cannot read --kubeconfig ${v.kubeconfig}: no such file`);
  }
  if (v.context === "") throw new InputError("--context takes a context's name, got none");
  const lockName = v.lock ?? TOOL_NAME;
  if (!LEASE_NAME.test(lockName)) {
    throw new InputError(
      `Cannot use --lock ${JSON.stringify(lockName)}: not a Lease name (lower-case letters, ` +
        "digits, '-' and '.')",
    );
  }
  const sandboxDir = v.sandbox ? v["sandbox-dir"] ?? SANDBOX_DIR : undefined;
  if (sandboxDir !== undefined) await notAFile("--sandbox-dir", sandboxDir);
  const runsDir = v["runs-dir"] ?? RUNS_DIR;
  await notAFile("--runs-dir", runsDir);
  const environmentsDir = v["environments-dir"] ?? ENVIRONMENTS_DIR;
  let env;
  try {
    env = await loadEnvironment(positionals[0]!, { dir: environmentsDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new InputError(error.message);
    throw error;
  }
  return { v, env, lockName, sandboxDir, runsDir, environmentsDir };
}

/**
 * Runs `status`: checks every argument, reads, prints the table (or `--json`'s document).
 *
 * @param args The arguments after `status`.
 * @param io Where to write; `colour` colours the table.
 * @returns 0 read; 1 the cluster did not answer or refused a read; 2 bad input.
 *
 * @example
 * ```ts
 * import { statusCommand } from "./status.ts";
 * import assert from "node:assert/strict";
 * const err: string[] = [];
 * const io = { stdout: () => {}, stderr: (t: string) => err.push(t), tty: false, colour: false };
 * assert.equal(await statusCommand(["prod"], io), 2);
 * assert.match(err.join(""), /Unknown environment "prod"/);
 * ```
 */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  let input;
  try {
    input = await inputs(args);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    io.stderr(`error: ${error.message}\n`);
    return EXIT.input;
  }
  const { v, env, lockName, sandboxDir, runsDir, environmentsDir } = input;
  try {
    const status = await environmentStatus({
      env,
      runsDir,
      lockName,
      sandboxDir,
      environmentsDir,
      kubeconfig: v.kubeconfig,
      context: v.context,
      log: (line) => io.stderr(`warning: ${line}\n`),
    });
    io.stdout(
      v.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, { colour: io.colour }),
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.input;
    }
    if (error instanceof ClusterUnreachableError || error instanceof KubernetesApiError) {
      io.stderr(`error: cannot read the status of ${env.name}: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

/**
 * The `status` command of the CLI.
 *
 * @example
 * ```ts
 * import { STATUS_COMMAND } from "./status.ts";
 * console.assert(STATUS_COMMAND.name === "status");
 * ```
 */
export const STATUS_COMMAND: Command = {
  name: "status",
  summary: "what is deployed now, where the traffic goes, who holds the lock",
  usage: STATUS_USAGE,
  run: statusCommand,
};
