/**
 * `deno task release <major|minor|patch> [--pre <id>] [--dry-run] [--no-github]
 * [--repository <owner/name>] [--remote <name>] [--branch <name>] [--cwd <dir>]`
 *
 * Exit codes: 0 released (or dry run printed), 1 a step failed (re-run to finish),
 * 2 bad input or a state to fix first (nothing changed).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ReleaseFailedError, ReleaseRefusedError } from "./errors.ts";
import { release } from "./release.ts";
import { BUMP_KINDS, type BumpKind } from "./semver.ts";

const USAGE = `Usage: deno task release <major|minor|patch> [options]

Options:
  --pre <id>                 make a pre-release (v1.3.0-rc.1, then rc.2, ...)
  --dry-run                  print the version, notes and steps; change nothing
  --no-github                do not create the GitHub release (no token needed)
  --repository <owner/name>  the GitHub repository (default: from the remote's URL)
  --remote <name>            the remote to push to (default: origin)
  --branch <name>            the branch releases are made from (default: main)
  --cwd <dir>                the repository (default: the current directory)
  -h, --help                 show this help

Environment: GITHUB_TOKEN (required unless --no-github), GITHUB_API_URL (optional).`;

/**
 * Runs the release command line and returns the exit code.
 *
 * @param args The arguments after `deno task release`.
 * @returns 0, 1 or 2.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * const quiet = console.error;
 * console.error = () => {};
 * try {
 *   assert.equal(await main(["sideways"]), 2);
 * } finally {
 *   console.error = quiet;
 * }
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pre: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        "no-github": { type: "boolean", default: false },
        repository: { type: "string" },
        remote: { type: "string", default: "origin" },
        branch: { type: "string", default: "main" },
        cwd: { type: "string", default: "." },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [bump, ...extra] = positionals;
  if (bump === undefined || !BUMP_KINDS.includes(bump as BumpKind) || extra.length > 0) {
    const got = positionals.length === 0 ? "nothing" : `"${positionals.join(" ")}"`;
    console.error(`error: expected one of major, minor or patch, got ${got}\n\n${USAGE}`);
    return 2;
  }
  const token = Deno.env.get("GITHUB_TOKEN");
  const apiUrl = Deno.env.get("GITHUB_API_URL");
  try {
    const result = await release({
      cwd: values.cwd,
      bump: bump as BumpKind,
      dryRun: values["dry-run"],
      github: !values["no-github"],
      remote: values.remote,
      branch: values.branch,
      ...(values.pre === undefined ? {} : { pre: values.pre }),
      ...(values.repository === undefined ? {} : { repository: values.repository }),
      ...(token === undefined ? {} : { token }),
      ...(apiUrl === undefined ? {} : { apiUrl }),
    });
    console.log(
      result.dryRun
        ? `Dry run of ${result.tag} complete: nothing was changed`
        : `Release ${result.tag} ${result.resumed ? "completed" : "created"}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ReleaseRefusedError || error instanceof ReleaseFailedError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
