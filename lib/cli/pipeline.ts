/**
 * The pipeline commands — `deploy`, `run`, `rollback` (which run a pipeline) and `plan` (which
 * prints one): their arguments checked, the run wired to the terminal, the outcome as an exit
 * code.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import {
  actor,
  executeRun,
  InterruptedError,
  type PreparedRun,
  prepareRun,
} from "../runner/mod.ts";
import type { Decision } from "../analysis/decision.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { delay } from "../async/mod.ts";
import { type ApprovalSource, approver, precheckApprovals, readStdinLine } from "./approve.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { formatPlanMermaid, formatPlanText, planOf } from "./plan.ts";
import { PIPELINE_USAGE, type RunArguments, runArguments } from "./run_args.ts";
import { connect, type SandboxTarget, sandboxTarget } from "../targets/mod.ts";
import { RunView } from "./view.ts";

/**
 * How long, once a run has ended, closing its clients and the in-process sandbox may take
 * before the CLI exits anyway (saying what was still open).
 *
 * @example
 * ```ts
 * import { CLOSE_DEADLINE_MS } from "./pipeline.ts";
 * console.assert(CLOSE_DEADLINE_MS === 5_000);
 * ```
 */
export const CLOSE_DEADLINE_MS = 5_000;

/** Closes everything, but gives up waiting after `ms` and says what is still open. */
async function closeAll(
  closers: readonly [what: string, close: () => Promise<void>][],
  ms: number,
  warn: (text: string) => void,
): Promise<void> {
  const open = new Set(closers.map(([what]) => what));
  const done = Promise.allSettled(closers.map(async ([what, close]) => {
    try {
      await close();
    } catch (err) {
      warn(`warning: closing ${what} failed: ${(err as Error).message}\n`);
    }
    open.delete(what);
  }));
  const timer = new AbortController();
  const late = delay(ms, { signal: timer.signal }).then(() => "late" as const, () => "closed");
  const outcome = await Promise.race([done.then(() => "closed" as const), late]);
  timer.abort();
  if (outcome === "late") {
    warn(`warning: ${[...open].join(" and ")} did not close within ${ms} ms: exiting anyway\n`);
  }
}

/** What no stage may be granted: the runs folder, the sandbox's state (and admin kubeconfig). */
function protectedPaths(a: RunArguments): string[] {
  return [a.runsDir ?? RUNS_DIR, a.sandboxDir];
}

function prepare(a: RunArguments, io: CliIo, options: Record<string, string>) {
  return prepareRun({
    pipelineFile: a.pipelineFile,
    environment: a.environment,
    version: a.version,
    options,
    ...(a.environmentsDir ? { environmentsDir: a.environmentsDir } : {}),
    ...(a.skipTypeCheck ? { skipTypeCheck: true } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    protectedPaths: protectedPaths(a),
  });
}

async function startSandbox(
  a: RunArguments,
  view: RunView,
  o: { namespace: string; io: CliIo },
): Promise<SandboxTarget> {
  const sandbox = await sandboxTarget({
    // A running or restored sandbox seeded from other files may lack the run's namespace.
    namespace: o.namespace,
    onWarning: (line) => o.io.stderr(`warning: ${line}\n`),
    stateDir: a.sandboxDir,
    scenario: a.scenario,
    reset: a.reset,
    clock: a.clock,
    // The same deploy draws the same traffic unless --seed says otherwise.
    randomSeed: a.seed ?? `${a.environment}@${a.version ?? "none"}`,
    ...(a.timeScale !== undefined ? { timeScale: a.timeScale } : {}),
    ...(a.environmentsDir ? { environmentsDir: a.environmentsDir } : {}),
  });
  const time = sandbox.clock.kind === "virtual"
    ? `virtual clock, seed ${sandbox.randomSeed}`
    : `time ×${sandbox.timeScale}`;
  view.line(
    `sandbox ${sandbox.url}${sandbox.inProcess ? " (started for this run)" : ""}, scenario ${
      sandbox.scenario ?? "none"
    }, ${time}${a.reset && sandbox.inProcess ? ", saved state discarded" : ""}`,
  );
  return sandbox;
}

/** A paused stage's question at the terminal: `promote` or `abort` (anything else: no answer). */
function askAtTerminal(view: RunView, io: CliIo, user: string, clock: Clock) {
  return async (question: string): Promise<Decision | null> => {
    view.line(`\n${question}`);
    io.stdout("promote or abort? ");
    const answer = (await readStdinLine())?.trim().toLowerCase();
    if (answer !== "promote" && answer !== "abort") return null;
    return { action: answer, by: user, at: new Date(clock.now()).toISOString(), method: "tty" };
  };
}

/**
 * Connects the run to its target and checks the cluster answers before anything happens
 * (a dead API server is one clear error, exit 2; a signal meanwhile, exit 130).
 */
async function connectRun(
  a: RunArguments,
  io: CliIo,
  o: { prepared: PreparedRun; sandbox: SandboxTarget | undefined; view: RunView; user: string },
): Promise<ReturnType<typeof connect>> {
  const { prepared, view } = o;
  const connection = connect({
    env: prepared.env,
    sandbox: o.sandbox,
    dryRun: a.dryRun,
    // The resources of the stages that will run (a stage whose `when` is false needs none).
    resources: prepared.stages.filter((s) => s.when?.condition ?? true).flatMap((s) => s.uses),
    redactor: prepared.redactor,
    metrics: prepared.metrics,
    prometheusUrl: a.prometheus,
    log: (line) => view.line(prepared.redactor.redact(line)),
    decisionTimeoutMs: a.decisionTimeoutMs,
    ask: io.tty ? askAtTerminal(view, io, o.user, o.sandbox?.clock ?? realClock) : undefined,
    onSample: (stage, gate, target, sample) => view.sample(stage, gate, target, sample),
  });
  try {
    await connection.verify(io.signal ? { signal: io.signal } : {});
  } catch (err) {
    await connection.close().catch(() => {});
    if (io.signal?.aborted) {
      throw new InterruptedError("Interrupted while reaching the cluster: nothing was changed");
    }
    throw err;
  }
  return connection;
}

async function runPipeline(a: RunArguments, io: CliIo): Promise<number> {
  const onAbort = () =>
    io.stderr(
      "\ninterrupted: stopping running stages and running the failure path (again to force)\n",
    );
  io.signal?.addEventListener("abort", onAbort, { once: true });
  const prepared = await prepare(a, io, {
    ...(a.sandbox ? { target: "sandbox" } : {}),
    ...a.options,
  });
  const user = await actor();
  const source: ApprovalSource = {
    confirm: a.confirm,
    interactive: io.tty,
    user,
    readLine: readStdinLine,
    write: io.stdout,
  };
  if (!a.dryRun) precheckApprovals(prepared.approvals, source);

  // Everything is validated: from here on, things happen (the sandbox still refuses, with
  // nothing written, a saved state it cannot load).
  const view = new RunView({ write: io.stdout }, { tty: io.tty, colour: io.colour, json: a.json });
  let sandbox: SandboxTarget | undefined;
  let connection: ReturnType<typeof connect> | undefined;
  try {
    if (a.sandbox) {
      sandbox = await startSandbox(a, view, { namespace: prepared.env.environment.namespace, io });
    }
    connection = await connectRun(a, io, { prepared, sandbox, view, user });
    view.line(
      `${prepared.definition.name} → ${prepared.env.name}${
        prepared.version ? ` @ ${prepared.version.tag}` : ""
      }${a.dryRun ? " (dry run)" : ""}`,
    );
    const outcome = await executeRun(prepared, {
      ...(a.runsDir ? { runsDir: a.runsDir } : {}),
      concurrency: a.concurrency,
      dryRun: a.dryRun,
      approve: approver(source, sandbox?.clock ?? realClock),
      capabilities: connection.capabilities,
      analyze: connection.analyze,
      target: connection.target,
      ...(sandbox ? { clock: sandbox.clock } : {}),
      user,
      ...(io.signal ? { signal: io.signal } : {}),
      onChange: (r, running) => view.stage(r, running),
      onNotice: (stage, message) => view.notice(stage, message),
      onStart: (runId) => view.line(`run ${runId}`),
    });
    view.close();
    const r = outcome.report;
    view.line(`${r.status}${r.error ? `: ${r.error}` : ""}`);
    io.stdout(`report: ${outcome.reportPath}\n`);
    return r.status === "succeeded"
      ? EXIT.ok
      : r.status === "interrupted"
      ? EXIT.interrupted
      : EXIT.failed;
  } finally {
    view.close();
    io.signal?.removeEventListener("abort", onAbort);
    // The run is over: its clients and the sandbox get a bounded time to close.
    const closers: [string, () => Promise<void>][] = [];
    const [opened, target] = [connection, sandbox];
    if (opened) closers.push(["the run's clients", () => opened.close()]);
    if (target) closers.push([`the sandbox at ${target.url}`, () => target.close()]);
    await closeAll(closers, CLOSE_DEADLINE_MS, io.stderr);
  }
}

async function plan(a: RunArguments, io: CliIo): Promise<number> {
  const prepared: PreparedRun = await prepare(a, io, a.options);
  const p = planOf(prepared);
  io.stdout(
    (a.format === "json"
      ? JSON.stringify(p, null, 2)
      : a.format === "mermaid"
      ? formatPlanMermaid(p)
      : formatPlanText(p)) + "\n",
  );
  return EXIT.ok;
}

/**
 * The pipeline commands of the CLI: `deploy`, `run`, `rollback` and `plan`.
 *
 * @example
 * ```ts
 * import { PIPELINE_COMMANDS } from "./pipeline.ts";
 * console.assert(PIPELINE_COMMANDS.map((c) => c.name).join() === "deploy,run,plan,rollback");
 * ```
 */
export const PIPELINE_COMMANDS: readonly Command[] = [
  {
    name: "deploy",
    summary: "runs pipelines/deploy.ts for a version in an environment",
    usage: PIPELINE_USAGE.deploy,
    stopsOnSignal: true,
    run: (args, io) => runPipeline(runArguments("deploy", args), io),
  },
  {
    name: "run",
    summary: "runs any pipeline file",
    usage: PIPELINE_USAGE.run,
    stopsOnSignal: true,
    run: (args, io) => runPipeline(runArguments("run", args), io),
  },
  {
    name: "plan",
    summary: "the graph by levels, permissions, checks, gates, approvals",
    usage: PIPELINE_USAGE.plan,
    // Loading a pipeline can take up to its time limit: a signal ends it (exit 130).
    stopsOnSignal: true,
    run: (args, io) => plan(runArguments("plan", args), io),
  },
  {
    name: "rollback",
    summary: "puts traffic back on the version live before the last run",
    usage: PIPELINE_USAGE.rollback,
    stopsOnSignal: true,
    run: (args, io) => runPipeline(runArguments("rollback", args), io),
  },
];
