/**
 * The simulator: N rehearsals of a real pipeline, each from a fresh sandbox state where the
 * previous version is live, each with a fault schedule drawn from the seed, each checked
 * against the invariants, counted into a {@linkcode Summary} per gate kind. The pipeline is
 * type-checked once; the baseline state (the previous version deployed, healthy) is built
 * once and copied for every run.
 * @module
 */
import { join } from "node:path";
import { realClock, virtualClock } from "../clock/mod.ts";
import {
  type Inspector,
  type PreparedRehearsal,
  prepareRehearsal,
  type Rehearsal,
  type RehearsalPlan,
  rehearse,
} from "../targets/rehearse.ts";
import { StuckError, watchRehearsal } from "./watchdog.ts";
import { checkInvariants, newSlots } from "./invariants.ts";
import { inject, runScenario } from "./faults.ts";
import { type Observation, observeSandbox } from "./observe.ts";
import { type ApiChaosChoice, type Fault, planRun, type RunPlan, runSeeds } from "./schedule.ts";
import type { ForcedFault } from "./fault_spec.ts";
import { type Baseline, baselineState, clusterHistory } from "./baseline_state.ts";
import { environmentHostnames, type StandIns, startStandIns } from "../targets/sandbox_standins.ts";
import {
  faultOnsetAt,
  type RunResult,
  shareAt,
  STUCK,
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
  /** The pipeline file (default `pipelines/deploy.ts`). */
  readonly pipelineFile: string;
  /** The environment's name. */
  readonly environment: string;
  /** The environment files' folder (default `environments/`). */
  readonly environmentsDir?: string | undefined;
  /** How many runs (ignored with `replay`). */
  readonly runs: number;
  /** The simulation's seed. */
  readonly seed: string;
  /** Rerun only the run with this seed. */
  readonly replay?: number | undefined;
  /** `--fault`: every run carries this fault (its onset drawn from the run's seed). */
  readonly fault?: ForcedFault | undefined;
  /**
   * Run only every `count`-th seed from `index` (0-based): `count` processes, one per
   * core, each with its own shard, together run the seeds of one simulation.
   */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
  /** Where sandbox states and run folders go. */
  readonly workDir: string;
  /**
   * `--api-chaos`: each run's share of failing Kubernetes API requests, drawn from its seed
   * (default `"drawn"`: a quarter of the runs, at 1–5%), the same rate for every run, or
   * `"off"`.
   */
  readonly apiChaos?: ApiChaosChoice | undefined;
  /** The gate kinds to run every seed with (default `["sequential"]`), as `--option gates=<kind>`. */
  readonly gateKinds?: readonly string[];
  /** The version live before each run (default `v1.0.0`) and the one deployed (`v1.1.0`). */
  readonly baselineVersion?: string;
  /** The version deployed (default: one derived from the seed). */
  readonly version?: string;
  /** Sandbox seconds per real second, while the runs use a real clock. */
  readonly timeScale?: number;
  /** Keep every run folder (default: only those that broke an invariant). */
  readonly keepRuns?: boolean;
  /** Skip the type check. */
  readonly skipTypeCheck?: boolean;
  /**
   * Real ms one phase of a run (sandbox start, connect, the run, the final reads, closing)
   * may take before the run is abandoned as stuck, a `rehearsal-completes` violation naming
   * the phase and what held the clock (default 120 s).
   */
  readonly phaseLimitMs?: number;
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

/** The pipeline options every run gets besides its gates (the stand-ins' addresses). */
type Extra = Readonly<Record<string, string>>;

function planOf(
  o: SimulateOptions,
  version: string,
  gates: string,
  dir: string,
  extra: Extra = {},
  environment = o.environment,
): RehearsalPlan {
  return {
    pipelineFile: o.pipelineFile,
    environment,
    version,
    environmentsDir: o.environmentsDir,
    sandboxDir: join(o.workDir, dir),
    runsDir: join(o.workDir, "runs"),
    options: { ...extra, gates },
    ...(o.skipTypeCheck ? { skipTypeCheck: true } : {}),
  };
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

/** Real ms a phase of a run may take before the watchdog abandons it (default 120 s). */
const PHASE_LIMIT_MS = 120_000;

/** One run: fresh state, rehearsal (watched), invariants, counts. */
async function runOne(
  o: SimulateOptions,
  prepared: PreparedRehearsal,
  base: Baseline,
  seed: number,
  gates: string,
): Promise<RunResult> {
  const plan = planRun(seed, o.fault, o.apiChaos);
  const injected = inject(plan.fault);
  const t0 = performance.now();
  const virtual = o.timeScale === undefined;
  const clock = virtual ? virtualClock({ startMs: plan.startMs }) : undefined;
  let inspector: Inspector<Observation> | undefined;
  const dog = watchRehearsal(
    clock ?? realClock,
    o.phaseLimitMs ?? PHASE_LIMIT_MS,
    () => inspector?.where?.() ?? "",
  );
  const runId = runIdOf(seed, gates);
  let r: Rehearsal<Observation>;
  try {
    r = await rehearse(prepared, {
      ...(clock ? { clock } : o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
      randomSeed: plan.trafficSeed,
      runId,
      faults: { scenario: runScenario(injected, plan.apiChaos) },
      from: base.dir,
      prepareCluster: clusterHistory(base.history),
      databaseShared: true,
      // Nothing resumes from a run's sandbox state: it is saved only when the sandbox stops.
      autosave: false,
      confirm: prepared.run.approvals[0]?.phrase,
      inspect: (s) => (inspector = observeSandbox(s)),
      onPhase: (phase) => dog.phase(phase),
      abandon: dog.signal,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof StuckError)) throw err;
    const runDir = join(prepared.plan.runsDir, runId);
    return stuckResult(seed, gates, plan, injected.fault, err, runDir, performance.now() - t0);
  } finally {
    dog.stop();
    clock?.dispose();
  }
  const apiFaults = plan.apiChaos === null ? undefined : await apiFaultsOf(prepared);
  const result = {
    ...await counted(o, prepared, seed, gates, { plan, injected, virtual, t0 }, r),
    ...(apiFaults !== undefined ? { apiFaults } : {}),
  };
  // How many timers the run's clock fired: each is a jump that waits for quiet.
  return clock ? { ...result, timings: { ...result.timings, timersFired: clock.fired } } : result;
}

/**
 * How many of the run's API requests api-chaos faulted: the sandbox writes its counts to
 * `api-chaos.json` in its state folder when it stops (null: it wrote none).
 */
async function apiFaultsOf(prepared: PreparedRehearsal): Promise<number | null> {
  try {
    const stats = JSON.parse(
      await Deno.readTextFile(join(prepared.plan.sandboxDir, "api-chaos.json")),
    ) as { faults?: Record<string, number> };
    return Object.values(stats.faults ?? {}).reduce((a, b) => a + b, 0);
  } catch {
    return null;
  }
}

/** A run the watchdog abandoned: a `rehearsal-completes` violation, nothing counted. */
function stuckResult(
  seed: number,
  gates: string,
  plan: RunPlan,
  injected: Fault,
  err: StuckError,
  runDir: string,
  wallMs: number,
): RunResult {
  return {
    seed,
    gates,
    drawn: plan.fault,
    injected,
    apiChaos: plan.apiChaos,
    exitCode: 1,
    status: STUCK,
    startMs: plan.startMs,
    reachedFull: false,
    rolledBack: false,
    onsetAtMs: null,
    shareAtOnset: null,
    inCanary: false,
    detectionMs: null,
    breach: null,
    error: err.message,
    violations: [{ invariant: "rehearsal-completes", message: err.message }],
    runDir,
    wallMs,
    timings: {},
  };
}

/** A completed run: invariants checked, traffic outcome and detection counted. */
async function counted(
  o: SimulateOptions,
  prepared: PreparedRehearsal,
  seed: number,
  gates: string,
  run: { plan: RunPlan; injected: ReturnType<typeof inject>; virtual: boolean; t0: number },
  r: Rehearsal<Observation>,
): Promise<RunResult> {
  const { plan, injected, virtual, t0 } = run;
  const observation = r.inspection!;
  const version = prepared.run.version?.version ?? prepared.plan.version;
  const evidence = { version, runDir: r.runDir, report: r.report, observation };
  const checking = performance.now();
  const violations = await checkInvariants(evidence);
  const checkMs = performance.now() - checking;
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
    apiChaos: plan.apiChaos,
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
    error: r.report.error ?? null,
    violations,
    runDir: r.runDir,
    wallMs: performance.now() - t0,
    timings: { ...r.timings, checkMs },
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
  // What the sandbox does not serve (DNS of the environments' names, the external API).
  const standIns = await startStandIns();
  try {
    return await runAll(o, kinds, seeds, t0, standIns);
  } finally {
    await standIns.close();
    await sharing.close();
  }
}

async function runAll(
  o: SimulateOptions,
  kinds: readonly string[],
  seeds: readonly number[],
  t0: number,
  standIns: StandIns,
): Promise<SimulationResult> {
  const extra = standIns.options;
  const version = o.version ?? "v1.1.0";
  const prepared = new Map<string, PreparedRehearsal>();
  for (const [i, gates] of kinds.entries()) {
    const p = planOf(o, version, gates, "run", extra);
    prepared.set(gates, await prepareRehearsal(i === 0 ? p : { ...p, skipTypeCheck: true }));
  }
  const base = await baselineState({
    plan: (environment, v, dir) => planOf(o, v, "fixed", dir, extra, environment),
    baselineVersion: o.baselineVersion ?? "v1.0.0",
    runVersion: version,
    timeScale: o.timeScale,
    onEnvironment: (env) => standIns.answer(environmentHostnames(env)),
  });
  const setupMs = performance.now() - t0;
  const results: RunResult[] = [];
  const total = seeds.length * kinds.length;
  let stuck = 0;
  for (const seed of seeds) {
    for (const gates of kinds) {
      if (o.signal?.aborted) break;
      const result = await runOne(o, prepared.get(gates)!, base, seed, gates);
      if (result.status === STUCK) {
        // Its sandbox may still be closing over the state folder: the next runs use another.
        const dir = `run-${++stuck}`;
        for (const k of kinds) {
          const p = planOf(o, version, k, dir, extra);
          prepared.set(k, await prepareRehearsal({ ...p, skipTypeCheck: true }));
        }
      }
      results.push(result);
      o.onRun?.(result, results.length, total);
    }
  }
  const summaries = Object.fromEntries(
    kinds.map((k) => [k, summarize(results.filter((r) => r.gates === k))]),
  );
  return { results, summaries, setupMs };
}
