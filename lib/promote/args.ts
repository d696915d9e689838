/**
 * The arguments of a train (`deno task promote <version> ...`), and the command line each of
 * its steps runs with: the train's flags handed on where they belong (production's approval
 * flags to the step that asks for approval, `--reset` to the first step only, a scenario to
 * the step it names). Parsing changes nothing; every mistake is an `InputError` (exit 2).
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { InputError } from "../runner/errors.ts";
import { versionArgument } from "../runner/version.ts";
import type { TrainStep } from "./steps.ts";

const FLAGS = {
  sandbox: { type: "boolean" },
  from: { type: "string" },
  to: { type: "string" },
  train: { type: "string" },
  confirm: { type: "string" },
  plan: { type: "string" },
  approvals: { type: "string" },
  "approval-timeout": { type: "string" },
  scenario: { type: "string", multiple: true },
  "sandbox-dir": { type: "string" },
  "runs-dir": { type: "string" },
  "environments-dir": { type: "string" },
  reset: { type: "boolean" },
  "signing-key": { type: "string" },
  option: { type: "string", multiple: true },
  "build-option": { type: "string", multiple: true },
  "skip-type-check": { type: "boolean" },
  concurrency: { type: "string" },
  clock: { type: "string" },
  "time-scale": { type: "string" },
  out: { type: "string" },
} as const;

/** The flags handed to every step as given (each checked by the step's own parser). */
const PASSED_ON = [
  "sandbox-dir",
  "runs-dir",
  "environments-dir",
  "signing-key",
  "concurrency",
  "clock",
  "time-scale",
] as const;

/** The flags only a step that asks for approval takes (production's deploy). */
const APPROVAL_FLAGS = ["confirm", "plan", "approvals", "approval-timeout"] as const;

/**
 * A train's checked arguments.
 *
 * @example
 * ```ts
 * import { promoteArguments } from "./args.ts";
 * const a = promoteArguments(["v1.2.4", "--sandbox"], { trainFile: "train.ts" });
 * console.assert(a.version === "v1.2.4" && a.sandbox);
 * ```
 */
export interface PromoteArguments {
  /** The version, as given (`v1.2.4`). */
  readonly version: string;
  /** The train file (`--train`, or the default given to {@linkcode promoteArguments}). */
  readonly trainFile: string;
  /** `--sandbox`: every step on the sandbox. */
  readonly sandbox: boolean;
  /** `--from`: the first leg. */
  readonly from: string | undefined;
  /** `--to`: the last leg. */
  readonly to: string | undefined;
  /** `--scenario <step>=<name>`: a fault for one step's sandbox, by step id. */
  readonly scenarios: Readonly<Record<string, string>>;
  /** `--scenario <name>` (no step): a fault for every step's sandbox. */
  readonly scenarioForAll: string | undefined;
  /** `--reset`: the first step discards the sandbox's saved state. */
  readonly reset: boolean;
  /** `--skip-type-check`: the pipelines are not type-checked first. */
  readonly skipTypeCheck: boolean;
  /** `--option key=value`, as given (every deploy, tests and gate step gets them all). */
  readonly options: readonly string[];
  /** `--build-option key=value`, as given (the build step's options, and only its). */
  readonly buildOptions: readonly string[];
  /** `--out <file>`: where the train's summary (JSON) goes. */
  readonly out: string | undefined;
  /** `--environments-dir`, as given (also handed on to every step). */
  readonly environmentsDir: string | undefined;
  /** The flags every step gets, as given (`["--runs-dir", "x", ...]`). */
  readonly passedOn: readonly string[];
  /** The approval flags, as given, for the step that asks for approval. */
  readonly approvalFlags: readonly string[];
}

function fail(message: string): never {
  throw new InputError(message);
}

/**
 * Parses and checks a train's arguments (the values of the flags handed on to the steps are
 * checked by the steps' own parser, before any step runs).
 *
 * @param args The arguments after `promote`.
 * @param o The default train file, and the usage a mistake ends with.
 * @returns The arguments.
 * @throws {InputError} For an unknown or repeated flag, no version or a bad one, an extra
 *   argument, a scenario named twice for a step, `--scenario`/`--reset` without `--sandbox`,
 *   an `--out` whose folder does not exist.
 *
 * @example
 * ```ts
 * import { promoteArguments } from "./args.ts";
 * import assert from "node:assert/strict";
 * const a = promoteArguments(
 *   ["v1.2.4", "--sandbox", "--scenario", "staging=crashloop", "--confirm", "GO"],
 *   { trainFile: "train.ts" },
 * );
 * assert.deepEqual(a.scenarios, { staging: "crashloop" });
 * assert.deepEqual(a.approvalFlags, ["--confirm", "GO"]);
 * assert.throws(() => promoteArguments([], { trainFile: "train.ts" }), /needs a version/);
 * ```
 */
export function promoteArguments(
  args: readonly string[],
  o: { readonly trainFile: string; readonly usage?: string },
): PromoteArguments {
  const usage = o.usage ? `\n${o.usage}` : "";
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: FLAGS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    fail(`${(err as Error).message.split(". ")[0]}${usage}`);
  }
  const counts = new Map<string, number>();
  for (const t of parsed.tokens) {
    if (t.kind === "option") counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  }
  for (const [name, n] of counts) {
    if (n > 1 && !["option", "build-option", "scenario"].includes(name)) {
      fail(`--${name} is given ${n} times`);
    }
  }
  const [version, ...extra] = parsed.positionals;
  if (version === undefined) fail(`deno task promote needs a version (e.g. v1.2.4)${usage}`);
  if (extra.length > 0) {
    fail(`unexpected argument "${extra[0]!.slice(0, 40)}": promote takes one version${usage}`);
  }
  versionArgument(version);
  const v = parsed.values;
  const sandbox = v.sandbox === true;
  const scenarios: Record<string, string> = {};
  let scenarioForAll: string | undefined;
  for (const given of v.scenario ?? []) {
    if (!sandbox) fail("--scenario needs --sandbox: it is a fault in the sandbox cluster");
    const m = /^([a-z0-9][a-z0-9:-]*)=(.+)$/.exec(given);
    if (!m) {
      if (scenarioForAll !== undefined) fail(`--scenario without a step is given twice`);
      scenarioForAll = given;
      continue;
    }
    const [, step, name] = m as unknown as [string, string, string];
    if (step in scenarios) fail(`--scenario ${step}=... is given twice`);
    scenarios[step] = name;
  }
  if (v.reset && !sandbox) fail("--reset needs --sandbox: it discards the sandbox's saved state");
  const out = v.out;
  if (out !== undefined) {
    if (out.trim() === "") fail(`--out takes a file, got ""`);
    let dir: Deno.FileInfo | undefined;
    try {
      dir = Deno.statSync(dirname(out));
    } catch { /* below */ }
    if (!dir?.isDirectory) fail(`--out ${out}: its folder ${dirname(out)} does not exist`);
  }
  const flagsOf = (names: readonly string[]) =>
    names.flatMap((name) => {
      const value = (v as Record<string, unknown>)[name];
      return typeof value === "string" ? [`--${name}`, value] : [];
    });
  return {
    version,
    trainFile: v.train ?? o.trainFile,
    sandbox,
    from: v.from,
    to: v.to,
    scenarios,
    scenarioForAll,
    reset: v.reset === true,
    skipTypeCheck: v["skip-type-check"] === true,
    options: v.option ?? [],
    buildOptions: v["build-option"] ?? [],
    out,
    environmentsDir: v["environments-dir"],
    passedOn: flagsOf(PASSED_ON),
    approvalFlags: flagsOf(APPROVAL_FLAGS),
  };
}

/** What a step's command line depends on besides the step and the train's arguments. */
export interface StepArgumentsOptions {
  /** It is the train's first step (it gets `--reset`). */
  readonly first: boolean;
  /** It asks for approval (it gets `--confirm`, `--plan`, `--approvals`, `--approval-timeout`). */
  readonly approves: boolean;
  /**
   * Its environment gates its deploys on another's records, in the sandbox: it gets
   * `--option rehearse-staging=no`, so the rehearsal reads that environment as the train left
   * it instead of deploying the version there first.
   */
  readonly gated: boolean;
  /** The pipelines were type-checked before the train started (`--skip-type-check`). */
  readonly typeChecked: boolean;
}

/**
 * The pipeline command a step runs: `deploy <env> <version> --pipeline <file>` for a deploy,
 * `run <file> <env> <version> --option suite=<suite>` for tests and gates, `run <file> <env>
 * <version>` for the build; then the train's flags that belong to it (`--option`s to every
 * step but the build, which gets the `--build-option`s instead).
 *
 * @param step The step.
 * @param a The train's arguments.
 * @param o Whether it is first, asks for approval, is gated, and was type-checked.
 * @returns The command and its arguments (`["deploy", "staging", "v1.2.4", ...]`).
 *
 * @example
 * ```ts
 * import { promoteArguments, stepArguments } from "./args.ts";
 * import assert from "node:assert/strict";
 * const a = promoteArguments(["v1.2.4", "--sandbox", "--scenario", "smoke-tests=tests-fail"], {
 *   trainFile: "train.ts",
 * });
 * const step = { id: "smoke-tests", kind: "tests" as const, environment: "dev", pipeline: "train.ts", suite: "smoke", title: "" };
 * const args = stepArguments(step, a, { first: false, approves: false, gated: false, typeChecked: true });
 * assert.deepEqual(args.slice(0, 6), ["run", "train.ts", "dev", "v1.2.4", "--option", "suite=smoke"]);
 * assert.ok(args.includes("tests-fail") && args.includes("--skip-type-check"));
 * ```
 */
export function stepArguments(
  step: TrainStep,
  a: PromoteArguments,
  o: StepArgumentsOptions,
): string[] {
  const head = step.kind === "deploy"
    ? ["deploy", step.environment, a.version, "--pipeline", step.pipeline]
    : ["run", step.pipeline, step.environment, a.version];
  const suite = step.suite !== undefined ? ["--option", `suite=${step.suite}`] : [];
  const scenario = a.scenarios[step.id] ?? a.scenarioForAll;
  return [
    ...head,
    ...suite,
    ...(step.kind === "build" ? a.buildOptions : a.options).flatMap((o) => ["--option", o]),
    ...(o.gated && a.sandbox ? ["--option", "rehearse-staging=no"] : []),
    ...(a.sandbox ? ["--sandbox"] : []),
    ...a.passedOn,
    ...(scenario !== undefined ? ["--scenario", scenario] : []),
    ...(a.reset && o.first ? ["--reset"] : []),
    ...(o.approves ? a.approvalFlags : []),
    ...(o.typeChecked ? ["--skip-type-check"] : []),
  ];
}
