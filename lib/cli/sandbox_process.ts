/**
 * The pid file of a sandbox started with `deno task sandbox`, so that `deno task sandbox stop`
 * stops that process — and only that one. The file (`sandbox.pid` in the state folder) records
 * the pid, the state folder and the server's URL; a process counts as the sandbox we started
 * only while it is alive and the state folder's kubeconfig still answers at that URL.
 * @module
 */
import { resolve } from "node:path";
import { delay } from "../async/mod.ts";
import { findRunningSandbox } from "../sandbox/mod.ts";

/**
 * The pid file's name, in the sandbox's state folder.
 *
 * @example
 * ```ts
 * import { PID_FILE } from "./sandbox_process.ts";
 * console.assert(PID_FILE === "sandbox.pid");
 * ```
 */
export const PID_FILE = "sandbox.pid";

/**
 * What the pid file records.
 *
 * @example
 * ```ts
 * import type { SandboxPidFile } from "./sandbox_process.ts";
 * const record: SandboxPidFile = {
 *   pid: 4242,
 *   stateDir: "/work/shop/sandbox-state",
 *   url: "http://127.0.0.1:6443",
 *   startedAt: "2025-01-01T00:00:00.000Z",
 * };
 * console.assert(record.pid === 4242);
 * ```
 */
export interface SandboxPidFile {
  /** The process serving the sandbox. */
  readonly pid: number;
  /** Its state folder, absolute. */
  readonly stateDir: string;
  /** Its API server (the kubeconfig's `server`). */
  readonly url: string;
  /** When it started. */
  readonly startedAt: string;
}

/**
 * The pid file's path for a state folder.
 *
 * @example
 * ```ts
 * import { pidFilePath } from "./sandbox_process.ts";
 * console.assert(pidFilePath("/tmp/sandbox") === "/tmp/sandbox/sandbox.pid");
 * ```
 */
export function pidFilePath(stateDir: string): string {
  return `${stateDir}/${PID_FILE}`;
}

/**
 * Writes this process's pid file (whole or not at all: a temporary file renamed over it).
 *
 * @param stateDir The sandbox's state folder (it exists: the sandbox wrote its kubeconfig).
 * @param url The sandbox's API server.
 * @returns What was written.
 *
 * @example
 * ```ts
 * import { readPidFile, writePidFile } from "./sandbox_process.ts";
 * const dir = await Deno.makeTempDir();
 * await writePidFile(dir, "http://127.0.0.1:1");
 * console.assert((await readPidFile(dir))?.pid === Deno.pid);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePidFile(stateDir: string, url: string): Promise<SandboxPidFile> {
  const record: SandboxPidFile = {
    pid: Deno.pid,
    stateDir: resolve(stateDir),
    url,
    startedAt: new Date().toISOString(),
  };
  const path = pidFilePath(stateDir);
  const temporary = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(record) + "\n");
  await Deno.rename(temporary, path);
  return record;
}

/**
 * Reads the pid file of a state folder.
 *
 * @returns The record; undefined when there is none.
 * @throws {SyntaxError} When the file is not a pid file this tool wrote.
 *
 * @example
 * ```ts
 * import { readPidFile } from "./sandbox_process.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert(await readPidFile(dir) === undefined);
 * await Deno.remove(dir);
 * ```
 */
export async function readPidFile(stateDir: string): Promise<SandboxPidFile | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(pidFilePath(stateDir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let value: Partial<SandboxPidFile> | undefined;
  try {
    value = JSON.parse(text);
  } catch { /* reported below */ }
  if (
    !value || !Number.isSafeInteger(value.pid) || (value.pid ?? 0) <= 0 ||
    typeof value.stateDir !== "string" || typeof value.url !== "string"
  ) {
    throw new SyntaxError(
      `${pidFilePath(stateDir)} is not a sandbox pid file (expected {"pid", "stateDir", "url"})`,
    );
  }
  return value as SandboxPidFile;
}

/**
 * Removes the pid file when it still names `pid` (a newer sandbox's file stays).
 *
 * @example
 * ```ts
 * import { readPidFile, removePidFile, writePidFile } from "./sandbox_process.ts";
 * const dir = await Deno.makeTempDir();
 * await writePidFile(dir, "http://127.0.0.1:1");
 * await removePidFile(dir, Deno.pid + 1);
 * console.assert(await readPidFile(dir) !== undefined);
 * await removePidFile(dir, Deno.pid);
 * console.assert(await readPidFile(dir) === undefined);
 * await Deno.remove(dir);
 * ```
 */
export async function removePidFile(stateDir: string, pid: number): Promise<void> {
  const current = await readPidFile(stateDir).catch(() => undefined);
  if (current?.pid === pid) await Deno.remove(pidFilePath(stateDir)).catch(() => {});
}

/**
 * Whether a process is alive (a zombie, exited but not yet reaped, is not). Where there is no
 * `/proc`, it cannot be told: undefined.
 *
 * @example
 * ```ts
 * import { processAlive } from "./sandbox_process.ts";
 * console.assert(processAlive(Deno.pid) !== false);
 * ```
 */
export function processAlive(pid: number): boolean | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false;
      } catch {
        return undefined; // no /proc on this system
      }
    }
    return undefined;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/**
 * What a pid file's process is now: the sandbox we started (alive, and the state folder's
 * kubeconfig answers at the recorded URL), or not — then why.
 *
 * @param stateDir The state folder asked about.
 * @param record Its pid file.
 * @returns `{ ours: true }`, or `{ ours: false, why }`.
 *
 * @example
 * ```ts ignore
 * import { identify, readPidFile } from "./sandbox_process.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const record = await readPidFile(SANDBOX_DIR);
 * if (record) console.log(await identify(SANDBOX_DIR, record));
 * ```
 */
export async function identify(
  stateDir: string,
  record: SandboxPidFile,
): Promise<{ ours: true } | { ours: false; why: string }> {
  if (record.stateDir !== resolve(stateDir)) {
    return { ours: false, why: `it was written for ${record.stateDir}, not ${resolve(stateDir)}` };
  }
  if (processAlive(record.pid) === false) {
    return { ours: false, why: `process ${record.pid} is no longer running` };
  }
  const running = await findRunningSandbox(stateDir);
  if (!running) {
    return { ours: false, why: `no sandbox answers ${stateDir}/kubeconfig any more` };
  }
  if (running.url !== record.url) {
    return {
      ours: false,
      why: `the sandbox answering ${stateDir}/kubeconfig is at ${running.url}, not ${record.url}`,
    };
  }
  return { ours: true };
}

/**
 * Waits until the process has exited (or, without `/proc`, until its pid file is gone and its
 * server no longer answers), polling every 50 ms, at most `ms`.
 *
 * @returns Whether it exited in time.
 *
 * @example
 * ```ts ignore
 * import { waitForExit } from "./sandbox_process.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const exited = await waitForExit(SANDBOX_DIR, { pid: 4242, url: "http://127.0.0.1:1" }, 30_000);
 * ```
 */
export async function waitForExit(
  stateDir: string,
  record: Pick<SandboxPidFile, "pid" | "url">,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = processAlive(record.pid);
    const gone = alive === false ||
      (alive === undefined && (await readPidFile(stateDir).catch(() => undefined))?.pid !==
          record.pid &&
        !(await findRunningSandbox(stateDir)));
    if (gone) return true;
    if (Date.now() >= deadline) return false;
    await delay(50);
  }
}
