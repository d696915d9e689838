/**
 * The arguments of `deploy`, `run`, `rollback` and `plan`, parsed and checked — every flag's
 * value, the version, the folders — before anything happens: a mistake is an
 * {@linkcode InputError} (exit 2) with nothing started and nothing written.
 * @module
 */
import { accessSync, constants } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../dsl/duration.ts";
import { InputError, versionArgument } from "../runner/mod.ts";
import { environmentNameProblem, shortInput } from "../config/mod.ts";
import { checkScenario, SCENARIOS } from "../sandbox/mod.ts";
import { splitScenario } from "../companions/mod.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import { flagMistake, MAX_DECISION_TIMEOUT_MS, MAX_TIME_SCALE, PIPELINE_USAGE } from "./usage.ts";

/** The usage of each pipeline command (`--help` prints it; a mistake ends with it). */
export { PIPELINE_USAGE } from "./usage.ts";

const COMMON = {
  option: { type: "string", multiple: true },
  "environments-dir": { type: "string" },
  "skip-type-check": { type: "boolean" },
} as const;

const RUN = {
  ...COMMON,
  sandbox: { type: "boolean" },
  "dry-run": { type: "boolean" },
  confirm: { type: "string" },
  scenario: { type: "string" },
  "runs-dir": { type: "string" },
  concurrency: { type: "string" },
  json: { type: "boolean" },
  prometheus: { type: "string" },
  "sandbox-dir": { type: "string" },
  "time-scale": { type: "string" },
  clock: { type: "string" },
  seed: { type: "string" },
  "decision-timeout": { type: "string" },
  reset: { type: "boolean" },
  "signing-key": { type: "string" },
} as const;

/** The flags each command takes (anything else is refused with the usage). */
const FLAGS: Record<
  PipelineCommand,
  Record<string, { type: "string" | "boolean"; multiple?: true }>
> = {
  deploy: {
    ...RUN,
    pipeline: { type: "string" },
    plan: { type: "string" },
    approvals: { type: "string" },
    "approval-timeout": { type: "string" },
  },
  run: RUN,
  rollback: { ...RUN, run: { type: "string" } },
  plan: {
    ...COMMON,
    pipeline: { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
  },
} as const;

/**
 * A command that runs a pipeline (or plans one).
 *
 * @example
 * ```ts
 * import type { PipelineCommand } from "./run_args.ts";
 * const command: PipelineCommand = "deploy";
 * console.assert(command === "deploy");
 * ```
 */
export type PipelineCommand = "deploy" | "run" | "rollback" | "plan";

/**
 * The checked arguments of a pipeline command.
 *
 * @example
 * ```ts
 * import { type RunArguments, runArguments } from "./run_args.ts";
 * const a: RunArguments = runArguments("run", ["pipelines/deploy.ts", "staging", "v1.2.4"]);
 * console.assert(a.environment === "staging" && a.version === "v1.2.4");
 * ```
 */
export interface RunArguments {
  /** The pipeline file (`run`'s first argument, `--pipeline`, or the command's own). */
  readonly pipelineFile: string;
  /** The environment's name. */
  readonly environment: string;
  /** The version argument, checked (`versionArgument`), as given. */
  readonly version: string | undefined;
  /** `--option key=value`, each key once. */
  readonly options: Readonly<Record<string, string>>;
  /** `--environments-dir`: an existing folder. */
  readonly environmentsDir: string | undefined;
  /** `--skip-type-check`. */
  readonly skipTypeCheck: boolean;
  /** `--sandbox`. */
  readonly sandbox: boolean;
  /** `--dry-run`. */
  readonly dryRun: boolean;
  /** `--confirm <phrase>` (not empty). */
  readonly confirm: string | undefined;
  /** `--scenario`: a known one (needs `--sandbox`). */
  readonly scenario: string | undefined;
  /** `--runs-dir`: a folder (or one that can be made), never a file. */
  readonly runsDir: string | undefined;
  /** `--concurrency`: 1 to 256 (default 4). */
  readonly concurrency: number;
  /** `--json`. */
  readonly json: boolean;
  /** `--prometheus`: an http(s) URL. */
  readonly prometheus: string | undefined;
  /** `--sandbox-dir` (default {@linkcode SANDBOX_DIR}), never a file. */
  readonly sandboxDir: string;
  /** `--time-scale`: 1 to 100000 (needs `--sandbox`; a real clock scaled that many times). */
  readonly timeScale: number | undefined;
  /**
   * The sandbox's clock as asked: `virtual` (time jumps to the next due timer whenever all
   * work is waiting), or `real` (wall time, scaled by `--time-scale`, default 60; implied by
   * `--time-scale` or `--prometheus`). `undefined` when not said: a sandbox started for the run
   * is virtual, a running one (`deno task sandbox`) keeps its own clock; and always without
   * `--sandbox` (a real cluster runs on real time).
   */
  readonly clock: "virtual" | "real" | undefined;
  /** `--seed`: what the sandbox's simulated traffic is drawn from (needs `--sandbox`). */
  readonly seed: string | undefined;
  /** `--decision-timeout` in ms: more than 0, at most 7 days. */
  readonly decisionTimeoutMs: number | undefined;
  /** `--reset`: discard the sandbox's saved state (needs `--sandbox`, not with `--dry-run`). */
  readonly reset: boolean;
  /**
   * `--signing-key <file>`: the Ed25519 private key (PKCS#8 PEM) the run is signed with,
   * instead of the environment file's `deployment.audit.signing_key` (an existing file).
   */
  readonly signingKey: string | undefined;
  /** `plan --format` (default `text`). */
  readonly format: "text" | "json" | "mermaid";
  /** `plan --out <file>`: where the plan document goes. */
  readonly out: string | undefined;
  /** `deploy --plan <file>`: the approved plan to deploy (an existing file). */
  readonly planFile: string | undefined;
  /** `deploy --approvals cluster|github`: where a waiting run's approvals arrive. */
  readonly approvalsChannel: "cluster" | "github" | undefined;
  /** `deploy --approval-timeout` in ms: more than 0, at most 7 days. */
  readonly approvalTimeoutMs: number | undefined;
}

function fail(message: string): never {
  throw new InputError(message);
}

/** A folder the run will create or write in: nothing on its way may be a file. */
function writableDirectory(flag: string, path: string): void {
  if (path.trim() === "") fail(`${flag} takes a folder, got ""`);
  let at = resolve(path);
  for (;;) {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(at);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
        fail(`${flag} ${path}: cannot use ${at}: ${(err as Error).message}`);
      }
    }
    if (info) {
      if (!info.isDirectory) {
        fail(
          at === resolve(path)
            ? `${flag} ${path} is a file, not a folder`
            : `${flag} ${path}: ${at} is a file, not a folder`,
        );
      }
      try {
        accessSync(at, constants.W_OK);
      } catch {
        fail(`${flag} ${path}: ${at} is not writable`);
      }
      return;
    }
    const parent = dirname(at);
    if (parent === at) return;
    at = parent;
  }
}

function existingDirectory(flag: string, path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    fail(`${flag} ${path}: no such folder`);
  }
  if (!info.isDirectory) fail(`${flag} ${path} is a file, not a folder`);
}

function existingFile(flag: string, path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    fail(`${flag} ${path}: no such file`);
  }
  if (!info.isFile) fail(`${flag} ${path} is not a file`);
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${flag} takes a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function timeScale(text: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_TIME_SCALE)) {
    fail(`--time-scale takes a number from 1 to ${MAX_TIME_SCALE}, got "${text}"`);
  }
  return n;
}

/** `--clock`, checked against the flags that need a clock following wall time. */
function clockKind(
  text: string | undefined,
  scale: string | undefined,
  prometheus: string | undefined,
): "virtual" | "real" | undefined {
  if (text !== undefined && text !== "virtual" && text !== "real") {
    fail(`--clock takes virtual or real, got "${text}"`);
  }
  if (text === "virtual" && scale !== undefined) {
    fail(
      "--time-scale N means a real clock scaled N times: not with --clock virtual " +
        "(drop one of them)",
    );
  }
  if (text === "virtual" && prometheus !== undefined) {
    fail(
      "--prometheus needs --clock real: Prometheus scrapes on wall time and cannot follow a " +
        "virtual clock's jumps (drop --clock virtual, or --prometheus)",
    );
  }
  return text ?? (scale !== undefined || prometheus !== undefined ? "real" : undefined);
}

function decisionTimeout(text: string, flag = "--decision-timeout"): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    fail(`${flag} takes a duration such as 10m or 90s, got "${text}"`);
  }
  if (!(ms > 0) || ms > MAX_DECISION_TIMEOUT_MS) {
    fail(`${flag} takes a duration from 1ms to 7 days, got "${text}"`);
  }
  return ms;
}

/** `--plan`, `--approvals`, `--approval-timeout` of deploy, and `plan --out`. */
function approvalArguments(str: (name: string) => string | undefined) {
  const planFile = str("plan");
  if (planFile !== undefined) {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(planFile);
    } catch { /* below */ }
    if (!info?.isFile) {
      fail(
        `--plan ${planFile}: no such file (make it with deno task plan <environment> ` +
          `<version> --out ${planFile})`,
      );
    }
  }
  const given = str("approvals");
  if (given !== undefined && given !== "cluster" && given !== "github") {
    fail(`--approvals takes cluster or github, got "${given}"`);
  }
  const channel: "cluster" | "github" | undefined = given;
  if (channel !== undefined && planFile !== undefined) {
    fail(
      "--approvals is where a waiting run's approvals arrive: not with --plan, whose " +
        "approvals are beside the plan (drop one)",
    );
  }
  const timeout = str("approval-timeout");
  const out = str("out");
  if (out !== undefined && out.trim() === "") fail(`--out takes a file, got ""`);
  return {
    out,
    planFile,
    approvalsChannel: channel,
    approvalTimeoutMs: timeout === undefined
      ? undefined
      : decisionTimeout(timeout, "--approval-timeout"),
  };
}

function keyValues(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) fail(`--option takes key=value, got "${item}"`);
    const key = item.slice(0, eq);
    if (key in out) fail(`--option ${key} is given twice`);
    out[key] = item.slice(eq + 1);
  }
  return out;
}

function httpUrl(flag: string, text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    fail(`${flag} takes an http(s) URL such as http://127.0.0.1:9090, got "${text}"`);
  }
  return text;
}

type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Parses the flags: unknown ones and repeats (but `--option`) are refused. */
function parseFlags(
  command: PipelineCommand,
  args: string[],
): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: string }> = FLAGS[command];
  // `--time-scale -1`: a negative number is the flag's value (checked below), not a flag.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!, next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    if (options[name]?.type === "string" && next !== undefined && /^-[0-9.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joined,
      options: FLAGS[command],
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    fail(flagMistake(command, err as Error, args, Object.keys(options)));
  }
  const seen = new Map<string, number>();
  for (const t of parsed.tokens) {
    if (t.kind === "option") seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  }
  for (const [name, n] of seen) {
    if (n > 1 && name !== "option") fail(`--${name} is given ${n} times`);
  }
  return { values: parsed.values as FlagValues, positionals: [...parsed.positionals] };
}

/** The pipeline file, the environment and the version, from the positional arguments. */
function positionalArguments(
  command: PipelineCommand,
  positionals: string[],
  pipelineFlag: string | undefined,
): { pipelineFile: string; environment: string; version: string | undefined } {
  const rest = [...positionals];
  const usage = PIPELINE_USAGE[command];
  const pipelineFile = command === "run"
    ? rest.shift() ?? fail(`deno task run needs a pipeline file and an environment\n${usage}`)
    : command === "rollback"
    ? "pipelines/rollback.ts"
    : pipelineFlag ?? "pipelines/deploy.ts";
  const [environment, version, ...extra] = rest;
  if (environment === undefined) {
    fail(`deno task ${command} needs an environment (e.g. staging)\n${usage}`);
  }
  const takes = /^usage: deno task \S+ (.*?) \[flags\]/.exec(usage)?.[1] ?? "";
  const [unexpected] = command === "rollback" ? [] : extra;
  if (unexpected !== undefined) {
    fail(
      `unexpected argument ${
        shortInput(unexpected)
      }: deno task ${command} takes ${takes}\n${usage}`,
    );
  }
  const invalid = environmentNameProblem(environment);
  if (invalid !== undefined) fail(invalid);
  if (command === "rollback" && version !== undefined) {
    fail(
      `rollback takes no version (got "${version}"): it returns to what was live before\n${
        PIPELINE_USAGE[command]
      }`,
    );
  }
  if (version !== undefined) versionArgument(version);
  return { pipelineFile, environment, version };
}

/**
 * Parses and checks a pipeline command's arguments. Reads the file system (what the
 * folders are) but changes nothing.
 *
 * @param command `deploy`, `run`, `rollback` or `plan`.
 * @param args The arguments after the command.
 * @returns The checked arguments.
 * @throws {InputError} Naming the flag and what it takes, for an unknown or repeated flag,
 *   a bad value, a flag that needs `--sandbox`, a folder that is a file, or a bad version.
 *
 * @example
 * ```ts
 * import { runArguments } from "./run_args.ts";
 * import assert from "node:assert/strict";
 * const a = runArguments("deploy", ["staging", "v1.2.4", "--sandbox", "--concurrency", "8"]);
 * assert.equal(a.concurrency, 8);
 * assert.throws(() => runArguments("deploy", ["staging", "v1.2.4", "--concurrency", "abc"]));
 * ```
 */
export function runArguments(command: PipelineCommand, args: string[]): RunArguments {
  // Deno gives bytes that are not UTF-8 as U+FFFD: such an argument names another file,
  // environment or version than the one typed.
  const garbled = args.find((a) => a.includes("\uFFFD"));
  if (garbled !== undefined) {
    fail(
      `the argument ${shortInput(garbled)} is not valid UTF-8 text (\uFFFD marks the bytes ` +
        "that are not): type it again in UTF-8",
    );
  }
  const { values: v, positionals } = parseFlags(command, args);
  const str = (name: string) => v[name] as string | undefined;
  const bool = (name: string) => v[name] === true;
  const { pipelineFile, environment, version } = positionalArguments(
    command,
    positionals,
    str("pipeline"),
  );
  const format = str("format") ?? "text";
  if (format !== "text" && format !== "json" && format !== "mermaid") {
    fail(`--format takes text, json or mermaid, got "${format}"`);
  }
  const sandbox = bool("sandbox");
  for (const flag of ["sandbox-dir", "scenario", "time-scale", "clock", "seed", "reset"]) {
    if (v[flag] !== undefined && !sandbox) {
      fail(`--${flag} needs --sandbox: it is about the sandbox cluster`);
    }
  }
  // The sandbox's own rule (so `none` means no scenario here as in `deno task sandbox`).
  // The companions' faults (unsigned-image, redis-wrong-password) are theirs, not the cluster's.
  const split = splitScenario(str("scenario"));
  const companionFaults = [
    ...(split.unsigned.length ? [`unsigned-image/${split.unsigned.join("+")}`] : []),
    ...(split.wrongRedisPassword ? ["redis-wrong-password"] : []),
  ].map((f) => f.replace("/*", ""));
  let scenario: string | undefined;
  try {
    const own = checkScenario(split.sandbox);
    scenario = companionFaults.length ? [...(own ? [own] : []), ...companionFaults].join(",") : own;
  } catch (err) {
    const name = (split.sandbox ?? "").split(/[:@/,]/)[0]?.trim() ?? "";
    // An unknown name lists the known ones; a known name in a malformed form gets the
    // parser's own message (which part is wrong, the valid forms).
    fail(
      Object.hasOwn(SCENARIOS, name)
        ? `--scenario ${str("scenario")}: ${(err as Error).message}`
        : `Unknown scenario "${str("scenario")}" (known: ${Object.keys(SCENARIOS).join(", ")})`,
    );
  }
  if (bool("reset") && bool("dry-run")) {
    fail("--reset discards the sandbox's saved state: a --dry-run changes nothing, so not both");
  }
  const confirm = str("confirm");
  if (confirm !== undefined && confirm.trim() === "") fail(`--confirm takes the phrase, got ""`);
  const runsDir = str("runs-dir");
  if (runsDir !== undefined) writableDirectory("--runs-dir", runsDir);
  const sandboxDir = str("sandbox-dir") ?? SANDBOX_DIR;
  if (sandbox) writableDirectory("--sandbox-dir", sandboxDir);
  const environmentsDir = str("environments-dir");
  if (environmentsDir !== undefined) existingDirectory("--environments-dir", environmentsDir);
  const concurrency = str("concurrency");
  const scale = str("time-scale");
  const timeout = str("decision-timeout");
  const prometheus = str("prometheus");
  const seed = str("seed");
  if (seed !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(seed)) {
    fail(`--seed takes 1 to 64 letters, digits, ".", "_" or "-", got "${seed}"`);
  }

  const signingKey = str("signing-key");
  if (signingKey !== undefined) existingFile("--signing-key", signingKey);
  const run = str("run");
  if (run !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(run)) {
    fail(
      `--run takes a run id (letters, digits, ".", "_", "-"), got ${
        JSON.stringify(run.slice(0, 40))
      }`,
    );
  }
  return {
    pipelineFile,
    environment,
    version,
    // `rollback --run <id>`: the pipeline's `run` option.
    options: { ...keyValues(v.option as string[] | undefined), ...(run ? { run } : {}) },
    environmentsDir,
    skipTypeCheck: bool("skip-type-check"),
    sandbox,
    dryRun: bool("dry-run"),
    confirm,
    scenario,
    runsDir,
    concurrency: concurrency === undefined ? 4 : wholeNumber("--concurrency", concurrency, 1, 256),
    json: bool("json"),
    prometheus: prometheus === undefined ? undefined : httpUrl("--prometheus", prometheus),
    sandboxDir,
    timeScale: scale === undefined ? undefined : timeScale(scale),
    clock: sandbox ? clockKind(str("clock"), scale, prometheus) : undefined,
    seed,
    decisionTimeoutMs: timeout === undefined ? undefined : decisionTimeout(timeout),
    reset: bool("reset"),
    signingKey,
    format,
    ...approvalArguments(str),
  };
}
