/**
 * The simulator: N rehearsals of a real pipeline, each from a fresh sandbox state where the
 * previous version is live, each with a fault schedule drawn from the seed, each checked
 * against the invariants, counted into a {@linkcode Summary} per gate kind. The pipeline is
 * type-checked once; the baseline state (the previous version deployed, healthy) is built
 * once and copied for every run.
 * @module
 */
import { join } from "node:path";
import { virtualClock } from "../clock/mod.ts";
import {
  type PreparedRehearsal,
  prepareRehearsal,
  type RehearsalPlan,
  rehearse,
} from "../targets/rehearse.ts";
import { checkInvariants, newSlots } from "./invariants.ts";
import { inject } from "./faults.ts";
import { observeSandbox } from "./observe.ts";
import { BASELINE_START_MS, planRun, runSeeds } from "./schedule.ts";
import {
  faultOnsetAt,
  type RunResult,
  shareAt,
  summarize,
  type Summary,
  trafficOutcome,
} from "./summary.ts";
import type { Report as RehearsalReport } from "../report/types.ts";
import { shareEmbeddedDatabases } from "../migrate/mod.ts";

/**
 * What {@linkcode simulate} takes.
 *
 * @example
 * ```ts
 * import type { SimulateOptions } from "./simulate.ts";
 * const o: SimulateOptions = { pipelineFile: "pipelines/deploy.ts", environment: "development", runs: 3, seed: "1", workDir: "/tmp/sim" };
 * ```
 */
export interface SimulateOptions {
  readonly pipelineFile: string;
  readonly environment: string;
  readonly environmentsDir?: string | undefined;
  /** How many runs (ignored with `replay`). */
  readonly runs: number;
  /** The simulation's seed. */
  readonly seed: string;
  /** Rerun only the run with this seed. */
  readonly replay?: number | undefined;
  /**
   * Run only every `count`-th seed from `index` (0-based): `count` processes, one per
   * core, each with its own shard, together run the seeds of one simulation.
   */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
  /** Where sandbox states and run folders go. */
  readonly workDir: string;
  /** The gate kinds to run every seed with (default `["sequential"]`), as `--option gates=<kind>`. */
  readonly gateKinds?: readonly string[];
  /** The version live before each run (default `v1.0.0`) and the one deployed (`v1.1.0`). */
  readonly baselineVersion?: string;
  readonly version?: string;
  /** Sandbox seconds per real second, while the runs use a real clock. */
  readonly timeScale?: number;
  /** Keep every run folder (default: only those that broke an invariant). */
  readonly keepRuns?: boolean;
  /** Skip the type check. */
  readonly skipTypeCheck?: boolean;
  /** Told each run as it ends. */
  readonly onRun?: ((result: RunResult, index: number, total: number) => void) | undefined;
  /** Stops after the run in progress. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A simulation's results.
 *
 * @example
 * ```ts
 * import type { SimulationResult } from "./simulate.ts";
 * const ok = (r: SimulationResult) => Object.values(r.summaries).every((s) => s.violations.length === 0);
 * ```
 */
export interface SimulationResult {
  /** Every run, in order (each seed once per gate kind). */
  readonly results: readonly RunResult[];
  /** By gate kind. */
  readonly summaries: Readonly<Record<string, Summary>>;
  /** Real ms spent before the first run: type check, environment, baseline state. */
  readonly setupMs: number;
}

function planOf(o: SimulateOptions, version: string, gates: string, dir: string): RehearsalPlan {
  return {
    pipelineFile: o.pipelineFile,
    environment: o.environment,
    version,
    environmentsDir: o.environmentsDir,
    sandboxDir: join(o.workDir, dir),
    runsDir: join(o.workDir, "runs"),
    options: { gates },
    ...(o.skipTypeCheck ? { skipTypeCheck: true } : {}),
  };
}

/** The sandbox state every run starts from: the baseline version deployed, healthy. */
async function baselineState(o: SimulateOptions, gates: string): Promise<string> {
  const prepared = await prepareRehearsal(planOf(o, o.baselineVersion ?? "v1.0.0", gates, "base"));
  const r = await rehearse(prepared, {
    // Before every run's start (a run's clock may not be behind the state it starts from).
    clock: virtualClock({ startMs: BASELINE_START_MS }),
    randomSeed: 0,
    runId: "baseline",
    confirm: prepared.run.approvals[0]?.phrase,
    ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
  });
  if (r.exitCode !== 0) {
    throw new Error(
      `Cannot simulate: deploying the baseline ${prepared.plan.version} to a fresh sandbox ` +
        `${r.report.status}${r.report.error ? ` (${r.report.error})` : ""}; see ${r.reportPath}`,
    );
  }
  await Deno.remove(r.runDir, { recursive: true });
  return prepared.plan.sandboxDir;
}

/**
 * A run's id: from its seed and gate kind alone, so a replay writes the same journal.
 *
 * @param seed The run's seed.
 * @param gates Its gate kind.
 * @returns E.g. `sim-00003039-sequential`.
 *
 * @example
 * ```ts
 * import { runIdOf } from "./simulate.ts";
 * console.assert(runIdOf(12345, "fixed") === "sim-00003039-fixed");
 * ```
 */
export function runIdOf(seed: number, gates: string): string {
  return `sim-${(seed >>> 0).toString(16).padStart(8, "0")}-${gates.replace(/[^\w.-]/g, "_")}`;
}

/** The first gate that failed in the report: `<stage>: <gate>`. */
function firstBreach(report: RehearsalReport): string | null {
  const failed = report.stages
    .filter((st) => (st.gates ?? []).some((g) => g.verdict === "failed"))
    .sort((x, y) => Date.parse(x.finishedAt ?? "") - Date.parse(y.finishedAt ?? ""))[0];
  const gate = failed?.gates?.find((g) => g.verdict === "failed");
  return failed && gate ? `${failed.id}: ${gate.gate}` : null;
}

/** One run: fresh state, rehearsal, invariants, counts. */
async function runOne(
  o: SimulateOptions,
  prepared: PreparedRehearsal,
  base: string,
  seed: number,
  gates: string,
): Promise<RunResult> {
  const plan = planRun(seed);
  const injected = inject(plan.fault);
  const t0 = performance.now();
  const virtual = o.timeScale === undefined;
  const r = await rehearse(prepared, {
    ...(virtual ? { clock: virtualClock({ startMs: plan.startMs }) } : { timeScale: o.timeScale }),
    randomSeed: plan.trafficSeed,
    runId: runIdOf(seed, gates),
    faults: { scenario: injected.scenario },
    from: base,
    databaseShared: true,
    confirm: prepared.run.approvals[0]?.phrase,
    inspect: observeSandbox,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const observation = r.inspection!;
  const version = prepared.run.version?.version ?? prepared.plan.version;
  const evidence = { version, runDir: r.runDir, report: r.report, observation };
  const violations = await checkInvariants(evidence);
  const fresh = newSlots(evidence);
  const old = Object.fromEntries(
    Object.entries(fresh).map(([s, slot]) => [s, slot === "blue" ? "green" : "blue"]),
  );
  const traffic = trafficOutcome(observation, fresh, old);
  // A scaled clock's stamps are real time: its intervals are that many times longer.
  const scale = virtual ? 1 : (o.timeScale ?? 1);
  const onsetAtMs = faultOnsetAt(injected.fault, observation, version);
  const inCanary = onsetAtMs !== null &&
    (traffic.fullAtMs === null || onsetAtMs < traffic.fullAtMs) &&
    (traffic.backAtMs === null || onsetAtMs < traffic.backAtMs);
  const reached = Math.max(onsetAtMs ?? 0, traffic.firstAtMs ?? 0);
  if (violations.length === 0 && !o.keepRuns) {
    await Deno.remove(r.runDir, { recursive: true }).catch(() => {});
  }
  return {
    seed,
    gates,
    drawn: plan.fault,
    injected: injected.fault,
    exitCode: r.exitCode,
    status: r.report.status,
    startMs: plan.startMs,
    reachedFull: traffic.fullAtMs !== null,
    rolledBack: traffic.backAtMs !== null,
    onsetAtMs,
    shareAtOnset: onsetAtMs === null ? null : shareAt(observation, fresh, onsetAtMs),
    inCanary,
    detectionMs: inCanary && traffic.backAtMs !== null && traffic.firstAtMs !== null
      ? (traffic.backAtMs - reached) * scale
      : null,
    breach: firstBreach(r.report),
    violations,
    runDir: r.runDir,
    wallMs: performance.now() - t0,
    timings: { ...r.timings },
  };
}

/**
 * Runs the simulation.
 *
 * @param o The pipeline, environment, runs and seed (or the one seed to replay), gate kinds.
 * @returns Every run and the summary per gate kind.
 * @throws {InputError} For bad input (as `deploy` would: unknown environment, type errors).
 *
 * @example
 * ```ts ignore
 * import { simulate } from "./simulate.ts";
 * const { summaries } = await simulate({ pipelineFile: "pipelines/deploy.ts", environment: "development", runs: 3, seed: "1", workDir: await Deno.makeTempDir() });
 * console.log(summaries.fixed?.violations);
 * ```
 */
export async function simulate(o: SimulateOptions): Promise<SimulationResult> {
  const t0 = performance.now();
  const kinds = o.gateKinds?.length ? o.gateKinds : ["sequential"];
  const shard = o.shard ?? { index: 0, count: 1 };
  const seeds = o.replay !== undefined
    ? [o.replay >>> 0]
    : runSeeds(o.seed, o.runs).filter((_, i) => i % shard.count === shard.index);
  // One embedded database for every run (reset between them), instead of each run's copy.
  const sharing = await shareEmbeddedDatabases();
  try {
    return await runAll(o, kinds, seeds, t0);
  } finally {
    await sharing.close();
  }
}

async function runAll(
  o: SimulateOptions,
  kinds: readonly string[],
  seeds: readonly number[],
  t0: number,
): Promise<SimulationResult> {
  const prepared = new Map<string, PreparedRehearsal>();
  for (const [i, gates] of kinds.entries()) {
    const p = planOf(o, o.version ?? "v1.1.0", gates, "run");
    prepared.set(gates, await prepareRehearsal(i === 0 ? p : { ...p, skipTypeCheck: true }));
  }
  const base = await baselineState(o, kinds[0]!);
  const setupMs = performance.now() - t0;
  const results: RunResult[] = [];
  const total = seeds.length * kinds.length;
  for (const seed of seeds) {
    for (const gates of kinds) {
      if (o.signal?.aborted) break;
      const result = await runOne(o, prepared.get(gates)!, base, seed, gates);
      results.push(result);
      o.onRun?.(result, results.length, total);
    }
  }
  const summaries = Object.fromEntries(
    kinds.map((k) => [k, summarize(results.filter((r) => r.gates === k))]),
  );
  return { results, summaries, setupMs };
}
