/**
 * One companion program's process: started in its own folder (its config, log and
 * `pid` file there), waited for until it answers, stopped by the PID it was started
 * with. A `pid` file left by a process that died without stopping it names a program
 * still running from that folder: it is stopped (by that PID, after checking it runs in
 * that folder) before a new one starts, so a rerun restarts it cleanly.
 * @module
 */
import { realClock } from "../clock/mod.ts";

/** A program that is not installed: which Debian package has it. */
export interface MissingProgram {
  /** The program looked for. */
  readonly program: string;
  /** The Debian package to install. */
  readonly debianPackage: string;
  /** One line for a skipped check: what is missing and how to install it. */
  readonly message: string;
}

/**
 * Whether a program is on PATH; if not, what to install.
 *
 * @param program E.g. `redis-server`.
 * @param debianPackage The package that has it.
 * @param args What to run it with to see it starts (default `--version`).
 * @returns Undefined when it runs, else what is missing.
 *
 * @example
 * ```ts
 * import { findProgram } from "./process.ts";
 * import assert from "node:assert/strict";
 * const missing = await findProgram("no-such-program-xyz", "xyz-tools");
 * assert.match(missing!.message, /apt-get install xyz-tools/);
 * ```
 */
export async function findProgram(
  program: string,
  debianPackage: string,
  args: readonly string[] = ["--version"],
): Promise<MissingProgram | undefined> {
  try {
    await new Deno.Command(program, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return undefined;
  } catch {
    return {
      program,
      debianPackage,
      message: `${program} is not installed: install Debian's package ${debianPackage} ` +
        `(apt-get install ${debianPackage})`,
    };
  }
}

/**
 * A free TCP port on 127.0.0.1 (the kernel's choice; free when asked).
 *
 * @returns The port.
 *
 * @example
 * ```ts
 * import { freePort } from "./process.ts";
 * console.assert(freePort() > 0);
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
/**
 * Whether `host:port` can be listened on now (false: something else holds it).
 *
 * @param host The address.
 * @param port The port.
 * @returns Whether it is free.
 *
 * @example
 * ```ts
 * import { addressFree } from "./process.ts";
 * console.assert(addressFree("127.0.0.1", 0));
 * ```
 */
export function addressFree(host: string, port: number): boolean {
  try {
    Deno.listen({ hostname: host, port }).close();
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Whether a process was started from `dir`: its working folder (programs rename their title). */
async function startedIn(pid: number, dir: string): Promise<boolean> {
  try {
    return (await Deno.readLink(`/proc/${pid}/cwd`)) === await Deno.realPath(dir);
  } catch {
    return false;
  }
}

/**
 * Stops a program an earlier process left running from `dir` (its `pid` file), by that
 * PID and only when it runs in `dir`; removes the `pid` file.
 *
 * @param dir The companion's folder.
 * @returns Whether one was stopped.
 *
 * @example
 * ```ts
 * import { stopLeftover } from "./process.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await stopLeftover(await Deno.makeTempDir()), false);
 * ```
 */
export async function stopLeftover(dir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(`${dir}/pid`)).trim());
  } catch {
    return false;
  }
  let stopped = false;
  if (Number.isInteger(pid) && pid > 1 && alive(pid) && await startedIn(pid, dir)) {
    Deno.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && alive(pid); i++) await realClock.sleep(20);
    if (alive(pid)) Deno.kill(pid, "SIGKILL");
    stopped = true;
  }
  await Deno.remove(`${dir}/pid`).catch(() => {});
  return stopped;
}

/** A running companion program. */
export interface CompanionProcess {
  /** Its PID. */
  readonly pid: number;
  /** Its folder. */
  readonly dir: string;
  /** Stops it (SIGTERM, SIGKILL after 2 s) and removes its `pid` file. Safe to call twice. */
  stop(): Promise<void>;
}

/** What {@linkcode launch} takes. */
export interface LaunchOptions {
  /** Its name, for messages. */
  readonly name: string;
  /** Its folder (created). */
  readonly dir: string;
  /** The program. */
  readonly command: string;
  /** Its arguments. It runs in `dir` (a leftover is recognised by that). */
  readonly args: readonly string[];
  /** Answers true once it serves. */
  readonly ready: () => Promise<boolean>;
  /** How long it may take to answer (default 20 s). */
  readonly readyTimeoutMs?: number;
  /** The log a failure quotes (default `<dir>/stderr.log`, where its stderr goes). */
  readonly logFile?: string;
}

async function tail(path: string): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trim().split("\n").slice(-3).join(" | ");
}

/**
 * Starts a program in its folder and waits until it answers.
 *
 * @param o The program, its folder and arguments, its readiness probe and deadline.
 * @returns The running process.
 * @throws {Error} When it exits or does not answer in time (naming its log's last lines);
 *   it is stopped then.
 *
 * @example
 * ```ts ignore
 * import { launch } from "./process.ts";
 * const p = await launch({ name: "x", dir, command: "x-server", args: [`${dir}/x.conf`], ready });
 * await p.stop();
 * ```
 */
export async function launch(o: LaunchOptions): Promise<CompanionProcess> {
  await Deno.mkdir(o.dir, { recursive: true });
  await stopLeftover(o.dir);
  const logFile = o.logFile ?? `${o.dir}/stderr.log`;
  const log = await Deno.open(`${o.dir}/stderr.log`, { create: true, write: true, truncate: true });
  const child = new Deno.Command(o.command, {
    args: [...o.args],
    cwd: o.dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  child.unref();
  const draining = child.stderr.pipeTo(log.writable).catch(() => {});
  await Deno.writeTextFile(`${o.dir}/pid`, `${child.pid}\n`);
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => exited = s);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        const late = realClock.sleep(2_000).then(() => "late");
        if ((await Promise.race([status, late])) === "late" && !exited) {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
          await status;
        }
      }
      await draining;
      await Deno.remove(`${o.dir}/pid`).catch(() => {});
    })();
  const deadline = realClock.now() + (o.readyTimeoutMs ?? 20_000);
  while (true) {
    if (exited) {
      await stop();
      throw new Error(
        `${o.name} exited at start (code ${exited.code}): ${await tail(logFile) || "no output"}`,
      );
    }
    if (await o.ready().catch(() => false)) break;
    if (realClock.now() > deadline) {
      await stop();
      throw new Error(
        `${o.name} did not answer within ${o.readyTimeoutMs ?? 20_000} ms: ${
          await tail(logFile) || "no output"
        } (log: ${logFile})`,
      );
    }
    await realClock.sleep(25);
  }
  return { pid: child.pid, dir: o.dir, stop };
}
