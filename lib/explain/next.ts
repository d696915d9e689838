/**
 * The commands to run next, exact and copy-pasteable: built from the run's id, its
 * environment and version, and the command line it was started with (a sandbox run's
 * commands keep its `--sandbox`, `--sandbox-dir`, `--runs-dir`; `kubectl` gets the sandbox's
 * kubeconfig), for what its cause calls for — resume a run whose runner died, roll back one
 * whose rollback did not happen or failed, read a crash-looping pod's logs, look at the
 * migrations, see who holds the lock — and the commands the run's own messages name.
 * @module
 */
import type { Report } from "../report/types.ts";
import type { Cause, NextStep } from "./types.ts";

/** Where a run's commands point: its folders and target, from its command line. */
export interface CommandContext {
  /** The run's id. */
  readonly runId: string;
  /** The environment. */
  readonly environment: string;
  /** The version, when the run had one. */
  readonly version?: string | undefined;
  /** `--runs-dir <dir>` for commands that find the run (empty: the default folder). */
  readonly runsDirFlag: readonly string[];
  /** The command line the run was started with (after `deno task`), when the journal has it. */
  readonly invocation?: readonly string[] | undefined;
  /** A sandbox run (its report's target says so). */
  readonly sandbox: boolean;
  /** The sandbox's state folder (its `--sandbox-dir`, or the default). */
  readonly sandboxDir: string;
  /** The target's namespace. */
  readonly namespace?: string | undefined;
}

/**
 * Quotes an argument for a POSIX shell when it needs it.
 *
 * @param arg The argument.
 * @returns It as is, or single-quoted.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./next.ts";
 * console.assert(shellQuote("v1.2.0") === "v1.2.0");
 * console.assert(shellQuote("DEPLOY NOW") === "'DEPLOY NOW'");
 * ```
 */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function line(args: readonly string[]): string {
  return args.map(shellQuote).join(" ");
}

/** The flags of the run's command line that say where it went (not what it rehearsed). */
const TARGET_FLAGS = new Set([
  "--sandbox-dir",
  "--runs-dir",
  "--environments-dir",
  "--prometheus",
]);

/**
 * The flags of a run's command line that point a new command at the same place: `--sandbox`,
 * `--sandbox-dir`, `--runs-dir`, `--environments-dir`, `--prometheus` (not `--scenario`, the
 * confirmation phrase, or the rest).
 *
 * @param c Where the run went.
 * @param only The flags the new command takes (default: all of them).
 * @returns The flags, with their values.
 *
 * @example
 * ```ts
 * import { targetFlags } from "./next.ts";
 * import assert from "node:assert/strict";
 * const flags = targetFlags({
 *   runId: "r1", environment: "staging", runsDirFlag: [], sandbox: true, sandboxDir: "sb",
 *   invocation: ["deploy", "staging", "v1", "--sandbox", "--sandbox-dir", "sb", "--scenario", "slow"],
 * });
 * assert.deepEqual(flags, ["--sandbox", "--sandbox-dir", "sb"]);
 * ```
 */
export function targetFlags(c: CommandContext, only?: readonly string[]): string[] {
  const keep = (flag: string) => !only || only.includes(flag);
  const out: string[] = [];
  const args = c.invocation ?? [];
  let sandbox = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (flag === "--sandbox") sandbox = true;
    else if (TARGET_FLAGS.has(flag)) {
      const value = inline ?? args[++i];
      if (value !== undefined && keep(flag)) out.push(flag, value);
    }
  }
  if ((sandbox || c.sandbox) && keep("--sandbox")) out.unshift("--sandbox");
  return out;
}

/** `kubectl`, with the sandbox's kubeconfig for a sandbox run. */
function kubectl(c: CommandContext, ...args: string[]): string {
  return line([
    "kubectl",
    ...(c.sandbox ? ["--kubeconfig", `${c.sandboxDir}/kubeconfig`] : []),
    ...args,
  ]);
}

/** The commands a message names (`... see kubectl logs -n ns job/x; ...`), placeholders left out. */
function namedCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(kubectl|deno task) ([^;()"—]+?)(?=[;()"—]|$| \(| —)/g)) {
    const command = `${m[1]} ${m[2]!.trim().replace(/[.,:]+$/, "")}`;
    if (!/[<>]/.test(command)) out.push(command);
  }
  return out;
}

/** A command a message names, pointed at the run's target (a sandbox run's flags added). */
function pointed(c: CommandContext, command: string): string {
  const parts = command.split(/\s+/);
  if (parts[0] === "kubectl") {
    return c.sandbox && !command.includes("--kubeconfig") ? kubectl(c, ...parts.slice(1)) : command;
  }
  const sub = parts[2];
  if (sub === "deploy" || sub === "rollback" || sub === "run") {
    const flags = targetFlags(c);
    const missing: string[] = [];
    for (let i = 0; i < flags.length; i++) {
      const flag = flags[i]!;
      const value = flag === "--sandbox" ? undefined : flags[++i];
      if (parts.includes(flag)) continue;
      missing.push(flag, ...(value === undefined ? [] : [value]));
    }
    return line([...parts, ...missing]);
  }
  return command;
}

/** The text of a cause its own commands may be named in. */
function causeText(cause: Cause): string {
  switch (cause.kind) {
    case "check":
      return `${cause.message}`;
    case "gate":
      return cause.reason;
    default:
      return cause.message;
  }
}

/**
 * The commands to run next for a run that did not succeed (none for one that did, but a
 * dry run's real deploy).
 *
 * @param report The run's report.
 * @param cause Its first cause.
 * @param c Where its commands point.
 * @returns The steps, most urgent first.
 *
 * @example
 * ```ts
 * import { nextSteps } from "./next.ts";
 * import assert from "node:assert/strict";
 * const steps = nextSteps(
 *   { status: "interrupted", rollback: { performed: false, stages: [], succeeded: null }, dryRun: false },
 *   { kind: "interrupted", died: true, message: "the runner died", running: ["deploy"], logTail: [] },
 *   { runId: "r1", environment: "staging", runsDirFlag: [], sandbox: false, sandboxDir: "sb" },
 * );
 * assert.deepEqual(steps.map((s) => s.command), [
 *   "deno task resume r1",
 *   "deno task rollback staging --run r1",
 * ]);
 * ```
 */
export function nextSteps(
  report: Pick<Report, "status" | "rollback" | "dryRun">,
  cause: Cause | undefined,
  c: CommandContext,
): NextStep[] {
  const steps: NextStep[] = [];
  const add = (command: string, why: string) => {
    if (!steps.some((s) => s.command === command)) steps.push({ command, why });
  };
  const rollback = () =>
    line(["deno", "task", "rollback", c.environment, "--run", c.runId, ...targetFlags(c)]);
  const render = line(["deno", "task", "report", "render", c.runId, "--html", ...c.runsDirFlag]);
  if (report.dryRun) {
    if (report.status === "succeeded" && c.version) {
      add(
        line(["deno", "task", "deploy", c.environment, c.version, ...targetFlags(c)]),
        "the real deploy (this dry run changed nothing)",
      );
    }
    return steps;
  }
  if (report.status === "succeeded" && !cause) return steps;
  const rollbackFailed = report.rollback.performed && report.rollback.succeeded === false;
  if (cause?.kind === "interrupted" && cause.died) {
    add(
      line(["deno", "task", "resume", c.runId, ...c.runsDirFlag]),
      "go on from where the runner died (finished stages are not run again)",
    );
    add(rollback(), "or give up on the run: put back what was live before it");
    return steps;
  }
  if (rollbackFailed) add(rollback(), "the rollback failed: run it again for this run");
  switch (cause?.kind) {
    case "pod": {
      // Kept for debugging (or never stopped): its pods still say why, to kubectl.
      const [ns, name] = cause.deployment?.split("/") ?? [c.namespace, undefined];
      const namespace = ns ?? c.namespace;
      if (cause.podsRunning && namespace && (cause.pod || name)) {
        const what = cause.pod ?? `deployment/${name}`;
        add(
          kubectl(c, "logs", what, "-n", namespace, "--previous"),
          "the crashed container's log (its pods were kept for debugging)",
        );
        add(
          cause.pod
            ? kubectl(c, "describe", "pod", cause.pod, "-n", namespace)
            : kubectl(c, "describe", "deployment", name!, "-n", namespace),
          "its state and Events",
        );
      }
      break;
    }
    case "migration":
      add(
        line([
          "deno",
          "task",
          "migrate",
          c.environment,
          "status",
          ...targetFlags(c, ["--sandbox", "--sandbox-dir", "--environments-dir"]),
        ]),
        "which migrations are applied; fix the failing one, then deploy again",
      );
      break;
    case "lock":
      if (cause.lease) {
        add(
          kubectl(c, "get", "lease", cause.lease.name, "-n", cause.lease.namespace, "-o", "yaml"),
          "who holds the lock now",
        );
      }
      if (!report.rollback.performed) add(rollback(), "put back what was live before the run");
      break;
    case "interrupted":
      if (!report.rollback.performed) add(rollback(), "put back what was live before the run");
      if (c.version) {
        add(
          line(["deno", "task", "deploy", c.environment, c.version, ...targetFlags(c)]),
          "deploy it again when ready",
        );
      }
      break;
    default:
      break;
  }
  if (cause) {
    for (const command of namedCommands(causeText(cause))) {
      add(pointed(c, command), "named by the failure");
    }
  }
  add(render, "the whole run in a browser: timeline, every gate's samples, checks, rollback");
  return steps;
}
