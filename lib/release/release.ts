/**
 * The release procedure (the runbook's `release_management.sh`): check the
 * repository, compute the next version, write the notes to CHANGELOG.md and an
 * annotated tag, push both, and create the GitHub release. Re-running after a
 * failure part-way completes what is missing.
 *
 * @module
 */
import { classifyCommits, isReleaseCommit } from "./conventional.ts";
import { GitError, ReleaseFailedError, ReleaseRefusedError } from "./errors.ts";
import { Git } from "./git.ts";
import { createGitHubClient } from "./github_client.ts";
import {
  checkRepositoryAccess,
  ensureRelease,
  type EnsureReleaseResult,
} from "./github_release.ts";
import { changelogSection, prependChangelog, renderReleaseNotes } from "./notes.ts";
import { type ResolvedRepository, resolveRepository } from "./_repository.ts";
import {
  BUMP_KINDS,
  type BumpKind,
  bumpVersion,
  compareVersions,
  formatVersion,
  parseVersion,
  type Version,
} from "./semver.ts";

/** Options for {@linkcode release}. */
export interface ReleaseOptions {
  /** The repository's working directory. */
  cwd: string;
  /** `major`, `minor` or `patch`. */
  bump: BumpKind;
  /** A pre-release id (`rc`, `beta`, ...). */
  pre?: string;
  /** Print everything, change nothing. */
  dryRun?: boolean;
  /** Create the GitHub release (default true). */
  github?: boolean;
  /** The GitHub token (required unless `github` is false). Never printed. */
  token?: string;
  /** `owner/name`, instead of parsing the remote's URL. */
  repository?: string;
  /** The GitHub API root (default from the remote's host: `https://api.github.com`). */
  apiUrl?: string;
  /** The remote to push to (default `origin`). */
  remote?: string;
  /** The branch releases are made from (default `main`). */
  branch?: string;
  /** A fetch implementation for GitHub (a stand-in in tests). */
  fetch?: typeof fetch;
  /** The release date's clock (default now). */
  now?: Date;
  /** Where progress lines go (default `console.log`). */
  log?: (line: string) => void;
  /** Time allowed per GitHub request (default 30 s). */
  timeoutMs?: number;
}

/** What {@linkcode release} did (or, with `dryRun`, would do). */
export interface ReleaseResult {
  /** The release tag, e.g. `v1.3.0`. */
  tag: string;
  /** The previous release tag, if any. */
  previous?: string;
  /** The release notes (Markdown). */
  notes: string;
  /** Whether this run completed an earlier, interrupted release. */
  resumed: boolean;
  /** Whether nothing was changed on purpose. */
  dryRun: boolean;
  /** Each step and what happened to it. */
  steps: { step: string; status: "done" | "skipped" | "planned"; detail: string }[];
  /** The GitHub release, when one was made or checked. */
  githubRelease?: EnsureReleaseResult;
}

interface Plan {
  tag: string;
  version: Version;
  previous?: string;
  notes: string;
  resume: "none" | "from-tag" | "from-push";
}

const TAG_TITLE = (tag: string) => `Release ${tag}`;

function refuse(message: string): never {
  throw new ReleaseRefusedError(message);
}

async function latestTag(git: Git): Promise<{ tag: string; version: Version } | undefined> {
  let latest: { tag: string; version: Version } | undefined;
  for (const tag of await git.versionTagsMerged()) {
    let version: Version;
    try {
      version = parseVersion(tag);
    } catch {
      refuse(
        `Cannot read release tags: tag "${tag}" is not a version (expected vMAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH-<id>.<n>); delete or rename it`,
      );
    }
    if (!latest || compareVersions(version, latest.version) > 0) latest = { tag, version };
  }
  return latest;
}

async function plan(
  git: Git,
  head: string,
  options: ReleaseOptions & { repo?: ResolvedRepository | undefined },
): Promise<Plan> {
  const latest = await latestTag(git);
  const title = latest ? `${TAG_TITLE(latest.tag)}\n\n` : "";
  const message = latest && (await git.tagCommit(latest.tag)) === head &&
      (await git.run(["cat-file", "-t", latest.tag])).trim() === "tag"
    ? await git.tagMessage(latest.tag)
    : "";
  if (latest && message.startsWith(title)) {
    // HEAD carries a release tag this tool made: complete that release.
    const notes = message.slice(title.length);
    return {
      tag: latest.tag,
      version: latest.version,
      notes: notes.trimEnd() + "\n",
      resume: "from-push",
    } satisfies Plan;
  }
  const subject = (await git.run(["log", "-1", "--format=%s", "HEAD"])).trim();
  if (isReleaseCommit(subject)) {
    const tag = subject.replace(/^chore\(release\): /, "").trim();
    const version = parseVersion(tag);
    if ((await git.tagObject(formatVersion(version))) !== undefined) {
      refuse(`Cannot resume release ${tag}: the tag exists but does not point at HEAD`);
    }
    const changelog = await git.run(["show", "HEAD:CHANGELOG.md"]).catch(() => "");
    const notes = changelogSection(changelog, formatVersion(version));
    if (notes === undefined) {
      refuse(
        `Cannot resume release ${tag}: CHANGELOG.md at HEAD has no "## Release ${tag}" section`,
      );
    }
    return { tag: formatVersion(version), version, notes, resume: "from-tag" } satisfies Plan;
  }
  const commits = await git.commitsSince(latest?.tag);
  if (commits.length === 0) {
    refuse(`Cannot release: no commits since ${latest?.tag ?? "the start"}; nothing to release`);
  }
  let version: Version;
  try {
    version = bumpVersion(latest?.version ?? { major: 0, minor: 0, patch: 0 }, options.bump, {
      ...(options.pre === undefined ? {} : { pre: options.pre }),
    });
  } catch (error) {
    refuse((error as Error).message);
  }
  const tag = formatVersion(version);
  const existing = await git.tagCommit(tag);
  if (existing !== undefined) {
    refuse(
      `Cannot release ${tag}: the tag already exists at ${
        existing.slice(0, 12)
      }, which is not in this branch's history`,
    );
  }
  const content = classifyCommits(commits);
  const log = options.log ?? console.log;
  if (content.breaking.length > 0 && options.bump !== "major" && version.major > 0) {
    log(
      `warning: ${content.breaking.length} breaking change(s) since ${latest?.tag}, but this is a ${options.bump} release`,
    );
  }
  const notes = renderReleaseNotes(content, {
    version,
    date: (options.now ?? new Date()).toISOString().slice(0, 10),
    ...(latest ? { previous: latest.tag } : {}),
    ...(options.repo ? { repository: `${options.repo.owner}/${options.repo.repo}` } : {}),
  });
  return {
    tag,
    version,
    notes,
    resume: "none",
    ...(latest ? { previous: latest.tag } : {}),
  } satisfies Plan;
}

/** Writes the notes to CHANGELOG.md and commits it; puts the file back if the commit fails. */
async function commitChangelog(git: Git, p: Plan): Promise<void> {
  const path = `${git.cwd}/CHANGELOG.md`;
  const existing = await Deno.readTextFile(path).catch((e) =>
    e instanceof Deno.errors.NotFound ? undefined : Promise.reject(e)
  );
  await Deno.writeTextFile(path, prependChangelog(existing, p.notes));
  try {
    await git.run(["add", "--", "CHANGELOG.md"]);
    await git.run(["commit", "-q", "-m", `chore(release): ${p.tag}`, "--", "CHANGELOG.md"]);
  } catch (error) {
    await git.tryRun(["reset", "-q", "--", "CHANGELOG.md"]);
    if (existing === undefined) await Deno.remove(path);
    else await Deno.writeTextFile(path, existing);
    throw new ReleaseFailedError(
      `Cannot commit CHANGELOG.md: ${(error as Error).message}; nothing was changed`,
      { cause: error },
    );
  }
}

/**
 * Makes a release. See the module docs for the steps.
 *
 * @param options What to release and how.
 * @returns What was done.
 * @throws {ReleaseRefusedError} For bad input or a state to fix first (nothing changed).
 * @throws {ReleaseFailedError} When a step fails (re-run to complete).
 *
 * @example
 * ```ts ignore
 * import { release } from "./release.ts";
 * await release({ cwd: ".", bump: "minor", dryRun: true, github: false });
 * ```
 */
export async function release(options: ReleaseOptions): Promise<ReleaseResult> {
  const log = options.log ?? console.log;
  const remote = options.remote ?? "origin";
  const branch = options.branch ?? "main";
  const github = options.github ?? true;
  const dryRun = options.dryRun ?? false;
  if (!BUMP_KINDS.includes(options.bump)) {
    refuse(`Cannot release: unknown bump "${options.bump}" (expected major, minor or patch)`);
  }
  const git = new Git(options.cwd);
  if ((await git.tryRun(["rev-parse", "--is-inside-work-tree"])).code !== 0) {
    refuse(`Cannot release: ${options.cwd} is not a git repository`);
  }
  const head = await git.head() ?? refuse("Cannot release: the repository has no commits");
  const current = await git.currentBranch();
  if (current !== branch) {
    refuse(
      `Cannot release: releases are made from "${branch}", but ${
        current === undefined ? "HEAD is detached" : `the current branch is "${current}"`
      }`,
    );
  }
  const dirty = await git.dirtyPaths();
  if (dirty.length > 0) {
    const shown = dirty.slice(0, 5).join(", ") +
      (dirty.length > 5 ? `, and ${dirty.length - 5} more` : "");
    refuse(
      `Cannot release: the working tree is not clean (${shown}); commit or remove the changes first`,
    );
  }
  const remoteUrl = await git.remoteUrl(remote) ??
    refuse(
      `Cannot release: there is no remote "${remote}"; add it with git remote add ${remote} <url>`,
    );
  const repo = github ? resolveRepository(remoteUrl, options) : undefined;
  const token = options.token ?? "";
  if (github && token === "") {
    refuse(
      "Cannot release: GITHUB_TOKEN is not set; set it to a token with contents: write, or pass --no-github",
    );
  }
  const p = await plan(git, head, { ...options, repo });
  let remoteMain: string | undefined;
  let remoteTag: string | undefined;
  try {
    remoteMain = await git.remoteRef(remote, `refs/heads/${branch}`);
    remoteTag = await git.remoteRef(remote, `refs/tags/${p.tag}`);
  } catch (error) {
    const detail = error instanceof GitError ? error.stderr : String(error);
    throw new ReleaseFailedError(`Cannot reach remote "${remote}": ${detail}`, { cause: error });
  }
  // The remote's branch must be in HEAD's history (or, when completing a release,
  // may have moved on from HEAD).
  const remoteBehind = remoteMain === undefined || remoteMain === head ||
    await git.isAncestor(remoteMain, head);
  const remoteHasHead = remoteMain !== undefined && await git.isAncestor(head, remoteMain);
  if (!remoteBehind && !(p.resume !== "none" && remoteHasHead)) {
    refuse(
      `Cannot release: ${remote}/${branch} has commits that are not in your ${branch}; pull them first`,
    );
  }
  const localTag = await git.tagObject(p.tag);
  if (remoteTag !== undefined && remoteTag !== localTag) {
    const message = `Cannot release ${p.tag}: ${remote} already has a different tag ${p.tag} (${
      remoteTag.slice(0, 12)
    })`;
    if (p.resume === "none") refuse(message);
    throw new ReleaseFailedError(message);
  }
  const client = repo
    ? createGitHubClient({
      token,
      baseUrl: repo.apiUrl,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    })
    : undefined;
  const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  if (client && repo) await checkRepositoryAccess(client, repo, timeout);

  const result: ReleaseResult = {
    tag: p.tag,
    notes: p.notes,
    resumed: p.resume !== "none",
    dryRun,
    steps: [],
    ...(p.previous ? { previous: p.previous } : {}),
  };
  const step = (name: string, status: "done" | "skipped" | "planned", detail: string) => {
    result.steps.push({ step: name, status, detail });
    log(`${status === "planned" ? "would" : status === "done" ? "done:" : "skip:"} ${detail}`);
  };
  log(
    `${p.resume === "none" ? "Releasing" : "Resuming release"} ${p.tag}${
      p.previous ? ` (previous: ${p.previous})` : ""
    }${dryRun ? " [dry run: nothing will change]" : ""}`,
  );
  log("");
  log(p.notes);

  const refs = [
    ...(remoteHasHead && p.resume !== "none" ? [] : [`refs/heads/${branch}:refs/heads/${branch}`]),
    ...(remoteTag === undefined ? [`refs/tags/${p.tag}:refs/tags/${p.tag}`] : []),
  ];
  if (p.resume === "none") {
    if (dryRun) {
      step(
        "changelog",
        "planned",
        `prepend the notes to CHANGELOG.md and commit "chore(release): ${p.tag}"`,
      );
    } else {
      await commitChangelog(git, p);
      step("changelog", "done", `CHANGELOG.md updated and committed ("chore(release): ${p.tag}")`);
    }
  } else step("changelog", "skipped", "CHANGELOG.md already committed");
  if (p.resume === "from-push") {
    step("tag", "skipped", `annotated tag ${p.tag} already exists at HEAD`);
  } else if (dryRun) step("tag", "planned", `create the annotated tag ${p.tag} with the notes`);
  else {
    await git.run(["tag", "-a", "--cleanup=verbatim", "-F", "-", p.tag], {
      stdin: `${TAG_TITLE(p.tag)}\n\n${p.notes}`,
    }).catch((error) => {
      throw new ReleaseFailedError(
        `Cannot create tag ${p.tag}: ${
          (error as Error).message
        }; run the same command again to finish`,
        { cause: error },
      );
    });
    step("tag", "done", `annotated tag ${p.tag} created`);
  }
  const pushing = refs.map((ref) => ref.replace(/^refs\/(heads|tags)\/|:.*$/g, "")).join(" and ");
  if (refs.length === 0) {
    step("push", "skipped", `${remote} already has ${branch} and ${p.tag}`);
  } else if (dryRun) step("push", "planned", `push ${pushing} to ${remote}`);
  else {
    try {
      await git.run(["push", "--atomic", remote, ...refs]);
    } catch (error) {
      const detail = error instanceof GitError ? error.stderr : String(error);
      throw new ReleaseFailedError(
        `Cannot push ${pushing} to ${remote}: ${detail}; the release commit and tag exist locally: fix the cause and run the same command again to finish`,
        { cause: error },
      );
    }
    step("push", "done", `pushed ${pushing} to ${remote}`);
  }
  if (!client || !repo) step("github", "skipped", "GitHub release (--no-github)");
  else if (dryRun) {
    step(
      "github",
      "planned",
      `create or update the GitHub release ${p.tag} in ${repo.owner}/${repo.repo}`,
    );
  } else {
    const made = await ensureRelease(client, {
      owner: repo.owner,
      repo: repo.repo,
      tag: p.tag,
      name: TAG_TITLE(p.tag),
      body: p.notes,
      prerelease: p.version.pre !== undefined,
    }, timeout);
    result.githubRelease = made;
    step(
      "github",
      made.action === "unchanged" ? "skipped" : "done",
      `GitHub release ${p.tag} ${made.action}: ${made.url}`,
    );
  }
  if (p.resume === "from-push" && result.steps.every((s) => s.status === "skipped")) {
    refuse(`Cannot release: no commits since ${p.tag}, which is already fully released`);
  }
  return result;
}
