/**
 * `simulate`'s arguments: parsed and checked before anything runs (a bad one is an
 * {@linkcode InputError}, exit 2, with the usage).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ENVIRONMENTS_DIR } from "../config/mod.ts";
import { InputError } from "../runner/mod.ts";
import { STATE_DIR } from "../product/mod.ts";
import { type ApiChaosChoice, type ForcedFault, parseFaultSpec } from "../simulate/mod.ts";

/** The most runs one command takes. */
const MAX_RUNS = 100_000;

/**
 * The usage of `simulate`.
 *
 * @example
 * ```ts
 * import { SIMULATE_USAGE } from "./simulate_args.ts";
 * console.assert(SIMULATE_USAGE.startsWith("usage: deno task simulate"));
 * ```
 */
export const SIMULATE_USAGE =
  `usage: deno task simulate <environment> --runs <n> --seed <s> [--json] [--compare-gates]
       deno task simulate <environment> --replay <run-seed> [--json] [--compare-gates]

Rehearses pipelines/deploy.ts in the sandbox n times, each run from a fresh state where the
previous version is live, with a fault drawn from the seed (none, errors, latency, a metrics
gap, crashing pods; for some runs also a flaky Kubernetes API), and checks after each: a
breached version never gets 100% of traffic; traffic sums to 100% and ends on one version whose
pods are Ready; the lock is released; the report verifies against its journal; no secret in any
file of the run. Exit 1 on a violation.
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
                          <work-dir>/job-<i>; the summary is of all of them
  --fault <spec>          every run carries this fault, its onset drawn from the run's seed:
                          <kind>[:<size>][@<onset>|@<from>..<to>], e.g. errors:3%@0s..10m,
                          latency:1s, metrics-gap:2m, crash, healthy (replay with the same)
  --api-chaos <rate|off>  the Kubernetes API's failing share of requests in every run (e.g.
                          5%), or off; default: drawn from each run's seed (a quarter of the
                          runs, at 1-5%; the rate is shown in the run's line)`;

/**
 * The checked arguments of `simulate`.
 *
 * @example
 * ```ts
 * import { simulateArguments } from "./simulate_args.ts";
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
  /** `--fault` as written, and parsed (every run gets this fault). */
  readonly fault: { readonly text: string; readonly spec: ForcedFault } | undefined;
  /** `--api-chaos` as written (undefined: drawn), and what it says. */
  readonly apiChaos: { readonly text: string; readonly choice: ApiChaosChoice } | undefined;
}

/** `--api-chaos <rate>|off|drawn`: a rate above 0% up to 50%, as the sandbox takes it. */
function apiChaosChoice(text: string): ApiChaosChoice {
  if (text === "off" || text === "drawn") return text;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const rate = m ? Number(m[1]) / 100 : NaN;
  if (!(rate > 0 && rate <= 0.5)) {
    throw usageError(
      `--api-chaos takes a percentage above 0% up to 50% (e.g. 5%), "off" or "drawn", got "${text}"`,
    );
  }
  return rate;
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
 * import { simulateArguments } from "./simulate_args.ts";
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
        fault: { type: "string" },
        "api-chaos": { type: "string" },
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
      "fault",
      "api-chaos",
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
  let fault: SimulateArguments["fault"];
  if (v.fault !== undefined) {
    try {
      fault = { text: v.fault, spec: parseFaultSpec(v.fault) };
    } catch (err) {
      throw usageError((err as Error).message);
    }
  }
  const chaosText = v["api-chaos"];
  const apiChaos = chaosText === undefined
    ? undefined
    : { text: chaosText, choice: apiChaosChoice(chaosText) };
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
    fault,
    apiChaos,
  };
}
