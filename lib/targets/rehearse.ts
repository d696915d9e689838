/**
 * A rehearsal as a library call: what `deploy <env> <version> --sandbox` does — prepare the
 * run, start a sandbox in this process, connect, execute, write the report — without a
 * terminal, from a fresh sandbox state every time (a freshly seeded cluster, or a copy of a
 * saved state such as one where the previous version is live). What can be reused across
 * runs is prepared once ({@linkcode prepareRehearsal}: the type check, the environment, the
 * graph, the sandbox's seed). An `inspect` hook reaches the sandbox over its real HTTP API
 * while the run goes and before the sandbox stops (its final state).
 * @module
 */
import { join } from "node:path";
import { parse } from "yaml";
import type { Clock } from "../clock/mod.ts";
import type { ApprovalRecord, Report } from "../report/types.ts";
import { actor, executeRun, type PreparedRun, prepareRun } from "../runner/mod.ts";
import type { SandboxSeed } from "../sandbox/mod.ts";
import { connect } from "./connect.ts";
import { type SandboxTarget, sandboxTarget, startProjectSandbox } from "./sandbox.ts";
import { loadSandboxSeed } from "./sandbox_seed.ts";
import { bystanderFetch } from "./bystander.ts";

export { bystanderFetch };

/**
 * What is injected into a rehearsal's sandbox. Today a sandbox scenario (`SCENARIOS`);
 * finer fault specifications (onset, size) join here as the sandbox learns them.
 *
 * @example
 * ```ts
 * import type { RehearsalFaults } from "./rehearse.ts";
 * const f: RehearsalFaults = { scenario: "canary-errors" };
 * ```
 */
export interface RehearsalFaults {
  /** The sandbox scenario (undefined: none). */
  readonly scenario?: string | undefined;
}

/**
 * The sandbox of a rehearsal, as a client reaches it (its HTTP API), while it runs.
 *
 * @example
 * ```ts
 * import type { SandboxAccess } from "./rehearse.ts";
 * const list = (s: SandboxAccess) => s.fetch(`/api/v1/namespaces/${s.namespace}/services`);
 * ```
 */
export interface SandboxAccess {
  /** The API server's URL. */
  readonly url: string;
  /** Its bearer token. */
  readonly token: string;
  /** Its kubeconfig. */
  readonly kubeconfigPath: string;
  /** The run's namespace. */
  readonly namespace: string;
  /** The rehearsal's clock. */
  readonly clock: Clock;
  /**
   * Reads its API as a bystander (`path` from `/api` or `/apis`, the token added): in this
   * process and never faulted by `api-chaos` when the sandbox runs here, over HTTP
   * otherwise. What an inspector reads must be the cluster, not a flaky API's answer.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Watches a rehearsal's sandbox: started before the run, `done` awaited after it, before
 * the sandbox stops (so it can read the final state).
 *
 * @example
 * ```ts
 * import type { Inspector } from "./rehearse.ts";
 * const nothing: Inspector<null> = { done: () => Promise.resolve(null) };
 * ```
 */
export interface Inspector<T> {
  /** Awaited before the run starts (e.g. the first read of the cluster). */
  readonly ready?: Promise<void>;
  /**
   * The clock the run (its capabilities, gates and journal) uses instead of the
   * sandbox's: one that is the sandbox's underneath and tells the inspector of what the run
   * holds it for (e.g. to read the cluster after every write before time moves on).
   */
  readonly clock?: Clock;
  /** The run is over: read what is needed, stop watching, and answer. */
  done(): Promise<T>;
  /** What it is doing now (e.g. which read `done()` waits on), for a stuck rehearsal's message. */
  where?(): string;
}

/**
 * What {@linkcode prepareRehearsal} takes.
 *
 * @example
 * ```ts
 * import type { RehearsalPlan } from "./rehearse.ts";
 * const p: RehearsalPlan = { pipelineFile: "pipelines/deploy.ts", environment: "development", version: "v1.2.3", sandboxDir: "/tmp/sb", runsDir: "/tmp/runs" };
 * ```
 */
export interface RehearsalPlan {
  /** The pipeline file. */
  readonly pipelineFile: string;
  /** The environment's name. */
  readonly environment: string;
  /** The version to deploy. */
  readonly version: string;
  /** The environment files (default `ENVIRONMENTS_DIR`). */
  readonly environmentsDir?: string | undefined;
  /** Where each rehearsal's sandbox state goes (one folder, emptied before each run). */
  readonly sandboxDir: string;
  /** Where run folders go. */
  readonly runsDir: string;
  /** `--option key=value` pairs for the pipeline (`target=sandbox` is always set). */
  readonly options?: Readonly<Record<string, string>>;
  /** Skip `deno check` (already checked). */
  readonly skipTypeCheck?: boolean;
}

/**
 * What is set up once and reused by every rehearsal of the same pipeline, environment and
 * version.
 *
 * @example
 * ```ts ignore
 * import { prepareRehearsal } from "./rehearse.ts";
 * const prepared = await prepareRehearsal(plan); // the type check, once
 * ```
 */
export interface PreparedRehearsal {
  /** The plan it was prepared for. */
  readonly plan: RehearsalPlan;
  /** The prepared run (type-checked, environment loaded, graph validated). */
  readonly run: PreparedRun;
  /** The sandbox's seed, from the environment files. */
  readonly seed: SandboxSeed;
  /** Who the runs are by. */
  readonly user: string;
  /** Real milliseconds preparing took. */
  readonly prepareMs: number;
}

/**
 * What {@linkcode rehearse} takes besides the prepared run.
 *
 * @example
 * ```ts
 * import type { RehearseOptions } from "./rehearse.ts";
 * const o: RehearseOptions<null> = { faults: { scenario: "crashloop" }, confirm: "DEPLOY TO PRODUCTION" };
 * ```
 */
export interface RehearseOptions<T> {
  /**
   * The clock the whole rehearsal runs on — the sandbox, the run, its capabilities and
   * gates — e.g. `virtualClock({ startMs })` for a run that is the same every time. Its
   * `now()` must not be behind the state it starts from (`savedClockAt`). Default: the
   * sandbox's own (a virtual clock from the wall's now, or `timeScale`'s scaled one).
   */
  readonly clock?: Clock;
  /** The seed of the sandbox's traffic. */
  readonly randomSeed?: number;
  /** What is injected. */
  readonly faults?: RehearsalFaults;
  /** A saved sandbox state to start from (copied: it stays as it is). Default: freshly seeded. */
  readonly from?: string | undefined;
  /** Sandbox seconds per real second (a real clock only). */
  readonly timeScale?: number;
  /**
   * The embedded database is not read from the state folder (`shareEmbeddedDatabases()` is
   * on: every open leases a shared instance, reset): `from`'s `pglite/` is not copied.
   */
  readonly databaseShared?: boolean;
  /**
   * The sandbox saves its state as it changes (default true; `false`: only when it stops —
   * for a run nothing resumes from, as a simulation's). On `clock` only.
   */
  readonly autosave?: boolean;
  /** The phrase an approval stage needs (given as `--confirm` would be). */
  readonly confirm?: string | undefined;
  /** The run's id (default: the runner's own). */
  readonly runId?: string | undefined;
  /** Watches the sandbox during the run and reads its final state. */
  readonly inspect?: ((sandbox: SandboxAccess) => Inspector<T>) | undefined;
  /** Interrupts the run. */
  readonly signal?: AbortSignal | undefined;
  /** Where the run's lines go (default: nowhere). */
  readonly log?: ((line: string) => void) | undefined;
  /**
   * Gives the started sandbox what the cluster would already hold before this deploy (e.g.
   * the backup CronJobs' due runs), before the run connects. Its time counts as the
   * sandbox's start.
   */
  readonly prepareCluster?: ((sandbox: SandboxTarget) => Promise<void>) | undefined;
  /**
   * Told as each phase begins: `fresh state`, `starting the sandbox`, `inspector ready`,
   * `connecting`, `run`, `inspector done`, `closing the connection`, `stopping the sandbox`
   * (e.g. for a watchdog that names where a rehearsal is stuck).
   */
  readonly onPhase?: ((phase: string) => void) | undefined;
  /**
   * Abandons the rehearsal: whatever phase it waits on rejects with the signal's reason at
   * once (what it waited on is left behind), e.g. a watchdog's when a phase is stuck; the
   * connection and the sandbox are still closed, but not waited for (their state folder may
   * still be written to for a while: the next rehearsal should use another plan's). Unlike
   * `signal`, the run is not asked to stop cleanly.
   */
  readonly abandon?: AbortSignal | undefined;
}

/**
 * Where a rehearsal's real time went, in milliseconds.
 *
 * @example
 * ```ts
 * import type { RehearsalTimings } from "./rehearse.ts";
 * const t: RehearsalTimings = { stateMs: 1, sandboxMs: 2, runMs: 3, inspectMs: 4, closeMs: 5 };
 * ```
 */
export interface RehearsalTimings {
  /** Preparing the sandbox's state folder. */
  readonly stateMs: number;
  /** Starting the sandbox and connecting. */
  readonly sandboxMs: number;
  /** The pipeline run itself. */
  readonly runMs: number;
  /** The inspector's final reads. */
  readonly inspectMs: number;
  /** Closing the clients and stopping the sandbox. */
  readonly closeMs: number;
}

/**
 * A finished rehearsal.
 *
 * @example
 * ```ts
 * import type { Rehearsal } from "./rehearse.ts";
 * const ok = (r: Rehearsal<unknown>) => r.exitCode === 0;
 * ```
 */
export interface Rehearsal<T> {
  /** As `deploy` exits: 0 succeeded, 1 failed (rolled back where it could), 130 interrupted. */
  readonly exitCode: number;
  /** The run's id. */
  readonly runId: string;
  /** The run folder. */
  readonly runDir: string;
  /** Its report.json. */
  readonly reportPath: string;
  /** The report. */
  readonly report: Report;
  /** What the inspector answered (undefined without one). */
  readonly inspection: T | undefined;
  /** Where the real time went. */
  readonly timings: RehearsalTimings;
}

/**
 * Sets up what every rehearsal of a plan reuses: the prepared run (one type check) and the
 * sandbox's seed.
 *
 * @param plan The pipeline, environment, version and folders.
 * @returns The prepared rehearsal.
 * @throws {InputError} As `deploy` does for bad input (nothing was started or written).
 *
 * @example
 * ```ts ignore
 * import { prepareRehearsal, rehearse } from "./rehearse.ts";
 * const prepared = await prepareRehearsal({ pipelineFile: "pipelines/deploy.ts", environment: "development", version: "v1.2.3", sandboxDir: "/tmp/sb", runsDir: "/tmp/runs" });
 * const { exitCode } = await rehearse(prepared, {});
 * ```
 */
export async function prepareRehearsal(plan: RehearsalPlan): Promise<PreparedRehearsal> {
  const t0 = performance.now();
  const [run, loaded, user] = await Promise.all([
    prepareRun({
      pipelineFile: plan.pipelineFile,
      environment: plan.environment,
      version: plan.version,
      options: { target: "sandbox", ...plan.options },
      ...(plan.environmentsDir ? { environmentsDir: plan.environmentsDir } : {}),
      ...(plan.skipTypeCheck ? { skipTypeCheck: true } : {}),
      protectedPaths: [plan.runsDir, plan.sandboxDir],
    }),
    loadSandboxSeed(plan.environmentsDir),
    actor(),
  ]);
  return { plan, run, seed: loaded.seed, user, prepareMs: performance.now() - t0 };
}

/** Empties `dir` and copies `from` into it (the sandbox's lock and kubeconfig left out). */
async function freshState(
  dir: string,
  from: string | undefined,
  leaveOut: readonly string[],
): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(dir, { recursive: true });
  if (from !== undefined) {
    await copyTree(from, dir, new Set(["pglite.lock", "kubeconfig", ...leaveOut]));
  }
}

async function copyTree(from: string, to: string, skip: ReadonlySet<string>): Promise<void> {
  const copies: Promise<void>[] = [];
  for await (const entry of Deno.readDir(from)) {
    if (skip.has(entry.name)) continue;
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory) {
      await Deno.mkdir(dst);
      copies.push(copyTree(src, dst, new Set()));
    } else if (entry.isFile) copies.push(Deno.copyFile(src, dst));
  }
  await Promise.all(copies);
}

/**
 * The rehearsal's sandbox, started in this process: on `o.clock` when given (the sandbox's
 * start refuses one behind the state's `clockAt`), else as `--sandbox` starts one.
 */
async function startTarget(
  prepared: PreparedRehearsal,
  o: RehearseOptions<unknown>,
): Promise<SandboxTarget> {
  const { plan, run } = prepared;
  const common = {
    stateDir: plan.sandboxDir,
    seed: prepared.seed,
    ...(o.faults?.scenario !== undefined ? { scenario: o.faults.scenario } : {}),
    ...(o.from === undefined ? { reset: true } : {}),
  };
  if (o.clock === undefined) {
    return await sandboxTarget({
      ...common,
      namespace: run.env.environment.namespace,
      ...(o.randomSeed !== undefined ? { randomSeed: String(o.randomSeed) } : {}),
      ...(o.timeScale !== undefined ? { timeScale: o.timeScale, clock: "real" as const } : {}),
    });
  }
  const clock = o.clock;
  const randomSeed = String(o.randomSeed ?? "default");
  const sandbox = await startProjectSandbox({
    ...common,
    clock,
    randomSeed,
    maxRealRate: 400,
    ...(o.autosave === false ? { autosave: false } : {}),
  });
  const kubeconfig = parse(await Deno.readTextFile(sandbox.kubeconfigPath)) as {
    users?: { user?: { token?: string } }[];
  };
  return {
    url: sandbox.url,
    token: kubeconfig.users?.[0]?.user?.token ?? "",
    kubeconfigPath: sandbox.kubeconfigPath,
    stateDir: plan.sandboxDir,
    scenario: sandbox.scenario,
    timeScale: clock.scale,
    clock,
    randomSeed,
    inProcess: true,
    handle: (request) => sandbox.handle(request),
    measure: (namespace, params) => sandbox.measure(namespace, params),
    close: () => sandbox.stop(),
  };
}

/** An approval given as `--confirm` gives it: approved when the phrase matches. */
function approveWith(confirm: string | undefined, user: string, clock: Clock) {
  return (stageId: string, phrase: string): Promise<ApprovalRecord> => {
    if (confirm === undefined) {
      return Promise.reject(
        new Error(`stage "${stageId}" needs "${phrase}": give the rehearsal its confirm phrase`),
      );
    }
    return Promise.resolve({
      phrase,
      approved: confirm === phrase,
      by: user,
      at: new Date(clock.now()).toISOString(),
      method: "flag",
    });
  };
}

/**
 * Runs one rehearsal from a fresh sandbox state: the sandbox started in this process, the
 * run executed against it, the inspector's final reads, then everything closed.
 *
 * @param prepared From {@linkcode prepareRehearsal}.
 * @param o Clock, seed, faults, the state to start from, the confirm phrase, the inspector.
 * @returns The exit code `deploy` would give, the report, the run folder, the inspection.
 * @throws {InputError} When the sandbox cannot start on the state given (nothing was run).
 *
 * @example
 * ```ts ignore
 * import { prepareRehearsal, rehearse } from "./rehearse.ts";
 * const prepared = await prepareRehearsal(plan);
 * const r = await rehearse(prepared, { faults: { scenario: "crashloop" } });
 * console.log(r.exitCode, r.report.status, r.runDir);
 * ```
 */
export async function rehearse<T>(
  prepared: PreparedRehearsal,
  o: RehearseOptions<T>,
): Promise<Rehearsal<T>> {
  const { plan, run } = prepared;
  const namespace = run.env.environment.namespace;
  const log = o.log ?? (() => {});
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };
  const step = <R>(phase: string, work: () => Promise<R>): Promise<R> => {
    o.onPhase?.(phase);
    return abandonable(work(), o.abandon);
  };
  await step(
    "fresh state",
    () => freshState(plan.sandboxDir, o.from, o.databaseShared ? ["pglite"] : []),
  );
  const stateMs = lap();
  const sandbox = await step("starting the sandbox", () => startTarget(prepared, o));
  const clock = sandbox.clock;
  const closers: [string, () => Promise<void>][] = [[
    "stopping the sandbox",
    () => sandbox.close(),
  ]];
  const close = async () => {
    for (const [phase, fn] of closers.splice(0)) await step(phase, fn).catch(() => {});
  };
  try {
    if (o.prepareCluster) await step("preparing the cluster", () => o.prepareCluster!(sandbox));
    const inspector = o.inspect?.({
      ...sandbox,
      namespace,
      clock,
      fetch: bystanderFetch(sandbox.url, sandbox.token, sandbox.inspect),
    });
    await step("inspector ready", async () => await inspector?.ready);
    const runClock = inspector?.clock ?? clock;
    const connection = connect({
      env: run.env,
      sandbox,
      dryRun: false,
      resources: run.stages.filter((s) => s.when?.condition ?? true).flatMap((s) => s.uses),
      redactor: run.redactor,
      metrics: run.metrics,
      log: (line) => log(run.redactor.redact(line)),
      clock: runClock,
      // A rehearsal started on a given clock (simulate's hundreds of runs, in this process):
      // the Kubernetes client's requests reach the sandbox without a loopback socket.
      apiInProcess: o.clock !== undefined,
    });
    closers.unshift(["closing the connection", () => connection.close()]);
    await step("connecting", () => connection.verify(o.signal ? { signal: o.signal } : {}));
    const sandboxMs = lap();
    const outcome = await step("run", () =>
      executeRun(run, {
        runsDir: plan.runsDir,
        approve: approveWith(o.confirm, prepared.user, runClock),
        capabilities: connection.capabilities,
        analyze: connection.analyze,
        failure: connection.failure,
        target: connection.target,
        user: prepared.user,
        clock: runClock,
        ...(o.runId !== undefined ? { runId: o.runId } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        onPrint: (stage, _stream, text) => log(`${stage}: ${text.trimEnd()}`),
        onNotice: (stage, message) => log(`${stage}: ${message}`),
      }));
    const runMs = lap();
    const inspection = inspector ? await step("inspector done", () => inspector.done()) : undefined;
    const inspectMs = lap();
    await close();
    o.abandon?.throwIfAborted();
    const status = outcome.report.status;
    return {
      exitCode: status === "succeeded" ? 0 : status === "interrupted" ? 130 : 1,
      runId: outcome.runId,
      runDir: outcome.runDir,
      reportPath: outcome.reportPath,
      report: outcome.report,
      inspection,
      timings: { stateMs, sandboxMs, runMs, inspectMs, closeMs: lap() },
    };
  } finally {
    // Abandoned, each close is started and left behind at once (it may be stuck too).
    await close();
  }
}

/** `work`, or the signal's reason as soon as it aborts. */
function abandonable<R>(work: Promise<R>, signal: AbortSignal | undefined): Promise<R> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<R>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
