/**
 * Temporary git repositories with a bare remote, for the release tests. Real git,
 * real commits and tags; `dispose()` removes everything.
 */

const IDENTITY = {
  GIT_AUTHOR_NAME: "Ada Lovelace",
  GIT_AUTHOR_EMAIL: "ada@example.com",
  GIT_COMMITTER_NAME: "Ada Lovelace",
  GIT_COMMITTER_EMAIL: "ada@example.com",
};

/** Runs git in a directory; throws with stderr on failure. */
export async function git(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const output = await new Deno.Command("git", {
    args,
    cwd,
    env: { ...IDENTITY, GIT_TERMINAL_PROMPT: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (output.code !== 0) {
    throw new Error(`git ${args.join(" ")} failed: ${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout);
}

/** A work repository on `main` with a bare `origin`. */
export interface TempRepo {
  root: string;
  work: string;
  remote: string;
  /** Writes a file and commits it with `message` (as `author` when given). */
  commit(message: string, options?: { author?: string; file?: string }): Promise<string>;
  git(args: string[]): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a repository with one initial commit, pushed to its bare remote. */
export async function createTempRepo(options: { remote?: boolean } = {}): Promise<TempRepo> {
  const root = await Deno.makeTempDir({ prefix: "release_test_" });
  const work = `${root}/work`;
  const remote = `${root}/remote.git`;
  await Deno.mkdir(work);
  await git(root, ["init", "-q", "--bare", "-b", "main", remote]);
  await git(work, ["init", "-q", "-b", "main"]);
  await git(work, ["config", "user.name", "Ada Lovelace"]);
  await git(work, ["config", "user.email", "ada@example.com"]);
  await git(work, ["config", "commit.gpgsign", "false"]);
  await git(work, ["config", "tag.gpgsign", "false"]);
  let counter = 0;
  const repo: TempRepo = {
    root,
    work,
    remote,
    async commit(message, commitOptions = {}) {
      const file = commitOptions.file ?? `file_${counter++}.txt`;
      await Deno.writeTextFile(`${work}/${file}`, `${message}\n${counter}\n`);
      await git(work, ["add", file]);
      const [name, email] = (commitOptions.author ?? "Ada Lovelace <ada@example.com>")
        .match(/^(.*) <(.*)>$/)!.slice(1);
      await git(work, ["commit", "-q", "-m", message], {
        GIT_AUTHOR_NAME: name!,
        GIT_AUTHOR_EMAIL: email!,
      });
      return (await git(work, ["rev-parse", "HEAD"])).trim();
    },
    git: (args) => git(work, args),
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
  await repo.commit("chore: initial commit", { file: "README.md" });
  if (options.remote ?? true) {
    await git(work, ["remote", "add", "origin", remote]);
    await git(work, ["push", "-q", "origin", "main"]);
  }
  return repo;
}
