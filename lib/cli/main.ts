/**
 * The `deno task` entry: deploy, run, plan, rollback, decide, report, config.
 * A thin layer: it parses arguments, wires the engine to the terminal, and maps
 * outcomes to exit codes (0 succeeded, 1 failed or rolled back, 2 bad input with
 * nothing changed, 130 interrupted).
 * @module
 */
import { InputError, InterruptedError } from "../runner/errors.ts";
import { type PreparedRun, prepareRun } from "../runner/prepare.ts";
import { executeRun } from "../runner/run.ts";
import { configCommand } from "../config/mod.ts";
import { approver, precheckApprovals, readStdinLine } from "./approve.ts";
import { formatPlanMermaid, formatPlanText, planOf } from "./plan.ts";
import { RunView } from "./view.ts";
import { reportCommand } from "./report.ts";
import { connect } from "./connect.ts";
import { type SandboxTarget, sandboxTarget } from "./sandbox_target.ts";
import { decideCommand } from "./decide.ts";
import { type RunArguments, runArguments, SANDBOX_STATE_DIR, USAGE } from "./run_args.ts";

export { SANDBOX_STATE_DIR };

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, input: 2, interrupted: 130 } as const;

/**
 * How long, once a run has ended, closing its clients and the in-process sandbox may take
 * before the CLI exits anyway (saying what was still open).
 *
 * @example
 * ```ts ignore
 * import { CLOSE_DEADLINE_MS } from "./main.ts";
 * console.assert(CLOSE_DEADLINE_MS === 5_000);
 * ```
 */
export const CLOSE_DEADLINE_MS = 5_000;

/** Where the CLI writes, and what it knows of its terminal (tests pass their own). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly tty: boolean;
  readonly colour: boolean;
  readonly signal?: AbortSignal;
}

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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  const outcome = await Promise.race([done.then(() => "closed" as const), late]);
  clearTimeout(timer);
  if (outcome === "late") {
    warn(`warning: ${[...open].join(" and ")} did not close within ${ms} ms: exiting anyway\n`);
  }
}

/** What no stage may be granted: the runs folder, the sandbox's state (and admin kubeconfig). */
function protectedPaths(a: RunArguments): string[] {
  return [a.runsDir ?? ".tracktion/runs", a.sandboxDir];
}

async function runPipeline(a: RunArguments, io: CliIo): Promise<number> {
  const prepared = await prepareRun({
    pipelineFile: a.pipelineFile,
    environment: a.environment,
    version: a.version,
    options: { ...(a.sandbox ? { target: "sandbox" } : {}), ...a.options },
    ...(a.environmentsDir ? { environmentsDir: a.environmentsDir } : {}),
    ...(a.skipTypeCheck ? { skipTypeCheck: true } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    protectedPaths: protectedPaths(a),
  });
  const dryRun = a.dryRun;
  const user = Deno.env.get("USER") ?? "unknown";
  const source = {
    confirm: a.confirm,
    interactive: io.tty,
    user,
    readLine: readStdinLine,
    write: io.stdout,
  };
  if (!dryRun) precheckApprovals(prepared.approvals, source);

  // Everything is validated: from here on, things happen (the sandbox still refuses, with
  // nothing written, a saved state it cannot load).
  const view = new RunView({ write: io.stdout }, {
    tty: io.tty,
    colour: io.colour,
    json: a.json,
  });
  let sandbox: SandboxTarget | undefined;
  if (a.sandbox) {
    sandbox = await sandboxTarget({
      stateDir: a.sandboxDir,
      scenario: a.scenario,
      reset: a.reset,
      ...(a.timeScale !== undefined ? { timeScale: a.timeScale } : {}),
    });
    view.line(
      `sandbox ${sandbox.url}${sandbox.inProcess ? " (started for this run)" : ""}, scenario ${
        sandbox.scenario ?? "none"
      }, time ×${sandbox.timeScale}${
        a.reset && sandbox.inProcess ? ", saved state discarded" : ""
      }`,
    );
  }
  let connection: ReturnType<typeof connect> | undefined;
  try {
    connection = connect({
      env: prepared.env,
      sandbox,
      dryRun,
      redactor: prepared.redactor,
      metrics: prepared.metrics,
      prometheusUrl: a.prometheus,
      log: (line) => view.line(prepared.redactor.redact(line)),
      decisionTimeoutMs: a.decisionTimeoutMs,
      ask: io.tty
        ? async (question: string) => {
          view.line(`\n${question}`);
          io.stdout("promote or abort? ");
          const answer = (await readStdinLine())?.trim().toLowerCase();
          if (answer !== "promote" && answer !== "abort") return null;
          return { action: answer, by: user, at: new Date().toISOString(), method: "tty" as const };
        }
        : undefined,
      onSample: (stage, gate, target, sample) => view.sample(stage, gate, target, sample),
    });
    view.line(
      `${prepared.definition.name} → ${prepared.env.name}${
        prepared.version ? ` @ ${prepared.version.tag}` : ""
      }${dryRun ? " (dry run)" : ""}`,
    );
    const outcome = await executeRun(prepared, {
      ...(a.runsDir ? { runsDir: a.runsDir } : {}),
      concurrency: a.concurrency,
      dryRun,
      approve: approver(source),
      capabilities: connection.capabilities,
      analyze: connection.analyze,
      target: connection.target,
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
    // The run is over: its clients and the sandbox get a bounded time to close.
    const closers: [string, () => Promise<void>][] = [];
    const [opened, target] = [connection, sandbox];
    if (opened) closers.push(["the run's clients", () => opened.close()]);
    if (target) closers.push([`the sandbox at ${target.url}`, () => target.close()]);
    await closeAll(closers, CLOSE_DEADLINE_MS, io.stderr);
  }
}

async function plan(a: RunArguments, io: CliIo): Promise<number> {
  const prepared: PreparedRun = await prepareRun({
    pipelineFile: a.pipelineFile,
    environment: a.environment,
    version: a.version,
    options: a.options,
    ...(a.environmentsDir ? { environmentsDir: a.environmentsDir } : {}),
    ...(a.skipTypeCheck ? { skipTypeCheck: true } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    protectedPaths: protectedPaths(a),
  });
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
 * Runs a CLI command.
 *
 * @param args The arguments after `deno run ... main.ts`.
 * @param io Where to write and what the terminal is.
 * @returns The exit code.
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === "--help" || command === "-h" || rest.includes("--help") || rest.includes("-h")) {
    io.stdout(`${USAGE}\n`);
    return EXIT.ok;
  }
  try {
    switch (command) {
      case "deploy":
      case "rollback":
      case "run":
        return await runPipeline(runArguments(command, rest), io);
      case "plan":
        return await plan(runArguments(command, rest), io);
      case "report":
        return await reportCommand(rest, io);
      case "decide":
        return await decideCommand(rest, io);
      case "config":
        return await configCommand(rest, { stdout: io.stdout, stderr: io.stderr });
      default:
        io.stderr(`${command ? `unknown command "${command}"\n` : ""}${USAGE}\n`);
        return EXIT.input;
    }
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.input;
    }
    if (err instanceof InterruptedError) {
      io.stderr(`${err.message}\n`);
      return EXIT.interrupted;
    }
    throw err;
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const writeAll = (file: typeof Deno.stdout, text: string) => {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
  };
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(EXIT.interrupted);
    console.error(
      "\ninterrupted: stopping running stages and running the failure path (again to force)",
    );
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const tty = Deno.stdout.isTerminal();
  const code = await main(Deno.args, {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeAll(Deno.stderr, t),
    tty: tty && Deno.stdin.isTerminal(),
    colour: tty && !Deno.env.get("NO_COLOR"),
    signal: controller.signal,
  });
  Deno.exit(code);
}
