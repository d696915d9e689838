/**
 * `deno task sandbox`: the sandbox cluster in the foreground, with a pid file in its state
 * folder; `deno task sandbox stop` stops the one started there (SIGTERM, then waits for it to
 * save its state and exit); `deno task sandbox status` says whether it runs. Bad flags, or a
 * saved state that cannot be loaded (corrupt, or over the sandbox's limits: `--reset` discards
 * it), exit 2 with nothing changed. On SIGINT/SIGTERM it stops (state saved) and exits 0;
 * `stop` and `status` stop waiting and exit 130. Environment files the seed leaves out (they
 * do not load) are named on standard error, one line each.
 * @module
 */
import { parseArgs } from "node:util";
import { ENVIRONMENTS_DIR } from "../config/mod.ts";
import { InputError } from "../runner/mod.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import { SCENARIOS } from "../sandbox/mod.ts";
import { startProjectSandbox } from "../targets/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import {
  identify,
  pidFilePath,
  readPidFile,
  removePidFile,
  waitForExit,
  writePidFile,
} from "./sandbox_process.ts";

/** How long `stop` waits for the sandbox to exit after SIGTERM, unless `--wait` says. */
const STOP_WAIT_SECONDS = 30;

/**
 * The usage of `sandbox`.
 *
 * @example
 * ```ts
 * import { SANDBOX_USAGE } from "./sandbox.ts";
 * console.assert(SANDBOX_USAGE.includes("deno task sandbox stop"));
 * ```
 */
export const SANDBOX_USAGE = `usage: deno task sandbox [--port N] [--scenario NAME] [--time-scale N]
                         [--traffic-rate N] [--reset] [--state-dir DIR]
                         [--environments-dir DIR]
       deno task sandbox --list-scenarios
       deno task sandbox stop [--state-dir DIR] [--wait SECONDS]
       deno task sandbox status [--state-dir DIR]

Runs the sandbox cluster in the foreground (Ctrl-C stops it, state saved) and writes
DIR/kubeconfig (kubectl --kubeconfig DIR/kubeconfig get pods -A) and DIR/sandbox.pid.
  --port N            the API server's port on 127.0.0.1 (default: any free one)
  --scenario NAME     a fault: ${Object.keys(SCENARIOS).join(", ")}
  --time-scale N      sandbox seconds per real second (default 60)
  --traffic-rate N    simulated requests per sandbox second per namespace (default 50)
  --reset             start from a freshly seeded cluster: the saved state is discarded
  --state-dir DIR     its state folder (default ${SANDBOX_DIR})
  --environments-dir DIR
                      the environment files a fresh sandbox is seeded from: each one's
                      namespace and what its kubernetes: section says it holds
                      (default ${ENVIRONMENTS_DIR})
  --list-scenarios    what each scenario does
stop sends SIGTERM to the sandbox DIR/sandbox.pid names, only while it is that sandbox (the
process runs and DIR/kubeconfig answers at the URL the pid file records), and waits up to
--wait seconds (default ${STOP_WAIT_SECONDS}) for it to exit. A stale pid file is removed.
status exits 0 when the sandbox runs, 1 when not. Ctrl-C ends the wait of stop or status: 130.
Environment files that do not load are left out of a fresh sandbox's seed (a warning each).`;

const FLAGS = {
  port: { type: "string" },
  scenario: { type: "string" },
  "time-scale": { type: "string" },
  "traffic-rate": { type: "string" },
  reset: { type: "boolean" },
  "state-dir": { type: "string" },
  "environments-dir": { type: "string" },
  "list-scenarios": { type: "boolean" },
  wait: { type: "string" },
} as const;

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) {
    throw new InputError(`--${flag} must be a number, got "${raw}"`);
  }
  return n;
}

type Values = ReturnType<typeof parse>["values"];

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new InputError((error as Error).message);
  }
}

/** Only the flags of `what` (stop and status take --state-dir, stop also --wait). */
function onlyFlags(values: Values, what: string, allowed: readonly string[]): void {
  const extra = Object.keys(values).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new InputError(`sandbox ${what} takes no --${extra[0]}`);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * What `work` resolves to, or `undefined` as soon as `signal` aborts (the work is then left
 * to settle unobserved: the CLI exits).
 */
function unlessAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function serve(values: Values, io: CliIo): Promise<number> {
  if (values.wait !== undefined) throw new InputError("--wait is a flag of sandbox stop");
  const port = number("port", values.port);
  const timeScale = number("time-scale", values["time-scale"]);
  const trafficRate = number("traffic-rate", values["traffic-rate"]);
  const stateDir = values["state-dir"] ?? SANDBOX_DIR;
  const environmentsDir = values["environments-dir"];
  if (environmentsDir !== undefined && !(await isDirectory(environmentsDir))) {
    throw new InputError(
      `--environments-dir ${environmentsDir} is not a folder of environment files`,
    );
  }
  const sandbox = await startProjectSandbox({
    stateDir,
    environmentsDir,
    ...(port !== undefined ? { port } : {}),
    ...(values.scenario !== undefined ? { scenario: values.scenario } : {}),
    ...(timeScale !== undefined ? { timeScale } : {}),
    ...(trafficRate !== undefined ? { trafficRate } : {}),
    reset: values.reset ?? false,
    onWarning: (line) => io.stderr(`warning: ${line}\n`),
  });
  try {
    await writePidFile(stateDir, sandbox.url);
    io.stdout(`sandbox ready: server=${sandbox.url} kubeconfig=${sandbox.kubeconfigPath}\n`);
    io.stderr(
      `pid ${Deno.pid} (${pidFilePath(stateDir)}): Ctrl-C here, or deno task sandbox stop${
        stateDir === SANDBOX_DIR ? "" : ` --state-dir ${stateDir}`
      }, stops it\n`,
    );
    if (io.signal && !io.signal.aborted) {
      const signal = io.signal;
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
  } finally {
    await sandbox.stop();
    await removePidFile(stateDir, Deno.pid);
  }
  return EXIT.ok;
}

async function stop(values: Values, io: CliIo): Promise<number> {
  onlyFlags(values, "stop", ["state-dir", "wait"]);
  const stateDir = values["state-dir"] ?? SANDBOX_DIR;
  const waitSeconds = number("wait", values.wait) ?? STOP_WAIT_SECONDS;
  if (!(waitSeconds >= 0)) throw new InputError(`--wait takes seconds (0 or more)`);
  const record = await readPidFile(stateDir).catch((error) => {
    throw new InputError(`${(error as Error).message}: remove it if no sandbox runs there`);
  });
  if (!record) {
    io.stdout(`No sandbox was started with deno task sandbox on ${stateDir}: nothing to stop\n`);
    return EXIT.ok;
  }
  const who = await unlessAborted(identify(stateDir, record), io.signal);
  if (!who) {
    io.stderr(`interrupted: nothing was signalled\n`);
    return EXIT.interrupted;
  }
  if (!who.ours) {
    await Deno.remove(pidFilePath(stateDir)).catch(() => {});
    io.stdout(
      `Stale pid file ${pidFilePath(stateDir)} (pid ${record.pid}, ${record.url}): ${who.why}; ` +
        `nothing was signalled, the pid file is removed\n`,
    );
    return EXIT.ok;
  }
  Deno.kill(record.pid, "SIGTERM");
  const exited = await unlessAborted(waitForExit(stateDir, record, waitSeconds * 1000), io.signal);
  if (exited === undefined) {
    io.stderr(
      `interrupted: stopped waiting; the sandbox (pid ${record.pid}) got SIGTERM and may ` +
        `still be saving its state: look with deno task sandbox status\n`,
    );
    return EXIT.interrupted;
  }
  if (!exited) {
    io.stderr(
      `error: the sandbox (pid ${record.pid}) did not exit within ${waitSeconds} s of SIGTERM: ` +
        `it may still be saving its state; look again with deno task sandbox status, or end ` +
        `it with kill -KILL ${record.pid}\n`,
    );
    return EXIT.failed;
  }
  await removePidFile(stateDir, record.pid);
  io.stdout(
    `Stopped the sandbox (pid ${record.pid}) at ${record.url}: state saved in ${stateDir}\n`,
  );
  return EXIT.ok;
}

async function status(values: Values, io: CliIo): Promise<number> {
  onlyFlags(values, "status", ["state-dir"]);
  const stateDir = values["state-dir"] ?? SANDBOX_DIR;
  const record = await readPidFile(stateDir).catch(() => undefined);
  const who = record ? await unlessAborted(identify(stateDir, record), io.signal) : undefined;
  if (record && !who) {
    io.stderr("interrupted\n");
    return EXIT.interrupted;
  }
  if (record && who?.ours) {
    io.stdout(`running: pid ${record.pid}, ${record.url}, since ${record.startedAt}\n`);
    return EXIT.ok;
  }
  io.stdout(
    `not running on ${stateDir}${
      record && who && !who.ours ? ` (stale pid file: ${who.why})` : ""
    }\n`,
  );
  return EXIT.failed;
}

/**
 * Runs `sandbox`, `sandbox stop` or `sandbox status`.
 *
 * @param args The arguments after `sandbox`.
 * @param io Where to write; `signal` ends the foreground sandbox, and the waits of `stop` and
 *   `status` (exit 130).
 * @returns The exit code.
 * @throws {InputError} On bad usage, or a saved state that cannot be loaded.
 *
 * @example
 * ```ts
 * import { sandboxCommand } from "./sandbox.ts";
 * const out: string[] = [];
 * const io = { stdout: (t: string) => out.push(t), stderr: () => {}, tty: false, colour: false };
 * const dir = await Deno.makeTempDir();
 * console.assert(await sandboxCommand(["stop", "--state-dir", dir], io) === 0);
 * console.assert(out.join("").includes("nothing to stop"));
 * await Deno.remove(dir);
 * ```
 */
export async function sandboxCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args);
  const [action, ...extra] = positionals;
  if (extra.length > 0 || (action !== undefined && action !== "stop" && action !== "status")) {
    throw new InputError(`sandbox takes stop or status, got "${positionals.join(" ")}"`);
  }
  if (action === "stop") return await stop(values, io);
  if (action === "status") return await status(values, io);
  if (values["list-scenarios"]) {
    for (const [name, description] of Object.entries(SCENARIOS)) {
      io.stdout(`${name.padEnd(16)} ${description}\n`);
    }
    return EXIT.ok;
  }
  return await serve(values, io);
}

/**
 * The `sandbox` command of the CLI.
 *
 * @example
 * ```ts
 * import { SANDBOX_COMMAND } from "./sandbox.ts";
 * console.assert(SANDBOX_COMMAND.stopsOnSignal === true);
 * ```
 */
export const SANDBOX_COMMAND: Command = {
  name: "sandbox",
  summary: "the local Kubernetes-compatible cluster (stop, status)",
  usage: SANDBOX_USAGE,
  stopsOnSignal: true,
  run: sandboxCommand,
};
