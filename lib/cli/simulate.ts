/**
 * `deno task simulate <environment> --runs N --seed S`: many seeded rehearsals of the deploy
 * pipeline in the sandbox, each checked against the invariants, then a table of the runs and
 * the counts (`--json`: one object). Every violation prints the seed that reproduces it
 * (`--replay <seed>`). Bad input exits 2 before anything runs; a violation exits 1.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ENVIRONMENTS_DIR } from "../config/mod.ts";
import { InputError } from "../runner/mod.ts";
import { STATE_DIR } from "../product/mod.ts";
import {
  describeFault,
  type RunResult,
  simulate,
  type SimulationResult,
  type Summary,
} from "../simulate/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { runJobs } from "./simulate_jobs.ts";

/** The most runs one command takes. */
const MAX_RUNS = 100_000;

/**
 * The usage of `simulate`.
 *
 * @example
 * ```ts
 * import { SIMULATE_USAGE } from "./simulate.ts";
 * console.assert(SIMULATE_USAGE.startsWith("usage: deno task simulate"));
 * ```
 */
export const SIMULATE_USAGE =
  `usage: deno task simulate <environment> --runs <n> --seed <s> [--json] [--compare-gates]
       deno task simulate <environment> --replay <run-seed> [--json] [--compare-gates]

Rehearses pipelines/deploy.ts in the sandbox n times, each run from a fresh state where the
previous version is live, with a fault drawn from the seed (none, errors, latency, a metrics
gap, crashing pods), and checks after each: a breached version never gets 100% of traffic;
traffic sums to 100% and ends on one version whose pods are Ready; the lock is released; the
report verifies against its journal; no secret in any file of the run. Exit 1 on a violation.
  --runs <n>              how many runs (1..${MAX_RUNS})
  --seed <s>              the simulation's seed (any text): the same seed, the same runs
  --replay <run-seed>     rerun only the run with this seed (printed with each violation)
  --json                  one JSON object: runs, violations, healthy_runs, false_rollbacks,
                          faulty_runs, missed_faults, target_faults, detection_seconds (and
                          for 3% errors from the 5% step); with --compare-gates, per gate kind
  --compare-gates         run every seed twice: --option gates=fixed (the runbook's fixed
                          thresholds) and gates=sequential (the default), side by side
  --pipeline <file>       the pipeline (default pipelines/deploy.ts)
  --environments-dir <d>  where environment files are (default ${ENVIRONMENTS_DIR})
  --work-dir <dir>        sandbox states and run folders (default ${STATE_DIR}/simulate/<seed>)
  --shard <i>/<n>         run only seeds i, i+n, i+2n... of the simulation (0 <= i < n): n
                          processes (one per core), each with its own --shard and --work-dir
  --results <file>        append each run's result to <file> as one JSON line, as it ends
  --keep-runs             keep every run folder (default: only those with a violation)
  --time-scale <n>        run on a real clock scaled n times instead of the virtual clock
  --jobs <n>              run the seeds in n child processes (one per core: 1..16), each in
                          <work-dir>/job-<i>; the summary is of all of them`;

/**
 * The checked arguments of `simulate`.
 *
 * @example
 * ```ts
 * import { simulateArguments } from "./simulate.ts";
 * const a = await simulateArguments(["development", "--runs", "3", "--seed", "7"]);
 * console.assert(a.runs === 3 && a.seed === "7");
 * ```
 */
export interface SimulateArguments {
  readonly environment: string;
  readonly runs: number;
  readonly seed: string;
  readonly replay: number | undefined;
  readonly json: boolean;
  readonly compareGates: boolean;
  readonly pipelineFile: string;
  readonly environmentsDir: string;
  readonly workDir: string;
  readonly keepRuns: boolean;
  readonly timeScale: number | undefined;
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  readonly results: string | undefined;
  /** Child processes to run the seeds in (1: this one). */
  readonly jobs: number;
}

function usageError(message: string): InputError {
  return new InputError(`${message}\n${SIMULATE_USAGE}`);
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw usageError(`--${flag} takes a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

/**
 * Parses and checks `simulate`'s arguments: nothing runs before they are all valid.
 *
 * @param args The arguments after `simulate`.
 * @returns The checked arguments.
 * @throws {InputError} For a missing or bad value, an unknown flag or environment.
 *
 * @example
 * ```ts
 * import { simulateArguments } from "./simulate.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => simulateArguments(["development", "--runs", "0", "--seed", "1"]), /--runs/);
 * ```
 */
export async function simulateArguments(args: string[]): Promise<SimulateArguments> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        runs: { type: "string" },
        seed: { type: "string" },
        replay: { type: "string" },
        json: { type: "boolean" },
        "compare-gates": { type: "boolean" },
        pipeline: { type: "string" },
        "environments-dir": { type: "string" },
        "work-dir": { type: "string" },
        "keep-runs": { type: "boolean" },
        "time-scale": { type: "string" },
        shard: { type: "string" },
        results: { type: "string" },
        jobs: { type: "string" },
      },
    });
  } catch (err) {
    const message = (err as Error).message;
    // node:util's "argument missing" / "argument is ambiguous" (a flag after it): say it plainly.
    const flag = /^Option '(--[a-z-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(
      message,
    );
    throw usageError(flag ? `${flag[1]} needs a value` : message.split("\n")[0]!);
  }
  const v = parsed.values;
  const [environment, ...extra] = parsed.positionals;
  if (environment === undefined) throw usageError("simulate needs an environment");
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
  for (
    const flag of [
      "seed",
      "replay",
      "runs",
      "pipeline",
      "work-dir",
      "shard",
      "results",
      "jobs",
    ] as const
  ) {
    const value = v[flag];
    if (value !== undefined && (value === "" || value.startsWith("-"))) {
      throw usageError(`--${flag} needs a value`);
    }
  }
  const replay = v.replay === undefined ? undefined : integer("replay", v.replay, 0, 2 ** 32 - 1);
  if (replay === undefined && v.runs === undefined) throw usageError("--runs is required");
  if (replay === undefined && v.seed === undefined) throw usageError("--seed is required");
  if (replay !== undefined && v.runs !== undefined) {
    throw usageError("--replay reruns one run: it takes no --runs");
  }
  const runs = v.runs === undefined ? 1 : integer("runs", v.runs, 1, MAX_RUNS);
  const timeScale = v["time-scale"] === undefined
    ? undefined
    : integer("time-scale", v["time-scale"], 1, 100_000);
  let shard: { index: number; count: number } | undefined;
  if (v.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(v.shard);
    const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    if (!(count >= 1 && count <= 64 && index < count)) {
      throw usageError(`--shard takes <i>/<n> with 0 <= i < n <= 64, got "${v.shard}"`);
    }
    shard = { index, count };
  }
  const jobs = v.jobs === undefined ? 1 : integer("jobs", v.jobs, 1, 16);
  if (jobs > 1 && (shard || replay !== undefined)) {
    throw usageError(
      `--jobs runs a whole simulation in ${jobs} processes: it takes no ${
        shard ? "--shard" : "--replay"
      }`,
    );
  }
  const environmentsDir = v["environments-dir"] ?? ENVIRONMENTS_DIR;
  const file = join(environmentsDir, `${environment}.yml`);
  const exists = await Deno.stat(file).then((s) => s.isFile, () => false);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(environment) || !exists) {
    throw usageError(`unknown environment "${environment}": no ${file}`);
  }
  const seed = v.seed ?? "replay";
  return {
    environment,
    runs,
    seed,
    replay,
    json: v.json ?? false,
    compareGates: v["compare-gates"] ?? false,
    pipelineFile: v.pipeline ?? "pipelines/deploy.ts",
    environmentsDir,
    workDir: v["work-dir"] ??
      join(STATE_DIR, "simulate", `${environment}-${replay ?? seed}`.replace(/[^\w.-]/g, "_")),
    keepRuns: v["keep-runs"] ?? false,
    timeScale,
    shard,
    results: v.results,
    jobs: Math.min(jobs, runs),
  };
}

function runLine(r: RunResult, i: number, total: number): string {
  const traffic = r.reachedFull
    ? (r.rolledBack ? "100%, back" : "100%")
    : r.rolledBack
    ? "rolled back"
    : "never moved";
  const det = r.detectionMs === null ? "-" : `${(r.detectionMs / 1000).toFixed(0)}s`;
  const at = r.shareAtOnset === null ? "" : ` (${r.inCanary ? `at ${r.shareAtOnset}%` : "late"})`;
  return `${String(i).padStart(5)}/${total} ${String(r.seed).padStart(10)} ${r.gates.padEnd(10)} ${
    (describeFault(r.injected) + at).padEnd(36)
  } ${r.status.padEnd(11)} ${traffic.padEnd(11)} ${det.padStart(5)} ${
    r.violations.length ? `VIOLATION ${r.violations.map((v) => v.invariant).join(",")}` : "ok"
  }${r.breach && r.injected.kind === "healthy" ? ` [${r.breach}]` : ""} ${
    (r.wallMs / 1000).toFixed(1)
  }s\n`;
}

const ROWS: [string, (s: Summary) => string][] = [
  ["runs", (s) => String(s.runs)],
  ["violations", (s) => String(s.violations.length)],
  ["healthy runs", (s) => String(s.healthy_runs)],
  ["false rollbacks", (s) => String(s.false_rollbacks)],
  ["faulty runs", (s) => String(s.faulty_runs)],
  ["missed faults", (s) => String(s.missed_faults)],
  ["late faults", (s) => String(s.late_faults)],
  ["target faults", (s) => `${s.target_faults.missed}/${s.target_faults.runs} missed`],
  ["detection median", (s) => seconds(s.detection_seconds.median)],
  ["detection p95", (s) => seconds(s.detection_seconds.p95)],
  ["3% @5% median", (s) => seconds(s.detection_seconds_errors_3pct_at_5pct.median)],
  ["3% @5% p95", (s) => seconds(s.detection_seconds_errors_3pct_at_5pct.p95)],
  ["wall per run", (s) => seconds(s.wall_seconds.mean)],
];

function seconds(x: number | null): string {
  return x === null ? "-" : `${x.toFixed(1)}s`;
}

function table(result: SimulationResult, a: SimulateArguments): string {
  const kinds = Object.keys(result.summaries);
  const lines = [`\n${"".padEnd(18)}${kinds.map((k) => k.padStart(14)).join("")}`];
  for (const [label, cell] of ROWS) {
    lines.push(
      `${label.padEnd(18)}${kinds.map((k) => cell(result.summaries[k]!).padStart(14)).join("")}`,
    );
  }
  for (const k of kinds) {
    for (const v of result.summaries[k]!.violations) {
      lines.push(
        `violation (seed ${v.seed}, ${v.gates} gates) ${v.invariant}: ${v.message}\n` +
          `  replay: deno task simulate ${a.environment} --replay ${v.seed}; run folder ${v.runDir}`,
      );
    }
  }
  for (const k of kinds) {
    const gates = Object.entries(result.summaries[k]!.false_rollback_gates);
    if (gates.length) {
      lines.push(`false rollbacks (${k}): ${gates.map(([g, n]) => `${n}× ${g}`).join("; ")}`);
    }
    const missed = result.summaries[k]!.missed_seeds;
    if (missed.length) lines.push(`missed faults (${k}), seeds: ${missed.join(" ")}`);
  }
  lines.push(`setup ${(result.setupMs / 1000).toFixed(1)}s (type check, baseline state)`);
  return lines.join("\n") + "\n";
}

/**
 * Runs `simulate`.
 *
 * @param args The arguments after `simulate`.
 * @param io Where to write.
 * @returns 0 without violations, 1 with any (each printed with its seed).
 * @throws {InputError} For bad input, before anything runs.
 *
 * @example
 * ```ts
 * import { simulateCommand } from "./simulate.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => simulateCommand(["development", "--runs", "x"], io), /--runs/);
 * ```
 */
export async function simulateCommand(args: string[], io: CliIo): Promise<number> {
  const a = await simulateArguments(args);
  if (a.jobs > 1) return await simulateInJobs(a, io);
  const result = await simulate({
    pipelineFile: a.pipelineFile,
    environment: a.environment,
    environmentsDir: a.environmentsDir,
    runs: a.runs,
    seed: a.seed,
    replay: a.replay,
    shard: a.shard,
    workDir: a.workDir,
    keepRuns: a.keepRuns || a.replay !== undefined,
    gateKinds: a.compareGates ? ["fixed", "sequential"] : ["sequential"],
    ...(a.timeScale !== undefined ? { timeScale: a.timeScale } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    onRun: (r, i, total) => {
      if (a.results) Deno.writeTextFileSync(a.results, JSON.stringify(r) + "\n", { append: true });
      if (!a.json) io.stdout(runLine(r, i, total));
    },
  });
  const violations = Object.values(result.summaries).some((s) => s.violations.length > 0);
  if (a.json) {
    const gates = result.summaries;
    io.stdout(
      JSON.stringify(
        a.compareGates ? { gates, setup_seconds: result.setupMs / 1000 } : {
          ...Object.values(gates)[0]!,
          setup_seconds: result.setupMs / 1000,
        },
        null,
        2,
      ) + "\n",
    );
  } else io.stdout(table(result, a));
  if (io.signal?.aborted) return EXIT.interrupted;
  return violations ? EXIT.failed : EXIT.ok;
}

/** The arguments every child of `--jobs` gets (its shard, folder and results file added). */
function childArgs(a: SimulateArguments): string[] {
  return [
    a.environment,
    "--runs",
    String(a.runs),
    "--seed",
    a.seed,
    "--pipeline",
    a.pipelineFile,
    "--environments-dir",
    a.environmentsDir,
    ...(a.compareGates ? ["--compare-gates"] : []),
    ...(a.keepRuns ? ["--keep-runs"] : []),
    ...(a.timeScale !== undefined ? ["--time-scale", String(a.timeScale)] : []),
  ];
}

/** `simulate --jobs N`: the seeds in N child processes, summarised here. */
async function simulateInJobs(a: SimulateArguments, io: CliIo): Promise<number> {
  const gateKinds = a.compareGates ? ["fixed", "sequential"] : ["sequential"];
  const total = a.runs * gateKinds.length;
  const out = await runJobs(
    { jobs: a.jobs, workDir: a.workDir, childArgs: childArgs(a), gateKinds, results: a.results },
    (r, i) => {
      if (!a.json) io.stdout(runLine(r, i, total));
    },
    io.signal,
  );
  for (const f of out.failedJobs) io.stderr(`simulate: ${f}\n`);
  const result: SimulationResult = {
    results: out.results,
    summaries: out.summaries,
    setupMs: out.setupMs,
  };
  if (a.json) {
    const jobs = { jobs: a.jobs, setup_seconds: result.setupMs / 1000 };
    io.stdout(
      JSON.stringify(
        a.compareGates ? { gates: out.summaries, ...jobs } : {
          ...Object.values(out.summaries)[0]!,
          ...jobs,
        },
        null,
        2,
      ) + "\n",
    );
  } else io.stdout(table(result, a));
  if (io.signal?.aborted) return EXIT.interrupted;
  if (out.failedJobs.length > 0) return EXIT.failed;
  return Object.values(out.summaries).some((s) => s.violations.length > 0) ? EXIT.failed : EXIT.ok;
}

/**
 * The `simulate` command of the CLI.
 *
 * @example
 * ```ts
 * import { SIMULATE_COMMAND } from "./simulate.ts";
 * console.assert(SIMULATE_COMMAND.name === "simulate");
 * ```
 */
export const SIMULATE_COMMAND: Command = {
  name: "simulate",
  summary: "many seeded rehearsals in the sandbox, checked against invariants",
  usage: SIMULATE_USAGE,
  stopsOnSignal: true,
  run: simulateCommand,
};
