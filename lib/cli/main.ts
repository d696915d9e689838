/**
 * The `deno task` entry: deploy, run, plan, rollback, decide, report, config.
 * A thin layer: it parses arguments, wires the engine to the terminal, and maps
 * outcomes to exit codes (0 succeeded, 1 failed or rolled back, 2 bad input with
 * nothing changed, 130 interrupted).
 * @module
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../dsl/duration.ts";
import { InputError } from "../runner/errors.ts";
import { type PreparedRun, prepareRun } from "../runner/prepare.ts";
import { executeRun } from "../runner/run.ts";
import { configCommand } from "../config/mod.ts";
import { approver, precheckApprovals, readStdinLine } from "./approve.ts";
import { formatPlanMermaid, formatPlanText, planOf } from "./plan.ts";
import { RunView } from "./view.ts";
import { reportCommand } from "./report.ts";
import { connect } from "./connect.ts";
import { type SandboxTarget, sandboxTarget } from "./sandbox_target.ts";
import { SCENARIOS } from "../sandbox/mod.ts";
import { decideCommand } from "./decide.ts";

/** Where the sandbox keeps its state (and its kubeconfig). */
export const SANDBOX_STATE_DIR = ".tracktion/sandbox";

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, input: 2, interrupted: 130 } as const;

/** Where the CLI writes, and what it knows of its terminal (tests pass their own). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly tty: boolean;
  readonly colour: boolean;
  readonly signal?: AbortSignal;
}

const USAGE = `usage:
  deno task deploy <environment> <version> [--sandbox] [--dry-run] [--confirm <phrase>]
                   [--scenario <name>] [--time-scale <n>] [--sandbox-dir <dir>]
                   [--prometheus <url>] [--decision-timeout <duration>]
                   [--runs-dir <dir>] [--concurrency <n>] [--json] [--option key=value]
  deno task run <pipeline.ts> <environment> [<version>] [same flags as deploy]
  deno task plan <environment> <version> [--pipeline <file>] [--format text|json|mermaid]
  deno task rollback <environment> [--sandbox] [--confirm <phrase>]
  deno task decide <run-id> promote|abort [--runs-dir <dir>]
  deno task report <run-id|run-dir> [--runs-dir <dir>] [--json]
  deno task config validate [<environment>] | diff <a> <b>`;

const RUN_FLAGS = {
  sandbox: { type: "boolean" },
  "dry-run": { type: "boolean" },
  confirm: { type: "string" },
  scenario: { type: "string" },
  "runs-dir": { type: "string" },
  concurrency: { type: "string" },
  json: { type: "boolean" },
  option: { type: "string", multiple: true },
  "environments-dir": { type: "string" },
  "isolate-stages": { type: "boolean" },
  "skip-type-check": { type: "boolean" },
  pipeline: { type: "string" },
  format: { type: "string" },
  prometheus: { type: "string" },
  "sandbox-dir": { type: "string" },
  "time-scale": { type: "string" },
  "decision-timeout": { type: "string" },
} as const;

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: RUN_FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${USAGE}`);
  }
}

function options(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new InputError(`--option takes key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function durationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new InputError(`${flag} takes a duration such as 10m or 90s, got "${text}"`);
  }
}

function concurrency(text: string | undefined): number {
  if (text === undefined) return 4;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new InputError(`--concurrency takes a whole number from 1 to 256, got "${text}"`);
  }
  return n;
}

async function runPipeline(
  file: string,
  positionals: string[],
  values: ReturnType<typeof parse>["values"],
  io: CliIo,
): Promise<number> {
  const [environment, version, ...extra] = positionals;
  if (!environment || extra.length > 0) throw new InputError(USAGE);
  if (values.scenario !== undefined && !values.sandbox) {
    throw new InputError("--scenario needs --sandbox: scenarios are faults the sandbox injects");
  }
  if (values.scenario !== undefined && !(values.scenario in SCENARIOS)) {
    throw new InputError(
      `Unknown scenario "${values.scenario}" (known: ${Object.keys(SCENARIOS).join(", ")})`,
    );
  }
  const prepared = await prepareRun({
    pipelineFile: file,
    environment,
    version,
    options: { ...(values.sandbox ? { target: "sandbox" } : {}), ...options(values.option) },
    ...(values["environments-dir"] ? { environmentsDir: values["environments-dir"] } : {}),
    ...(values["skip-type-check"] ? { skipTypeCheck: true } : {}),
  });
  const dryRun = values["dry-run"] ?? false;
  const user = Deno.env.get("USER") ?? "unknown";
  const source = {
    confirm: values.confirm,
    interactive: io.tty,
    user,
    readLine: readStdinLine,
    write: io.stdout,
  };
  if (!dryRun) precheckApprovals(prepared.approvals, source);
  const n = concurrency(values.concurrency);

  // Everything is validated: from here on, things happen.
  const view = new RunView({ write: io.stdout }, {
    tty: io.tty,
    colour: io.colour,
    json: values.json ?? false,
  });
  let sandbox: SandboxTarget | undefined;
  if (values.sandbox) {
    const timeScale = values["time-scale"] === undefined ? undefined : Number(values["time-scale"]);
    if (timeScale !== undefined && !(timeScale >= 1)) {
      throw new InputError(`--time-scale takes a number >= 1, got "${values["time-scale"]}"`);
    }
    sandbox = await sandboxTarget({
      stateDir: values["sandbox-dir"] ?? SANDBOX_STATE_DIR,
      scenario: values.scenario,
      ...(timeScale !== undefined ? { timeScale } : {}),
    });
    view.line(
      `sandbox ${sandbox.url}${sandbox.inProcess ? " (started for this run)" : ""}, scenario ${
        sandbox.scenario ?? "none"
      }, time ×${sandbox.timeScale}`,
    );
  }
  const connection = connect({
    env: prepared.env,
    sandbox,
    dryRun,
    redactor: prepared.redactor,
    metrics: prepared.metrics,
    prometheusUrl: values.prometheus,
    log: (line) => view.line(prepared.redactor.redact(line)),
    decisionTimeoutMs: values["decision-timeout"] === undefined
      ? undefined
      : durationFlag("--decision-timeout", values["decision-timeout"]),
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
  try {
    const outcome = await executeRun(prepared, {
      ...(values["runs-dir"] ? { runsDir: values["runs-dir"] } : {}),
      concurrency: n,
      dryRun,
      approve: approver(source),
      capabilities: connection.capabilities,
      analyze: connection.analyze,
      target: connection.target,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(values["isolate-stages"] ? { isolateStages: true } : {}),
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
    await connection.close();
    await sandbox?.close();
  }
}

async function plan(
  positionals: string[],
  values: ReturnType<typeof parse>["values"],
  io: CliIo,
): Promise<number> {
  const [environment, version, ...extra] = positionals;
  const format = values.format ?? "text";
  if (!environment || extra.length > 0 || !["text", "json", "mermaid"].includes(format)) {
    throw new InputError(USAGE);
  }
  const prepared: PreparedRun = await prepareRun({
    pipelineFile: values.pipeline ?? "pipelines/deploy.ts",
    environment,
    version,
    options: options(values.option),
    ...(values["environments-dir"] ? { environmentsDir: values["environments-dir"] } : {}),
    ...(values["skip-type-check"] ? { skipTypeCheck: true } : {}),
  });
  const p = planOf(prepared);
  io.stdout(
    (format === "json"
      ? JSON.stringify(p, null, 2)
      : format === "mermaid"
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
  try {
    switch (command) {
      case "deploy": {
        const { positionals, values } = parse(rest);
        return await runPipeline(values.pipeline ?? "pipelines/deploy.ts", positionals, values, io);
      }
      case "rollback": {
        const { positionals, values } = parse(rest);
        return await runPipeline("pipelines/rollback.ts", positionals, values, io);
      }
      case "run": {
        const { positionals, values } = parse(rest);
        const [file, ...others] = positionals;
        if (!file) throw new InputError(USAGE);
        return await runPipeline(file, others, values, io);
      }
      case "plan": {
        const { positionals, values } = parse(rest);
        return await plan(positionals, values, io);
      }
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
