/**
 * Whether a run without a report is still running or was killed. A runner keeps its
 * `events.jsonl` open from its first event to `run.finished`, so on Linux the answer is a
 * fact: some process on this machine holds the file open (`/proc/<pid>/fd/*` links to it),
 * or none does (killed: `deno task resume <run-id>` can go on with it). Where `/proc` cannot
 * be read, the journal's own word is used: the runner's pid (`run.started`'s or the last
 * `run.resumed`'s, written on a real clock) alive on this host; with no pid (a run on the
 * virtual clock records none), the age of the journal's last write against `staleMs`.
 * @module
 */

/**
 * Which process ids hold each of `paths` open, read from `/proc/<pid>/fd` (processes this
 * user may not read are not seen), or undefined where there is no `/proc`.
 *
 * @param paths Files (resolved to their real paths before comparing).
 * @param o `exclude`: pids to leave out (default this process: the dashboard reads the
 * journals it follows).
 * @returns Each real path held by any process, with the pids holding it.
 *
 * @example
 * ```ts
 * import { fileHolders } from "./liveness.ts";
 * const path = await Deno.makeTempFile();
 * const file = await Deno.open(path, { read: true });
 * const held = await fileHolders([path], { exclude: [] });
 * console.assert(held === undefined || held.get(await Deno.realPath(path))?.includes(Deno.pid));
 * file.close();
 * await Deno.remove(path);
 * ```
 */
export async function fileHolders(
  paths: readonly string[],
  o: { exclude?: readonly number[] } = {},
): Promise<Map<string, number[]> | undefined> {
  const wanted = new Set<string>();
  for (const p of paths) wanted.add(await Deno.realPath(p).catch(() => p));
  const exclude = new Set(o.exclude ?? [Deno.pid]);
  const out = new Map<string, number[]>();
  let procs: Deno.DirEntry[];
  try {
    procs = await Array.fromAsync(Deno.readDir("/proc"));
  } catch {
    return undefined;
  }
  if (!procs.some((e) => e.name === "self")) return undefined;
  for (const proc of procs) {
    if (!/^\d+$/.test(proc.name)) continue;
    const pid = Number(proc.name);
    if (exclude.has(pid)) continue;
    let fds: Deno.DirEntry[];
    try {
      fds = await Array.fromAsync(Deno.readDir(`/proc/${pid}/fd`));
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
      if (!wanted.has(target)) continue;
      const holders = out.get(target) ?? [];
      if (!holders.includes(pid)) holders.push(pid);
      out.set(target, holders);
    }
  }
  return out;
}

/**
 * Whether a process with this id lives (`kill -0`'s answer through `/proc`, or, without
 * `/proc`, unknown).
 *
 * @param pid The process id.
 * @returns true, false, or undefined when it cannot be told.
 *
 * @example
 * ```ts
 * import { processAlive } from "./liveness.ts";
 * console.assert(processAlive(Deno.pid) !== false);
 * ```
 */
export function processAlive(pid: number): boolean | undefined {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return undefined;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is known of an unfinished run's runner, for {@linkcode runnerLives}.
 *
 * @example
 * ```ts
 * import type { RunnerFacts } from "./liveness.ts";
 * const f: RunnerFacts = { journal: "/runs/r1/events.jsonl", held: undefined, pid: 42, sameHost: true };
 * console.assert(f.pid === 42);
 * ```
 */
export interface RunnerFacts {
  /** The run's journal. */
  readonly journal: string;
  /** Whether a process holds the journal open (undefined: no `/proc` to tell). */
  readonly held: boolean | undefined;
  /** The runner's pid the journal names, if any. */
  readonly pid?: number | undefined;
  /** Whether the journal was written on this host. */
  readonly sameHost: boolean;
}

/**
 * Whether an unfinished run's runner still lives: a holder of its journal decides; without
 * `/proc`, its recorded pid; without either, a journal written within `staleMs`.
 *
 * @param facts What is known (see {@linkcode RunnerFacts}).
 * @param o `staleMs` (default 10 minutes: a run paused for a decision writes nothing while it
 * waits, so this fallback can call a long pause killed); `now` (epoch ms, default now).
 * @returns Whether it is running, and how that was told.
 *
 * @example
 * ```ts
 * import { runnerLives } from "./liveness.ts";
 * const r = await runnerLives({ journal: "/nowhere", held: false, sameHost: true });
 * console.assert(r.alive === false && r.how.includes("no process"));
 * ```
 */
export async function runnerLives(
  facts: RunnerFacts,
  o: { staleMs?: number; now?: number } = {},
): Promise<{ alive: boolean; how: string }> {
  if (facts.held !== undefined) {
    return facts.held
      ? { alive: true, how: "a process holds its journal open" }
      : { alive: false, how: "no process holds its journal open" };
  }
  if (facts.pid !== undefined && facts.sameHost) {
    const alive = processAlive(facts.pid);
    if (alive !== undefined) {
      return { alive, how: `its runner, pid ${facts.pid}, ${alive ? "lives" : "is gone"}` };
    }
  }
  const staleMs = o.staleMs ?? 10 * 60_000;
  const mtime = (await Deno.stat(facts.journal).catch(() => null))?.mtime?.getTime();
  if (mtime === undefined) return { alive: false, how: "its journal cannot be read" };
  const age = (o.now ?? Date.now()) - mtime;
  return {
    alive: age < staleMs,
    how: `its journal was last written ${Math.round(age / 1000)} s ago (stale after ${
      Math.round(staleMs / 1000)
    } s)`,
  };
}
