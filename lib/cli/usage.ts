/**
 * The usage of the pipeline commands (`deploy`, `run`, `rollback`, `plan`): what `--help`
 * prints, and what a mistake in their arguments ends with.
 * @module
 */
import { ENVIRONMENTS_DIR, shortInput } from "../config/mod.ts";
import { suggest } from "../config/_locate.ts";
import { RUNS_DIR, SANDBOX_DIR } from "../product/mod.ts";
import { SCENARIOS } from "../sandbox/mod.ts";
import type { PipelineCommand } from "./run_args.ts";

/**
 * The largest `--time-scale`.
 *
 * @example
 * ```ts
 * import { MAX_TIME_SCALE } from "./usage.ts";
 * console.assert(MAX_TIME_SCALE === 100_000);
 * ```
 */
export const MAX_TIME_SCALE = 100_000;
/**
 * The longest `--decision-timeout`: 7 days.
 *
 * @example
 * ```ts
 * import { MAX_DECISION_TIMEOUT_MS } from "./usage.ts";
 * console.assert(MAX_DECISION_TIMEOUT_MS === 604_800_000);
 * ```
 */
export const MAX_DECISION_TIMEOUT_MS = 7 * 24 * 3_600_000;

const APPROVAL_FLAGS = `
  --plan <file>             deploy only this approved plan (deno task plan ... --out <file>;
                            deno task approve <file> --key <key>): any drift, too few valid
                            approvals, or one by the deployer exits 2 with nothing changed
  --approvals cluster|github  without --plan: where a waiting run's approvals arrive
  --approval-timeout <d>    how long a run waits for approvals (default 24h, at most 7d)`;
const PLAN_OUT = `
  --out <file>              write the plan document (canonical JSON with its digest) for
                            approvers to sign (deno task approve <file> --key <key>)`;

const RUN_FLAGS = `
  --sandbox                 use the running sandbox (deno task sandbox), or start one for the run
  --scenario <name>         with --sandbox, a fault to rehearse: ${
  Object.keys(SCENARIOS).join(", ")
}
                            (deno task sandbox --list-scenarios says what each does)
  --clock virtual|real      with --sandbox: virtual (default) jumps to the next due timer
                            whenever all work waits; real follows wall time, scaled
  --time-scale <n>          with --sandbox: a real clock, n sandbox seconds per real second,
                            1 to ${MAX_TIME_SCALE} (default 60 with --clock real)
  --seed <s>                with --sandbox: what the simulated traffic is drawn from
                            (default: from the environment and version; printed at start)
  --sandbox-dir <dir>       with --sandbox: its state folder (default ${SANDBOX_DIR})
  --reset                   with --sandbox: discard the sandbox's saved state (not with --dry-run)
  --dry-run                 change nothing: say what would be done
  --confirm <phrase>        an approval's phrase, when no one is at a terminal to type it
  --prometheus <url>        measure gates with this Prometheus
  --decision-timeout <d>    how long a stage paused on a gate breach waits for
                            deno task decide before aborting (default 30m, at most 7d)
  --concurrency <n>         stages at once, 1 to 256 (default 4)
  --runs-dir <dir>          where run folders go (default ${RUNS_DIR})
  --json                    one JSON object a line instead of text
  --option key=value        a pipeline option (repeatable)
  --environments-dir <dir>  the environment files (default ${ENVIRONMENTS_DIR})
  --skip-type-check         do not type-check the pipeline first (it must still load)
  --signing-key <file>      the Ed25519 key (PKCS#8 PEM) the run is signed with (default:
                            deployment.audit.signing_key; a sandbox run: the sandbox's own)
Environment: PIPELINE_LOAD_TIMEOUT=<d>  how long the pipeline module may take to load and
                            build its stages (default 30s, at most 1h)`;

/**
 * The usage of each pipeline command (`--help` prints it; a mistake ends with it).
 *
 * @example
 * ```ts
 * import { PIPELINE_USAGE } from "./usage.ts";
 * console.assert(PIPELINE_USAGE.deploy.startsWith("usage: deno task deploy"));
 * console.assert(PIPELINE_USAGE.deploy.includes("--decision-timeout"));
 * console.assert(PIPELINE_USAGE.deploy.includes("--plan <file>"));
 * ```
 */
export const PIPELINE_USAGE: Readonly<Record<PipelineCommand, string>> = {
  deploy: `usage: deno task deploy <environment> <version> [flags]

Runs pipelines/deploy.ts (or --pipeline <file>) for the version in the environment: on its
cluster, or with --sandbox in the sandbox. Every argument is checked before anything happens:
a bad one exits 2 with nothing changed.${APPROVAL_FLAGS}
  --pipeline <file>         the pipeline (default pipelines/deploy.ts)${RUN_FLAGS}`,
  run: `usage: deno task run <pipeline.ts> <environment> [<version>] [flags]

Runs any pipeline file; the flags are deploy's.${RUN_FLAGS}`,
  rollback: `usage: deno task rollback <environment> [flags]

Runs pipelines/rollback.ts: puts traffic back on the version the deployment record in the
cluster says was live before the last run, and refuses, changing nothing, when the record is
missing or contradicts the cluster. A dead runner's lock is taken over with
--option takeover=<run-id>. The flags are deploy's, and:
  --run <run-id>            roll back that run (refused, nothing changed, when the record's
                            last run is another)${RUN_FLAGS}`,
  plan: `usage: deno task plan <environment> <version> [flags]

Prints the pipeline's graph by levels, each stage's permissions, checks, gates and approvals.
  --pipeline <file>         the pipeline (default pipelines/deploy.ts)
  --format text|json|mermaid  (default text)
  --option key=value        a pipeline option (repeatable)
  --environments-dir <dir>  the environment files (default ${ENVIRONMENTS_DIR})
  --skip-type-check         do not type-check the pipeline first (it must still load)${PLAN_OUT}
Environment: PIPELINE_LOAD_TIMEOUT=<d>  how long the pipeline module may take to load and
                            build its stages (default 30s, at most 1h)`,
};

/** The value a flag's usage line shows (`--concurrency <n>`: `<n>`), or `<value>`. */
function placeholder(usage: string, flag: string): string {
  const m = new RegExp(`${flag} (<[^>]+>|[a-z]+(?:\\|[a-z]+)+)`).exec(usage);
  return m?.[1] ?? "<value>";
}

/**
 * What a mistake in a pipeline command's flags says, from the error the flag parser
 * (`node:util` `parseArgs`) threw: an unknown flag with the one probably meant, a flag without
 * its value with what it takes, a value given to a switch; then the command's usage.
 *
 * @param command The command.
 * @param error What `parseArgs` threw.
 * @param args The command's arguments (for the value given to a switch).
 * @param flags The names of the command's flags (without `--`).
 * @returns The message.
 *
 * @example
 * ```ts
 * import { flagMistake } from "./usage.ts";
 * import assert from "node:assert/strict";
 * const error = Object.assign(new TypeError("Unknown option '--dry_run'. To specify ..."), {
 *   code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
 * });
 * const message = flagMistake("deploy", error, ["--dry_run"], ["dry-run", "sandbox"]);
 * assert.match(message, /^Unknown option '--dry_run' \(did you mean --dry-run\?\)/);
 * ```
 */
export function flagMistake(
  command: PipelineCommand,
  error: Error & { code?: string },
  args: readonly string[],
  flags: readonly string[],
): string {
  const usage = PIPELINE_USAGE[command];
  const said = (text: string) => `${text}\n${usage}`;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const name = /^Unknown option '([^]*?)'\. /.exec(error.message)?.[1] ?? "";
    const bare = name.replace(/^--?/, "");
    const guess = bare.length <= 64 ? suggest(bare, flags) : undefined;
    const shown = shortInput(name, { quote: false }).replace(/^([^]*?)(…|$)/, "'$1$2'");
    return said(
      `Unknown option ${shown}${guess === undefined ? "" : ` (did you mean --${guess}?)`}: ` +
        `not a flag of deno task ${command} (its flags are below)`,
    );
  }
  const missing = /^Option '(--[a-z-]+) <value>' argument missing/.exec(error.message);
  if (missing) {
    const flag = missing[1]!;
    return said(`${flag} takes a value (${flag} ${placeholder(usage, flag)}), got none`);
  }
  const valued = /^Option '(--[a-z-]+)' does not take an argument/.exec(error.message);
  if (valued) {
    const flag = valued[1]!;
    const given = args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1) ?? "";
    return said(`${flag} takes no value (got ${shortInput(given)}): write just ${flag}`);
  }
  return said(error.message);
}
