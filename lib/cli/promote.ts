/**
 * `deno task promote <version>`: the version through every environment in order, as one
 * command — each deploy, then its test suite, each step only when the one before succeeded,
 * production last with its own gate on staging's records and its two-person approval. The
 * train is the project's (`pipelines/promote.ts`: its `promotion` export); every step is the
 * pipeline command it would be typed as (`deploy staging v1.2.4 ...`, `run
 * pipelines/promote.ts staging v1.2.4 --option suite=integration ...`), with its own run,
 * journal and report. Every step's arguments, pipeline and environment file are checked
 * before the first runs (a mistake exits 2 with nothing changed); a step that does not
 * succeed stops the train (exit 1), naming it, its run and its report.
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { realClock } from "../clock/mod.ts";
import { ConfigError, loadEnvironment } from "../config/mod.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { actor, InputError, InterruptedError, prepareRun } from "../runner/mod.ts";
import { chooseSigningKey } from "../audit/run_signing.ts";
import { SigningKeyError } from "../audit/signing_key.ts";
import {
  checkPromotion,
  legNames,
  type PromoteArguments,
  promoteArguments,
  type PromotionDefinition,
  runTrain,
  stepArguments,
  type StepRun,
  type TrainStep,
  trainSteps,
} from "../promote/mod.ts";
import { precheckApprovals } from "./approve.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";
import { runPipeline } from "./pipeline.ts";
import { checkPlan } from "./plan_approval.ts";
import { type PipelineCommand, type RunArguments, runArguments } from "./run_args.ts";
import { checkBuildRecord, recordDigests } from "../build/record.ts";
import { PINNED_NOTE, summary } from "./_promote_summary.ts";

/**
 * The train file `promote` reads unless `--train` names another.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRAIN } from "./promote.ts";
 * console.assert(DEFAULT_TRAIN === "pipelines/promote.ts");
 * ```
 */
export const DEFAULT_TRAIN = "pipelines/promote.ts";

/**
 * The usage of `promote`.
 *
 * @example
 * ```ts
 * import { PROMOTE_USAGE } from "./promote.ts";
 * console.assert(PROMOTE_USAGE.startsWith("usage: deno task promote <version>"));
 * ```
 */
export const PROMOTE_USAGE = `usage: deno task promote <version> [flags]

Promotes the version through the train of ${DEFAULT_TRAIN} (build -> development -> smoke
tests -> staging -> integration tests -> production): each step is a pipeline run of its own,
and runs only when the one before succeeded. Every step's arguments, pipeline and environment file are
checked first: a mistake exits 2 with nothing changed. A step that does not succeed stops the
train (exit 1) and names its run and report.
  --sandbox                 every environment on the sandbox (the running one, or one started
                            for each step from the same saved state, --sandbox-dir)
  --from <leg>, --to <leg>  run only these legs (build, then the environments, in order); a
                            train started after the first environment gates on the records of
                            the one before (--from development: images built elsewhere)
  --build-option key=value  an option of the build (repeatable; docs/build.md), e.g.
                            signing-key=file:<key> (required), context=<dir>
  --confirm <phrase>        production's confirmation, when no one is at a terminal
  --plan <file>             production deploys only this approved plan (in the sandbox, make
                            it with --option rehearse-staging=no: the train's option there)
  --approvals cluster|github  production waits for approvals from others (sandbox default:
                            the rehearsal approvers sign)
  --approval-timeout <d>    how long production waits for them (default 24h)
  --scenario [<step>=]<name>  with --sandbox: a fault in that step's sandbox (repeatable), or in
                            every step's without <step>=; steps: build, the leg's environment,
                            <suite>-tests, gate:<environment>
  --reset                   with --sandbox: the first step discards the sandbox's saved state
  --sandbox-dir, --runs-dir, --environments-dir, --signing-key, --concurrency, --clock,
  --time-scale, --skip-type-check   handed to every step (see deploy)
  --option key=value        a pipeline option of every step but the build (repeatable)
  --train <file>            the train (default ${DEFAULT_TRAIN})
  --out <file>              write the train's summary (JSON: each step's run, report, status)`;

/** Loads the train file's `promotion` export. */
async function loadTrain(file: string): Promise<PromotionDefinition> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch {
    throw new InputError(`Cannot find the train file ${file}`);
  }
  if (!info.isFile) throw new InputError(`The train file ${file} is not a file`);
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(file)).href);
  } catch (err) {
    throw new InputError(`The train file ${file} cannot be loaded: ${(err as Error).message}`);
  }
  return checkPromotion(module.promotion, file);
}

/** Each leg's environment's `deployment.promote_from` (a bad file: exit 2). */
async function promotions(p: PromotionDefinition, dir: string | undefined) {
  const from = new Map<string, string | undefined>();
  for (const leg of p.legs) {
    try {
      const env = await loadEnvironment(leg.environment, dir ? { dir } : {});
      from.set(leg.environment, env.deployment.promote_from?.environment);
    } catch (err) {
      if (err instanceof ConfigError) throw new InputError(err.message, { cause: err });
      throw err;
    }
  }
  return from;
}

/** A step ready to run: its command line, checked. */
interface ReadyStep {
  readonly command: PipelineCommand;
  readonly args: string[];
  readonly parsed: RunArguments;
  /** It asks for approval (production's deploy). */
  readonly approves: boolean;
  /** The stage whose output the summary keeps (the build's record). */
  readonly record: string | undefined;
}

const split = (args: string[]) => ({ command: args[0] as PipelineCommand, rest: args.slice(1) });

/**
 * Checks every step before any runs, as the step's own command would before it starts: its
 * arguments, its pipeline (type-checked once per file), its environment file and graph, and
 * for the step that asks for approval the confirmation, the plan and the signing key.
 */
async function checkSteps(
  a: PromoteArguments,
  steps: readonly TrainStep[],
  o: { io: CliIo; gated: (step: TrainStep) => boolean },
): Promise<ReadyStep[]> {
  const checked = new Set<string>();
  const ready: ReadyStep[] = [];
  let approving = false;
  const user = await actor();
  for (const [i, step] of steps.entries()) {
    try {
      ready.push(await checkStep(a, step, { ...o, first: i === 0, checked, user }));
    } catch (err) {
      if (err instanceof InputError) {
        const hint = step.kind === "build"
          ? " (the train gives the build its --build-option key=value as --option key=value)"
          : "";
        throw new InputError(`step ${step.id} (${step.title}): ${err.message}${hint}`, {
          cause: err,
        });
      }
      throw err;
    }
    approving ||= ready.at(-1)!.approves;
  }
  if (a.approvalFlags.length > 0 && !approving) {
    throw new InputError(
      `${a.approvalFlags[0]} is for a step that asks for approval, and no step of this train does`,
    );
  }
  return ready;
}

/** One step checked, as its own command would check it before it starts. */
async function checkStep(
  a: PromoteArguments,
  step: TrainStep,
  o: {
    io: CliIo;
    gated: (step: TrainStep) => boolean;
    first: boolean;
    checked: Set<string>;
    user: string;
  },
): Promise<ReadyStep> {
  const { checked, user } = o;
  const base = { first: o.first, gated: o.gated(step) };
  const draft = split(stepArguments(step, a, { ...base, approves: false, typeChecked: false }));
  const draftArgs = runArguments(draft.command, draft.rest);
  const file = resolve(draftArgs.pipelineFile);
  const prepared = await prepareRun({
    pipelineFile: draftArgs.pipelineFile,
    environment: draftArgs.environment,
    version: draftArgs.version,
    options: {
      ...(a.sandbox ? { target: "sandbox", "companion-scope": resolve(draftArgs.sandboxDir) } : {}),
      ...draftArgs.options,
    },
    ...(draftArgs.environmentsDir ? { environmentsDir: draftArgs.environmentsDir } : {}),
    skipTypeCheck: a.skipTypeCheck || checked.has(file),
    ...(o.io.signal ? { signal: o.io.signal } : {}),
    protectedPaths: [draftArgs.runsDir ?? RUNS_DIR, draftArgs.sandboxDir],
  });
  checked.add(file);
  const approves = prepared.approvals.length > 0;
  const { command, rest } = split(
    stepArguments(step, a, { ...base, approves, typeChecked: true }),
  );
  const parsed = runArguments(command, rest);
  if (approves) {
    precheckApprovals(prepared.approvals, { confirm: parsed.confirm, interactive: o.io.tty });
    if (parsed.planFile) await checkPlan(parsed, prepared, user);
  }
  try {
    await chooseSigningKey(prepared.env, {
      file: parsed.signingKey,
      sandboxDir: parsed.sandbox ? resolve(parsed.sandboxDir) : undefined,
      dryRun: false,
    });
  } catch (err) {
    if (err instanceof SigningKeyError) throw new InputError(err.message);
    throw err;
  }
  return { command, args: [command, ...rest], parsed, approves, record: step.record };
}

/** What a step's run printed last as `report: <path>`, and what that report says. */
async function runStep(ready: ReadyStep, io: CliIo): Promise<StepRun> {
  let pending = "";
  let report: string | undefined;
  const stdout = (text: string) => {
    io.stdout(text);
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^report: (.+)$/.exec(line);
      if (m) report = m[1];
    }
  };
  let exitCode: number;
  let error: string | undefined;
  try {
    exitCode = await runPipeline(ready.parsed, { ...io, stdout }, { invocation: ready.args });
  } catch (err) {
    if (err instanceof InputError) [exitCode, error] = [EXIT.input, err.message];
    else if (err instanceof InterruptedError) [exitCode, error] = [EXIT.interrupted, err.message];
    else [exitCode, error] = [EXIT.failed, `crashed: ${(err as Error).message}`];
    io.stderr(`error: ${error}\n`);
  }
  if (report === undefined) return { exitCode, error, command: ready.args };
  let r: {
    runId?: string;
    status?: string;
    error?: string;
    stages?: { id: string; output?: unknown }[];
  } = {};
  try {
    r = JSON.parse(await Deno.readTextFile(report));
  } catch { /* the path and the exit code say enough */ }
  return {
    exitCode,
    report,
    runId: r.runId ?? /([^/]+)\/report\.json$/.exec(report)?.[1],
    status: r.status,
    error: error ?? r.error,
    command: ready.args,
    ...(ready.record ? { record: r.stages?.find((s) => s.id === ready.record)?.output } : {}),
  };
}

/** A step after the build, given its digests (`--option digests=...`: lib/build/record.ts). */
function pinnedTo(ready: ReadyStep, record: unknown, version: string): ReadyStep {
  const digests = recordDigests(checkBuildRecord(record, "the train's build handed on"), version);
  const [command, ...rest] = ready.args as [PipelineCommand, ...string[]];
  const args = [...rest, "--option", `digests=${digests}`];
  return { ...ready, args: [command, ...args], parsed: runArguments(command, args) };
}

async function promote(args: string[], io: CliIo): Promise<number> {
  const a = promoteArguments(args, { trainFile: DEFAULT_TRAIN, usage: PROMOTE_USAGE });
  if (a.options.some((o) => o.startsWith("rehearse-staging="))) {
    throw new InputError(
      "--option rehearse-staging is the train's own: production's deploy reads staging as the " +
        "train left it (drop the option)",
    );
  }
  const promotion = await loadTrain(a.trainFile);
  const from = await promotions(promotion, a.environmentsDir);
  const steps = trainSteps(promotion, {
    trainFile: a.trainFile,
    from: a.from,
    to: a.to,
    promotesFrom: (env) => from.get(env),
  });
  for (const id of Object.keys(a.scenarios)) {
    if (!steps.some((s) => s.id === id)) {
      throw new InputError(
        `--scenario ${id}=...: this train has no step ${id} (its steps: ${
          steps.map((s) => s.id).join(", ")
        }; legs: ${legNames(promotion).join(", ")})`,
      );
    }
  }
  if (steps.some((s) => s.kind === "build") && a.options.some((o) => o.startsWith("digests="))) {
    throw new InputError(
      "--option digests is what the train's build hands on: drop it, or start the train after " +
        "the build (--from <leg>) to deploy digests built elsewhere",
    );
  }
  const gated = (s: TrainStep) => s.kind === "deploy" && from.get(s.environment) !== undefined;
  const ready = await checkSteps(a, steps, { io, gated });
  io.stdout(
    `promote ${a.version}: ${steps.length} steps checked (${steps.map((s) => s.id).join(" → ")})${
      a.sandbox ? `, on the sandbox` : ""
    }\n`,
  );
  const startedAt = new Date(realClock.now()).toISOString();
  let built: unknown;
  const refused = new Map<number, string>();
  /** A step after the build deploys (and tests) what it built: its digests. */
  const pin = (step: TrainStep, i: number) => {
    if (built === undefined || step.kind === "build") return;
    try {
      ready[i] = pinnedTo(ready[i]!, built, a.version);
    } catch (err) {
      if (!(err instanceof RangeError) && !(err instanceof SyntaxError)) throw err;
      refused.set(i, err.message);
    }
  };
  const outcome = await runTrain(steps, async (step, i) => {
    const error = refused.get(i);
    if (error !== undefined) {
      io.stderr(`error: ${error}\n`);
      return { exitCode: EXIT.input, error, command: ready[i]!.args };
    }
    const run = await runStep(ready[i]!, io);
    if (step.kind === "build" && run.exitCode === EXIT.ok) built = run.record;
    return run;
  }, {
    now: () => realClock.now(),
    onEnd: (result) => {
      if (result.step.kind === "build" && built !== undefined) io.stdout(`${PINNED_NOTE}\n`);
    },
    onStart: (step, i) => {
      pin(step, i);
      io.stdout(
        `\n== step ${i + 1}/${steps.length}: ${step.id}: ${step.title} ==\n` +
          `deno task ${ready[i]!.args.join(" ")}\n`,
      );
    },
  });
  io.stdout(`\n${summary(a.version, outcome).join("\n")}\n`);
  if (a.out !== undefined) {
    await Deno.writeTextFile(
      a.out,
      JSON.stringify(
        {
          version: a.version,
          train: a.trainFile,
          sandbox: a.sandbox,
          status: outcome.status,
          exitCode: outcome.exitCode,
          startedAt,
          finishedAt: new Date(realClock.now()).toISOString(),
          ...(outcome.stoppedAt ? { stoppedAt: outcome.stoppedAt.step.id } : {}),
          steps: outcome.steps.map(({ step, ...r }) => ({
            id: step.id,
            kind: step.kind,
            environment: step.environment,
            ...r,
          })),
        },
        null,
        2,
      ) + "\n",
    );
    io.stdout(`summary: ${a.out}\n`);
  }
  const last = outcome.stoppedAt ?? outcome.steps.at(-1);
  if (last?.report) io.stdout(`report: ${last.report}\n`);
  return outcome.exitCode;
}

/**
 * The `promote` command.
 *
 * @example
 * ```ts
 * import { PROMOTE_COMMAND } from "./promote.ts";
 * console.assert(PROMOTE_COMMAND.name === "promote" && PROMOTE_COMMAND.stopsOnSignal === true);
 * ```
 */
export const PROMOTE_COMMAND: Command = {
  name: "promote",
  summary: "a version through development, staging and production, each step gated",
  usage: PROMOTE_USAGE,
  stopsOnSignal: true,
  run: promote,
};
