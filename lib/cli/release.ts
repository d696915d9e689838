/**
 * `deno task release <major|minor|patch>`: the next version from the conventional commits, the
 * changelog, the tag, and the GitHub release. Exit codes: 0 released (or the dry run printed),
 * 1 a step failed (re-run to finish), 2 bad input or a state to fix first (nothing changed).
 * @module
 */
import { parseArgs } from "node:util";
import { BUMP_KINDS, type BumpKind, release, ReleaseRefusedError } from "../release/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `release`.
 *
 * @example
 * ```ts
 * import { RELEASE_USAGE } from "./release.ts";
 * console.assert(RELEASE_USAGE.startsWith("usage: deno task release"));
 * ```
 */
export const RELEASE_USAGE = `usage: deno task release <major|minor|patch> [options]

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

function parse(args: string[]) {
  return parseArgs({
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
    },
  });
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Runs `release` and returns the exit code.
 *
 * @param args The arguments after `release`.
 * @param io Where to write.
 * @returns 0, 1 or 2.
 *
 * @example
 * ```ts
 * import { releaseCommand } from "./release.ts";
 * const err: string[] = [];
 * const io = { stdout: () => {}, stderr: (t: string) => err.push(t), tty: false, colour: false };
 * console.assert(await releaseCommand(["sideways"], io) === 2);
 * console.assert(err.join("").startsWith("error: expected one of major, minor or patch"));
 * ```
 */
export async function releaseCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parse(args);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${RELEASE_USAGE}\n`);
    return EXIT.input;
  }
  const { values, positionals } = parsed;
  const [bump, ...extra] = positionals;
  if (bump === undefined || !BUMP_KINDS.includes(bump as BumpKind) || extra.length > 0) {
    const got = positionals.length === 0 ? "nothing" : `"${positionals.join(" ")}"`;
    io.stderr(`error: expected one of major, minor or patch, got ${got}\n\n${RELEASE_USAGE}\n`);
    return EXIT.input;
  }
  if (!(await isFolder(values.cwd))) {
    io.stderr(`error: --cwd ${values.cwd} is not a folder\n\n${RELEASE_USAGE}\n`);
    return EXIT.input;
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
      log: (line) => io.stdout(`${line}\n`),
      ...(values.pre === undefined ? {} : { pre: values.pre }),
      ...(values.repository === undefined ? {} : { repository: values.repository }),
      ...(token === undefined ? {} : { token }),
      ...(apiUrl === undefined ? {} : { apiUrl }),
    });
    io.stdout(
      result.dryRun
        ? `Dry run of ${result.tag} complete: nothing was changed\n`
        : `Release ${result.tag} ${result.resumed ? "completed" : "created"}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    // Refused: a state to fix first, nothing changed; anything else failed a step.
    return error instanceof ReleaseRefusedError ? EXIT.input : EXIT.failed;
  }
}

/**
 * The `release` command of the CLI.
 *
 * @example
 * ```ts
 * import { RELEASE_COMMAND } from "./release.ts";
 * console.assert(RELEASE_COMMAND.name === "release");
 * ```
 */
export const RELEASE_COMMAND: Command = {
  name: "release",
  summary: "the next version: changelog, tag, GitHub release",
  usage: RELEASE_USAGE,
  run: releaseCommand,
};
