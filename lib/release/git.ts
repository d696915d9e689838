/**
 * A thin wrapper over the real `git` binary (`Deno.Command`), with the queries
 * and commands a release needs.
 *
 * @module
 */
import type { Commit } from "./conventional.ts";
import { GitError } from "./errors.ts";

/** Options for {@linkcode Git.run}. */
export interface RunOptions {
  /** Text written to git's standard input. */
  stdin?: string;
}

/** The result of a git command. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

const FIELD = "\x1f";
const RECORD = "\x1e";

/**
 * Runs git in one repository. Prompts are disabled (`GIT_TERMINAL_PROMPT=0`), so a
 * push that needs credentials fails instead of waiting for input.
 *
 * @example
 * ```ts ignore
 * import { Git } from "./git.ts";
 * const git = new Git(".");
 * console.log(await git.currentBranch());
 * ```
 */
export class Git {
  #cwd: string;

  /** @param cwd The repository's working directory. */
  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  /** The repository's working directory. */
  get cwd(): string {
    return this.#cwd;
  }

  /**
   * Runs `git <args>` and returns its result whatever the exit code.
   *
   * @param args The arguments.
   * @param options `stdin` text.
   * @returns The exit code and output.
   */
  async tryRun(args: string[], options: RunOptions = {}): Promise<RunResult> {
    const command = new Deno.Command("git", {
      args,
      cwd: this.#cwd,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", GIT_EDITOR: "true" },
    });
    const child = command.spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /**
   * Runs `git <args>` and returns its standard output.
   *
   * @param args The arguments.
   * @param options `stdin` text.
   * @returns Standard output.
   * @throws {GitError} When git exits with a non-zero code.
   */
  async run(args: string[], options: RunOptions = {}): Promise<string> {
    const result = await this.tryRun(args, options);
    if (result.code !== 0) throw new GitError(args, result);
    return result.stdout;
  }

  /** @returns The current branch name, or `undefined` on a detached HEAD. */
  async currentBranch(): Promise<string | undefined> {
    const result = await this.tryRun(["symbolic-ref", "--short", "-q", "HEAD"]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** @returns The paths `git status` reports as changed or untracked (empty when clean). */
  async dirtyPaths(): Promise<string[]> {
    const out = await this.run(["status", "--porcelain=v1", "--untracked-files=normal"]);
    return out.split("\n").filter((line) => line.length > 0).map((line) => line.slice(3));
  }

  /** @returns The SHA of HEAD, or `undefined` when the repository has no commit. */
  async head(): Promise<string | undefined> {
    const result = await this.tryRun(["rev-parse", "-q", "--verify", "HEAD^{commit}"]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /**
   * @param name The remote's name.
   * @returns The remote's URL, or `undefined` when there is no such remote.
   */
  async remoteUrl(name: string): Promise<string | undefined> {
    const result = await this.tryRun(["remote", "get-url", name]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** @returns The `v*` tags whose commits are reachable from HEAD. */
  async versionTagsMerged(): Promise<string[]> {
    const out = await this.run(["tag", "--list", "v*", "--merged", "HEAD"]);
    return out.split("\n").map((line) => line.trim()).filter((line) => line.length > 0);
  }

  /**
   * @param tag The tag name.
   * @returns The commit the tag points at, or `undefined` when it does not exist.
   */
  async tagCommit(tag: string): Promise<string | undefined> {
    const result = await this.tryRun(["rev-parse", "-q", "--verify", `refs/tags/${tag}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /**
   * @param tag The tag name.
   * @returns The tag object's SHA (for annotated tags), or `undefined` when missing.
   */
  async tagObject(tag: string): Promise<string | undefined> {
    const result = await this.tryRun(["rev-parse", "-q", "--verify", `refs/tags/${tag}`]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /**
   * @param tag An annotated tag.
   * @returns The tag's message.
   */
  async tagMessage(tag: string): Promise<string> {
    return await this.run(["for-each-ref", "--format=%(contents)", `refs/tags/${tag}`]);
  }

  /**
   * Lists the commits in `from..HEAD` (all of HEAD's history when `from` is undefined),
   * oldest first.
   *
   * @param from The exclusive start (a tag), or undefined.
   * @returns The commits.
   */
  async commitsSince(from: string | undefined): Promise<Commit[]> {
    const range = from === undefined ? "HEAD" : `refs/tags/${from}..HEAD`;
    const format = ["%H", "%P", "%an", "%s", "%b"].join(FIELD) + RECORD;
    const out = await this.run(["log", "--reverse", `--format=${format}`, range]);
    return out.split(RECORD).map((record) => record.replace(/^\n/, "")).filter((r) => r !== "")
      .map((record) => {
        const [sha = "", parents = "", author = "", subject = "", body = ""] = record.split(FIELD);
        return {
          sha,
          parents: parents.split(" ").filter((p) => p !== ""),
          author,
          subject,
          body: body.trim(),
        };
      });
  }

  /**
   * Asks a remote for one ref (`git ls-remote`).
   *
   * @param remote The remote's name.
   * @param ref The full ref name, e.g. `refs/tags/v1.0.0`.
   * @returns The SHA the remote has for it, or `undefined` when it has none.
   * @throws {GitError} When the remote cannot be reached.
   */
  async remoteRef(remote: string, ref: string): Promise<string | undefined> {
    const out = await this.run(["ls-remote", remote, ref]);
    for (const line of out.split("\n")) {
      const [sha, name] = line.split("\t");
      if (name === ref && sha) return sha;
    }
    return undefined;
  }

  /**
   * @param ancestor A commit SHA.
   * @param descendant A commit SHA.
   * @returns Whether `ancestor` is known here and is an ancestor of (or equal to) `descendant`.
   */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.tryRun(["merge-base", "--is-ancestor", ancestor, descendant]);
    return result.code === 0;
  }
}
