/**
 * `deno task simulate <environment> --runs N --seed S`: many seeded rehearsals of the deploy
 * pipeline in the sandbox, each checked against the invariants, then a table of the runs and
 * the counts (`--json`: one object). Every violation prints the seed that reproduces it
 * (`--replay <seed>`). Bad input exits 2 before anything runs; a violation exits 1.
 * @module
 */
import {
  describeFault,
  type RunResult,
  simulate,
  type SimulationResult,
  type Summary,
} from "../simulate/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { runJobs } from "./simulate_jobs.ts";
import { SIMULATE_USAGE, type SimulateArguments, simulateArguments } from "./simulate_args.ts";

export { SIMULATE_USAGE, type SimulateArguments, simulateArguments };

function runLine(r: RunResult, i: number, total: number): string {
  const traffic = r.reachedFull
    ? (r.rolledBack ? "100%, back" : "100%")
    : r.rolledBack
    ? "rolled back"
    : "never moved";
  const det = r.detectionMs === null ? "-" : `${(r.detectionMs / 1000).toFixed(0)}s`;
  const at =
    (r.shareAtOnset === null ? "" : ` (${r.inCanary ? `at ${r.shareAtOnset}%` : "late"})`) +
    (r.apiChaos ? `, api ${Number((r.apiChaos * 100).toFixed(2))}%` : "");
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
  ["flaky API runs", (s) => String(s.api_chaos_runs)],
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
          `  replay: deno task simulate ${a.environment} --replay ${v.seed}${
            a.fault ? ` --fault ${a.fault.text}` : ""
          }${a.apiChaos ? ` --api-chaos ${a.apiChaos.text}` : ""}; run folder ${v.runDir}`,
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
    fault: a.fault?.spec,
    apiChaos: a.apiChaos?.choice,
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
    ...(a.fault ? ["--fault", a.fault.text] : []),
    ...(a.apiChaos ? ["--api-chaos", a.apiChaos.text] : []),
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
