/**
 * The pipeline commands — `deploy`, `run`, `rollback` (which run a pipeline) and `plan` (which
 * prints one): their arguments checked, the run wired to the terminal, the outcome as an exit
 * code.
 * @module
 */
import { retakeLeases } from "./resume_leases.ts";
import { resolve } from "node:path";
import { type Clock, realClock } from "../clock/mod.ts";
import {
  actor,
  executeRun,
  InputError,
  InterruptedError,
  type PreparedRun,
  prepareRun,
  type RunOutcome,
} from "../runner/mod.ts";
import type { Decision } from "../analysis/decision.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { delay } from "../async/mod.ts";
import { type ApprovalSource, approver, precheckApprovals, readStdinLine } from "./approve.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { formatPlanMermaid, formatPlanText, planOf } from "./plan.ts";
import { checkPlan, runApprover, sandboxApprovals, writePlan } from "./plan_approval.ts";
import { PIPELINE_USAGE, type RunArguments, runArguments } from "./run_args.ts";
import { connect, type SandboxTarget, sandboxTarget } from "../targets/mod.ts";
import { RunView } from "./view.ts";
import { ensureBackupHistory, releasedVersion } from "../targets/rehearsal_history.ts";
import { environmentHostnames, type StandIns, startStandIns } from "../targets/sandbox_standins.ts";
import {
  chooseSigningKey,
  keyForRun,
  type RunSigning,
  signFinishedRun,
} from "../audit/run_signing.ts";
import { type RunSigningKey, SigningKeyError } from "../audit/signing_key.ts";
import { signatureRequired } from "../audit/signature.ts";
import { previousRun } from "../audit/run_link.ts";
import { keepEmbeddedDatabasesOpen, type KeptDatabases } from "../migrate/mod.ts";

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
    // Absolute: companions started in it (redis-server) resolve their files from it.
    stateDir: resolve(a.sandboxDir),
    // Companions listen on addresses of this sandbox's own: two sandboxes on one machine
    // (two clones, a test beside a rehearsal) do not take each other's.
    companionScope: resolve(a.sandboxDir),
    scenario: a.scenario,
    reset: a.reset,
    clock: a.clock,
    // The same deploy draws the same traffic unless --seed says otherwise.
    randomSeed: a.seed ?? `${a.environment}@${a.version ?? "none"}`,
    // Its companion registry holds the images of the version being deployed.
    ...(a.version ? { version: a.version } : {}),
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
    view.pause();
    view.line(`\n${question}`);
    io.stdout("promote or abort? ");
    const answer = (await readStdinLine())?.trim().toLowerCase();
    view.resume();
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
    // A sandbox in this process on the virtual clock: the Kubernetes client's requests reach
    // it without a loopback socket (client-node still builds and reads each of them; the
    // HTTP path is what `--clock real` and the conformance tests with kubectl exercise).
    apiInProcess: o.sandbox?.clock.kind === "virtual",
    log: (line) => view.line(prepared.redactor.redact(line)),
    decisionTimeoutMs: a.decisionTimeoutMs,
    ask: io.tty ? askAtTerminal(view, io, o.user, o.sandbox?.clock ?? realClock) : undefined,
    onSample: (stage, gate, target, sample, progress) =>
      view.sample(stage, gate, target, sample, progress),
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

/** What every run of one command shares: its arguments, terminal, user and approvals. */
interface RunSession {
  readonly a: RunArguments;
  readonly io: CliIo;
  readonly user: string;
  readonly source: ApprovalSource;
  readonly sandbox: SandboxTarget | undefined;
  /** What a sandbox run adds to the pipeline's options (`target`, the stand-ins'). */
  readonly sandboxOptions: Readonly<Record<string, string>>;
  /** The stand-ins beside the sandbox. */
  readonly standIns: StandIns | undefined;
  /** The command line (kept in the journal), and the run to resume instead of starting one. */
  readonly run: RunStartOptions;
  /** The key the runs are signed with (chosen before anything ran). */
  readonly signing: RunSigning;
  /** A view for a run (`--json`: onto standard output, where `io.stdout` is not). */
  readonly newView: () => RunView;
}

/** A signing key problem is bad input: nothing has run (exit 2). */
async function signingInput<T>(choose: () => Promise<T>): Promise<T> {
  try {
    return await choose();
  } catch (err) {
    if (err instanceof SigningKeyError) throw new InputError(err.message);
    throw err;
  }
}

/** How a pipeline command starts its run: its command line, or a run to resume. */
export interface RunStartOptions {
  /** The command and its arguments, as typed (`["deploy", "production", "v1.2.4", ...]`). */
  readonly invocation: readonly string[];
  /** The id of a run whose runner died, to go on with instead of starting a new one. */
  readonly resume?: string | undefined;
}

/** Whether a finished run was signed as it should be, and the line saying so. */
type Signed = { readonly ok: boolean; readonly line: string };

/** Prints a run's signing line: standard error when it went wrong. */
function saySigned(signed: Signed, view: RunView, io: CliIo): void {
  if (signed.ok) view.line(signed.line);
  else io.stderr(`${signed.line}\n`);
}

/** Connects, executes and closes one prepared run; its report's target gets `target`. */
async function executeOne(
  s: RunSession,
  prepared: PreparedRun,
  view: RunView,
  target: Record<string, unknown> = {},
  start: RunStartOptions | undefined = undefined,
): Promise<{ outcome: RunOutcome; close: () => Promise<void>; signed: Signed }> {
  const { a, io, user, source, sandbox } = s;
  const connection = await connectRun(a, io, { prepared, sandbox, view, user });
  let key: RunSigningKey | null;
  try {
    // A key in a Kubernetes Secret is read now the cluster answers, the sandbox's made or
    // read now it runs: before anything runs.
    const chosen = await signingInput(() =>
      keyForRun(prepared.env, s.signing, {
        kubernetes: connection.capabilities.kubernetes,
        namespace: prepared.env.environment.namespace,
        sandboxDir: resolve(a.sandboxDir),
        onWarning: (line) => io.stderr(`warning: ${line}\n`),
      })
    );
    for (const line of chosen.lines) view.line(line);
    key = chosen.key;
  } catch (err) {
    await connection.close().catch(() => {});
    throw err;
  }
  // The run links to the environment's run before it on the same target (a rehearsal to
  // rehearsals); a resumed run keeps the link it recorded.
  const runsDir = a.runsDir ?? RUNS_DIR;
  const previous = start?.resume ? undefined : await previousRun(runsDir, prepared.env.name, {
    target: sandbox ? "sandbox" : "kubernetes",
  });
  let runId: string | undefined;
  // Without --plan, a deploy that requires approvals waits for them after the confirmation.
  const approve = runApprover(s, prepared, {
    confirm: approver(source, sandbox?.clock ?? realClock),
    runId: () => runId,
    io,
  });
  view.line(runTitle(prepared, a));
  try {
    const outcome = await executeRun(prepared, {
      ...(a.runsDir ? { runsDir: a.runsDir } : {}),
      concurrency: a.concurrency,
      dryRun: a.dryRun,
      approve,
      capabilities: connection.capabilities,
      analyze: connection.analyze,
      failure: connection.failure,
      ...(start ? { invocation: start.invocation } : {}),
      ...(previous !== undefined ? { previous } : {}),
      ...(start?.resume
        ? {
          resume: start.resume,
          onResume: (stages) => retakeLeases(connection.capabilities, stages, view),
        }
        : {}),
      target: { ...connection.target, ...target },
      ...(sandbox ? { clock: sandbox.clock } : {}),
      user,
      ...(io.signal ? { signal: io.signal } : {}),
      onChange: (r, running) => view.stage(r, running),
      onNotice: (stage, message) => view.notice(stage, message),
      onStart: (id, runDir) => {
        runId = id;
        view.runStarted({
          runId: id,
          runDir,
          title: runTitle(prepared, a),
          stages: prepared.stages,
        });
      },
    });
    await view.runEnded();
    // Signed once the report is written: a failure is said, and fails the command.
    const signed = await signFinishedRun(outcome, key, {
      now: (sandbox?.clock ?? realClock).now(),
      required: signatureRequired(prepared.env.name, prepared.env) && !a.dryRun,
    });
    return { outcome, close: () => connection.close(), signed };
  } catch (err) {
    await view.runEnded().catch(() => {});
    await connection.close().catch(() => {});
    throw err;
  }
}

/** What runs where: `deploy → production @ v1.2.4`. */
function runTitle(prepared: PreparedRun, a: RunArguments): string {
  return `${prepared.definition.name} → ${prepared.env.name}${
    prepared.version ? ` @ ${prepared.version.tag}` : ""
  }${a.dryRun ? " (dry run)" : ""}`;
}

/**
 * A sandbox rehearsal gives the cluster what a real one would hold before this deploy: the
 * backup CronJobs' history, and for an environment promoted from another
 * (`deployment.promote_from`: production from staging) the version deployed there first, in
 * the same sandbox, through the same pipeline (unless its record already shows the version
 * succeeded there; `--option rehearse-staging=no` leaves it as it is; a dry run deploys
 * nothing, so its gate reads staging as it is). What was done goes into the report's target
 * (`rehearsal`).
 */
async function rehearseHistory(
  s: RunSession,
  prepared: PreparedRun,
  view: RunView,
): Promise<Record<string, unknown>> {
  const { a, io, sandbox } = s;
  if (!sandbox) return {};
  // What the cluster already holds, not a change of this run: a dry run gets it too.
  for (const line of await ensureBackupHistory(sandbox, prepared.env)) {
    view.line(`sandbox: ${line}`);
  }
  const from = prepared.env.deployment.promote_from;
  const version = prepared.version;
  if (!from || !version || prepared.definition.name !== "deploy" || a.dryRun) return {};
  const stagingRun = { environment: from.environment, namespace: from.namespace };
  if (a.options["rehearse-staging"] === "no") {
    view.line(`rehearsal: ${from.environment} left as it is (--option rehearse-staging=no)`);
    return { rehearsal: { ...stagingRun, deployed: false } };
  }
  const released = await releasedVersion(sandbox, from.namespace);
  if (released?.version === version.version) {
    view.line(
      `rehearsal: ${from.environment} already runs ${version.tag} (run ${released.runId}): not deployed again`,
    );
    return { rehearsal: { ...stagingRun, deployed: false, runId: released.runId } };
  }
  const staging = await prepare({ ...a, environment: from.environment, skipTypeCheck: true }, io, {
    ...s.sandboxOptions,
    ...a.options,
  });
  s.standIns?.answer(environmentHostnames(staging.env));
  const namespace = staging.env.environment.namespace;
  if (namespace !== from.namespace) {
    throw new InputError(
      `${prepared.env.file}: deployment.promote_from.namespace is "${from.namespace}" but ` +
        `${staging.env.file} says namespace "${namespace}": make them agree`,
    );
  }
  for (const line of await ensureBackupHistory(sandbox, staging.env)) view.line(`sandbox: ${line}`);
  view.line(
    `rehearsal: ${version.tag} goes to ${from.environment} first, in this sandbox (${prepared.env.name} deploys only what succeeded there)`,
  );
  const stagingView = s.newView();
  const { outcome, close, signed } = await executeOne(s, staging, stagingView);
  stagingView.close();
  await close();
  const r = outcome.report;
  view.line(`${from.environment}: ${r.status}${r.error ? `: ${r.error}` : ""}`);
  saySigned(signed, view, io);
  view.line(`${from.environment} report: ${outcome.reportPath}`);
  if (r.status === "interrupted" || io.signal?.aborted) {
    throw new InterruptedError(
      `Interrupted while rehearsing ${from.environment} first: ${prepared.env.name} was not started`,
    );
  }
  view.line(`rehearsal: now ${prepared.env.name} @ ${version.tag}`);
  return {
    rehearsal: {
      ...stagingRun,
      deployed: true,
      runId: r.runId,
      status: r.status,
      report: outcome.reportPath,
    },
  };
}

/**
 * A sandbox run gets the stand-ins for what the sandbox does not serve (DNS of the
 * environment's names, the external API): the pipeline's options point its checks at them
 * (unless `--option dns-server=`/`external-api=` point elsewhere). Stopped when the run ends.
 */
export async function runPipeline(
  a: RunArguments,
  io: CliIo,
  start: RunStartOptions,
): Promise<number> {
  const standIns = a.sandbox ? await startStandIns() : undefined;
  // --json: standard output carries the journal's events alone; what people read (prompts,
  // the report's path) goes to standard error.
  const newView = () =>
    new RunView({ write: io.stdout }, { tty: io.tty, colour: io.colour, json: a.json });
  try {
    return await runWith(a, a.json ? { ...io, stdout: io.stderr } : io, {
      start,
      newView,
      standIns,
    });
  } finally {
    await standIns?.close();
  }
}

async function runWith(
  a: RunArguments,
  io: CliIo,
  o: { start: RunStartOptions; newView: () => RunView; standIns: StandIns | undefined },
): Promise<number> {
  const { start, standIns } = o;
  const onAbort = () =>
    io.stderr(
      "\ninterrupted: stopping running stages and running the failure path (again to force)\n",
    );
  io.signal?.addEventListener("abort", onAbort, { once: true });
  const sandboxOptions = a.sandbox
    ? { target: "sandbox", "companion-scope": resolve(a.sandboxDir), ...standIns?.options }
    : {};
  const prepared = await prepare(a, io, { ...sandboxOptions, ...a.options });
  standIns?.answer(environmentHostnames(prepared.env));
  const user = await actor();
  const source: ApprovalSource = {
    confirm: a.confirm,
    interactive: io.tty,
    user,
    readLine: readStdinLine,
    write: io.stdout,
  };
  if (!a.dryRun) precheckApprovals(prepared.approvals, source);
  const approved = a.planFile ? await checkPlan(a, prepared, user) : undefined;
  // The key that will sign the run (a sandbox run: the sandbox's own, made once it is up).
  const signing = await signingInput(() =>
    chooseSigningKey(prepared.env, {
      file: a.signingKey,
      sandboxDir: a.sandbox ? resolve(a.sandboxDir) : undefined,
      dryRun: a.dryRun,
    })
  );

  // Everything is validated: from here on, things happen (the sandbox still refuses, with
  // nothing written, a saved state it cannot load).
  const view = o.newView();
  for (const line of signing.lines) view.line(line);
  let sandbox: SandboxTarget | undefined;
  let close: (() => Promise<void>) | undefined;
  let keeping: KeptDatabases | undefined;
  try {
    if (a.sandbox) {
      sandbox = await startSandbox(a, view, { namespace: prepared.env.environment.namespace, io });
      // The sandbox's database, opened by the rehearsed staging run and then production's, is
      // started once (the runs' sessions of it end with each run).
      if (sandbox.inProcess) keeping = keepEmbeddedDatabasesOpen();
    }
    const session: RunSession = {
      a,
      io,
      user,
      source,
      sandbox,
      sandboxOptions,
      standIns,
      run: start,
      signing,
      newView: o.newView,
    };
    const evidence = await sandboxApprovals(session, prepared, { approved, view });
    const rehearsal = await rehearseHistory(session, prepared, view);
    const run = await executeOne(session, prepared, view, {
      ...rehearsal,
      ...(evidence ? { approvals: evidence } : {}),
    }, session.run);
    close = run.close;
    view.close();
    const r = run.outcome.report;
    view.line(`${r.status}${r.error ? `: ${r.error}` : ""}`);
    for (const u of r.undelivered ?? []) {
      view.line(
        `undelivered: ${u.what} to ${u.channel} (${u.stage}, ${u.attempts} attempt(s)): ${u.error}`,
      );
    }
    saySigned(run.signed, view, io);
    io.stdout(`report: ${run.outcome.reportPath}\n`);
    // A run that succeeded but is not signed as it must be: its evidence is incomplete.
    return r.status === "interrupted"
      ? EXIT.interrupted
      : r.status === "succeeded" && run.signed.ok
      ? EXIT.ok
      : EXIT.failed;
  } finally {
    view.close();
    io.signal?.removeEventListener("abort", onAbort);
    // The run is over: its clients and the sandbox get a bounded time to close.
    const closers: [string, () => Promise<void>][] = [];
    const [opened, target] = [close, sandbox];
    const kept = keeping;
    if (opened || kept) {
      closers.push(["the run's clients", async () => {
        await opened?.();
        await kept?.close();
      }]);
    }
    if (target) closers.push([`the sandbox at ${target.url}`, () => target.close()]);
    await closeAll(closers, CLOSE_DEADLINE_MS, io.stderr);
  }
}

async function plan(a: RunArguments, io: CliIo): Promise<number> {
  const prepared: PreparedRun = await prepare(a, io, a.options);
  if (a.out !== undefined) return await writePlan(a, prepared, io);
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
 * The pipeline commands of the CLI: `deploy`, `run`, `rollback` and `plan` (`resume` is
 * in `resume.ts`).
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
    run: (args, io) =>
      runPipeline(runArguments("deploy", args), io, { invocation: ["deploy", ...args] }),
  },
  {
    name: "run",
    summary: "runs any pipeline file",
    usage: PIPELINE_USAGE.run,
    stopsOnSignal: true,
    run: (args, io) => runPipeline(runArguments("run", args), io, { invocation: ["run", ...args] }),
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
    run: (args, io) =>
      runPipeline(runArguments("rollback", args), io, { invocation: ["rollback", ...args] }),
  },
];
