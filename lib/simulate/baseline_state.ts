/**
 * The sandbox state every simulated run starts from, built once: what a cluster holds before
 * the deploy under test. The previous version is live (deployed healthy, with the runbook's
 * fixed gates: it is set-up, not a measured run); an environment promoted from another
 * (`deployment.promote_from`: production from staging) got each version there first, as the
 * production gate requires — staging the previous version, production the previous version,
 * then staging the version the runs deploy. Each run then gets, on its own clock, what that
 * clock's day would have (the backup CronJobs' due runs): {@linkcode clusterHistory}.
 * @module
 */
import { virtualClock } from "../clock/mod.ts";
import type { Environment } from "../config/types.ts";
import { savedClockAt } from "../sandbox/mod.ts";
import {
  prepareRehearsal,
  type RehearsalPlan,
  rehearse,
  type RehearseOptions,
} from "../targets/rehearse.ts";
import { ensureBackupHistory } from "../targets/rehearsal_history.ts";
import type { SandboxTarget } from "../targets/sandbox.ts";
import { BASELINE_START_MS } from "./schedule.ts";

/**
 * What the baseline needs of the simulation: its plans, and its time scale if not virtual.
 *
 * @example
 * ```ts ignore
 * const base = await baselineState({ plan: (env, version, dir) => planOf(o, version, "fixed", dir, env), baselineVersion: "v1.0.0", runVersion: "v1.1.0" });
 * ```
 */
export interface BaselineOptions {
  /** A rehearsal plan for `environment` (undefined: the simulated one) at `version` in `dir`. */
  readonly plan: (environment: string | undefined, version: string, dir: string) => RehearsalPlan;
  /** The version live before each run. */
  readonly baselineVersion: string;
  /** The version each run deploys (staging must have it first when promoted from there). */
  readonly runVersion: string;
  /** Sandbox seconds per real second (default: the virtual clock). */
  readonly timeScale?: number | undefined;
  /** Told each environment deployed (its host names go to the DNS stand-in). */
  readonly onEnvironment?: ((env: Environment) => void) | undefined;
}

/**
 * The baseline state: its folder, and the environments whose history each run is given.
 *
 * @example
 * ```ts ignore
 * const b: Baseline = await baselineState(options);
 * ```
 */
export interface Baseline {
  /** The saved state every run copies. */
  readonly dir: string;
  /** The environments whose backup history a run's cluster is given ({@linkcode clusterHistory}). */
  readonly history: readonly Environment[];
}

/**
 * Gives a started sandbox what the cluster would hold at its clock's time: each named
 * environment's backup CronJobs and their runs of the last day.
 *
 * @param envs The environments whose namespaces get it.
 * @returns A `prepareCluster` for {@linkcode rehearse}.
 *
 * @example
 * ```ts ignore
 * await rehearse(prepared, { prepareCluster: clusterHistory([env]) });
 * ```
 */
export function clusterHistory(
  envs: readonly Environment[],
): (sandbox: SandboxTarget) => Promise<void> {
  return async (sandbox) => {
    for (const env of envs) await ensureBackupHistory(sandbox, env);
  };
}

/** One deploy of the baseline: `from` a saved state (undefined: a fresh sandbox). */
async function deployOnce(
  o: BaselineOptions,
  step: { environment: string | undefined; version: string; dir: string; from?: string },
  history: readonly Environment[],
): Promise<{ dir: string; env: Environment }> {
  const plan = o.plan(step.environment, step.version, step.dir);
  const prepared = await prepareRehearsal({ ...plan, skipTypeCheck: true });
  for (const env of [...history, prepared.run.env]) o.onEnvironment?.(env);
  // Before every run's start (a run's clock may not be behind the state it starts from).
  const at = step.from === undefined ? 0 : (await savedClockAt(step.from)) ?? 0;
  const clock = virtualClock({ startMs: Math.max(BASELINE_START_MS, at + 1_000) });
  const options: RehearseOptions<unknown> = {
    clock,
    randomSeed: 0,
    runId: `baseline-${prepared.run.env.name}-${step.version}`,
    confirm: prepared.run.approvals[0]?.phrase,
    ...(step.from !== undefined ? { from: step.from } : {}),
    prepareCluster: clusterHistory([...history, prepared.run.env]),
    ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
  };
  const r = await rehearse(prepared, options).finally(() => clock.dispose());
  if (r.exitCode !== 0) {
    throw new Error(
      `Cannot simulate: deploying ${prepared.plan.version} to ${prepared.run.env.name} for the ` +
        `baseline state ${r.report.status}${
          r.report.error ? ` (${r.report.error})` : ""
        }; see ${r.reportPath}`,
    );
  }
  await Deno.remove(r.runDir, { recursive: true });
  return { dir: prepared.plan.sandboxDir, env: prepared.run.env };
}

/**
 * Builds the baseline state (see the module's doc).
 *
 * @param o The simulation's plans and versions.
 * @returns The state folder, and the environments whose history each run is given.
 * @throws {Error} When a baseline deploy does not succeed (naming it and its report).
 *
 * @example
 * ```ts ignore
 * const { dir, history } = await baselineState(options);
 * ```
 */
export async function baselineState(o: BaselineOptions): Promise<Baseline> {
  const target = await prepareRehearsal({
    ...o.plan(undefined, o.baselineVersion, "base"),
    skipTypeCheck: true,
  });
  const from = target.run.env.deployment.promote_from;
  if (!from) {
    const done = await deployOnce(o, {
      environment: undefined,
      version: o.baselineVersion,
      dir: "base",
    }, []);
    return { dir: done.dir, history: [done.env] };
  }
  const first = await deployOnce(o, {
    environment: from.environment,
    version: o.baselineVersion,
    dir: "base-1",
  }, []);
  const live = await deployOnce(o, {
    environment: undefined,
    version: o.baselineVersion,
    dir: "base-2",
    from: first.dir,
  }, [first.env]);
  const next = await deployOnce(o, {
    environment: from.environment,
    version: o.runVersion,
    dir: "base",
    from: live.dir,
  }, [live.env]);
  return { dir: next.dir, history: [live.env, next.env] };
}
