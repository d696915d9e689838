/**
 * `simulate --jobs N`: one simulation in N child processes, one per core. Child `i` runs the
 * seeds `i, i+N, ...` (`--shard i/N`) in a work folder of its own and appends each run's
 * result to a file; this process shows the runs as they end, then summarises all of them
 * as one simulation would (the same seeds give the same runs: a run depends on its seed
 * alone). Asked to stop, it asks every child to stop (each ends after its run in
 * progress) and waits for them.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { delay } from "../async/mod.ts";
import type { RunResult, Summary } from "../simulate/mod.ts";
import { summarize } from "../simulate/mod.ts";

/**
 * What {@linkcode runJobs} needs of the checked arguments.
 *
 * @example
 * ```ts
 * import type { JobsPlan } from "./simulate_jobs.ts";
 * const p: JobsPlan = { jobs: 2, workDir: "/tmp/sim", childArgs: ["development", "--runs", "4", "--seed", "1"], gateKinds: ["sequential"] };
 * ```
 */
export interface JobsPlan {
  /** How many child processes. */
  readonly jobs: number;
  /** The simulation's work folder: child `i` works in `<workDir>/job-<i>`. */
  readonly workDir: string;
  /** `simulate`'s arguments for every child, without `--jobs`, `--shard`, `--work-dir`, `--results`. */
  readonly childArgs: readonly string[];
  /** The gate kinds, in the order to summarise them. */
  readonly gateKinds: readonly string[];
  /** The user's `--results` file: every run is appended to it too. */
  readonly results?: string | undefined;
}

/**
 * The outcome of {@linkcode runJobs}.
 *
 * @example
 * ```ts
 * import type { JobsOutcome } from "./simulate_jobs.ts";
 * const ok = (o: JobsOutcome) => o.failedJobs.length === 0;
 * ```
 */
export interface JobsOutcome {
  /** Every run, in the order they ended. */
  readonly results: RunResult[];
  /** By gate kind. */
  readonly summaries: Record<string, Summary>;
  /** The longest child's set-up (real ms): they set up side by side. */
  readonly setupMs: number;
  /** Children that ended with an error (their stderr's last lines). */
  readonly failedJobs: string[];
}

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Reads the complete lines appended to `file` since `offset`. */
async function newLines(
  file: string,
  offset: number,
): Promise<{ lines: string[]; offset: number }> {
  const text = await Deno.readTextFile(file).catch(() => "");
  const end = text.lastIndexOf("\n") + 1;
  if (end <= offset) return { lines: [], offset };
  return { lines: text.slice(offset, end).split("\n").filter((l) => l !== ""), offset: end };
}

/**
 * Runs the simulation in `plan.jobs` children and summarises their runs.
 *
 * @param plan The children's arguments and where they work.
 * @param onRun Told each run as a child finishes it.
 * @param signal Stops the children (each after its run in progress).
 * @returns Every run, the summaries, and children that failed.
 *
 * @example
 * ```ts ignore
 * const out = await runJobs({ jobs: 2, workDir, childArgs, gateKinds: ["sequential"] }, console.log);
 * ```
 */
export async function runJobs(
  plan: JobsPlan,
  onRun: (r: RunResult, index: number) => void,
  signal?: AbortSignal,
): Promise<JobsOutcome> {
  await Deno.mkdir(plan.workDir, { recursive: true });
  const children = Array.from({ length: plan.jobs }, (_, i) => {
    const results = join(plan.workDir, `job-${i}.jsonl`);
    try {
      Deno.removeSync(results); // a previous simulation's
    } catch { /* none */ }
    return { i, results, offset: 0 };
  }).map((c) => ({
    ...c,
    child: new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "simulate",
        ...plan.childArgs,
        "--json",
        "--shard",
        `${c.i}/${plan.jobs}`,
        "--work-dir",
        join(plan.workDir, `job-${c.i}`),
        "--results",
        c.results,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  }));
  const stop = () => {
    for (const c of children) {
      try {
        c.child.kill("SIGINT");
      } catch { /* already ended */ }
    }
  };
  signal?.addEventListener("abort", stop, { once: true });
  const results: RunResult[] = [];
  const take = async () => {
    for (const c of children) {
      const got = await newLines(c.results, c.offset);
      c.offset = got.offset;
      for (const line of got.lines) {
        const r = JSON.parse(line) as RunResult;
        results.push(r);
        if (plan.results) await Deno.writeTextFile(plan.results, line + "\n", { append: true });
        onRun(r, results.length);
      }
    }
  };
  const outputs = children.map((c) => c.child.output());
  let done = false;
  const ended = Promise.all(outputs).finally(() => done = true);
  while (!done) {
    await Promise.race([ended, delay(500)]);
    await take();
  }
  signal?.removeEventListener("abort", stop);
  const failedJobs: string[] = [];
  let setupMs = 0;
  for (const [i, out] of (await ended).entries()) {
    const text = new TextDecoder().decode(out.stdout);
    try {
      setupMs = Math.max(setupMs, 1000 * Number(JSON.parse(text).setup_seconds ?? 0));
    } catch { /* no summary: the child failed */ }
    // 0: ok; 1: a violation (in the results); 130: stopped as asked.
    if (![0, 1, 130].includes(out.code)) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
      failedJobs.push(`job ${i} (--shard ${i}/${plan.jobs}) exited ${out.code}: ${err}`);
    }
  }
  const summaries: Record<string, Summary> = {};
  for (const k of plan.gateKinds) summaries[k] = summarize(results.filter((r) => r.gates === k));
  return { results, summaries, setupMs, failedJobs };
}
