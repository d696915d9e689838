/**
 * Conventional commits (https://www.conventionalcommits.org): parse a commit and
 * sort a range of commits into what release notes list.
 *
 * @module
 */
/** A commit as the release notes need it. */
export interface Commit {
  /** Full SHA. */
  sha: string;
  /** Parent SHAs (two or more for a merge commit). */
  parents: string[];
  /** Author name. */
  author: string;
  /** First line of the message. */
  subject: string;
  /** The rest of the message (may be empty). */
  body: string;
}

/** A parsed commit message. */
export interface ConventionalCommit {
  /** `feat`, `fix`, `perf`, ...; `undefined` when the subject is not conventional. */
  type?: string;
  /** The scope in `type(scope): ...`. */
  scope?: string;
  /** The description (the whole subject when not conventional), without a `(#123)` suffix. */
  description: string;
  /** Whether the commit is breaking (`!` or a `BREAKING CHANGE:` footer). */
  breaking: boolean;
  /** The texts of `BREAKING CHANGE:` / `BREAKING-CHANGE:` footers. */
  breakingNotes: string[];
  /** A pull request number from a `(#123)` suffix. */
  pullRequest?: number;
}

const HEADER_RE = /^([A-Za-z]+)(?:\(([^()]+)\))?(!)?: (.+)$/;
const PR_SUFFIX_RE = /\s*\(#(\d+)\)\s*$/;
const BREAKING_RE = /^BREAKING[ -]CHANGE: ?(.*)$/;
const FOOTER_RE = /^([A-Za-z-]+: |[A-Za-z-]+ #)/;

/**
 * Parses a commit's subject and body.
 *
 * @param subject The first line of the message.
 * @param body The rest of the message.
 * @returns The parsed commit.
 *
 * @example
 * ```ts
 * import { parseConventionalCommit } from "./conventional.ts";
 * import assert from "node:assert/strict";
 *
 * const c = parseConventionalCommit("feat(api)!: drop v0 (#12)", "");
 * assert.equal(c.type, "feat");
 * assert.equal(c.scope, "api");
 * assert.equal(c.breaking, true);
 * assert.equal(c.pullRequest, 12);
 * assert.equal(c.description, "drop v0");
 * ```
 */
export function parseConventionalCommit(subject: string, body: string): ConventionalCommit {
  let text = subject.trim();
  const parsed: ConventionalCommit = { description: text, breaking: false, breakingNotes: [] };
  const pr = PR_SUFFIX_RE.exec(text);
  if (pr) {
    parsed.pullRequest = Number(pr[1]);
    text = text.slice(0, pr.index).trim();
    parsed.description = text;
  }
  const header = HEADER_RE.exec(text);
  if (header) {
    parsed.type = header[1]!.toLowerCase();
    if (header[2] !== undefined) parsed.scope = header[2].trim();
    parsed.breaking = header[3] === "!";
    parsed.description = header[4]!.trim();
  }
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const match = BREAKING_RE.exec(lines[i]!.trim());
    if (!match) continue;
    const note = [match[1]!.trim()];
    while (i + 1 < lines.length) {
      const next = lines[i + 1]!.trim();
      if (next === "" || FOOTER_RE.test(next)) break;
      note.push(next);
      i++;
    }
    parsed.breaking = true;
    parsed.breakingNotes.push(note.join(" ").trim());
  }
  return parsed;
}

/** One line of release notes. */
export interface NoteEntry {
  /** The scope, when the commit had one. */
  scope?: string;
  /** What changed. */
  description: string;
  /** The short SHA. */
  sha: string;
  /** The pull request, when known. */
  pullRequest?: number;
}

/** A merged pull request. */
export interface PullRequestEntry {
  /** Its number. */
  number: number;
  /** Its title. */
  title: string;
}

/** The content of a release, sorted by kind. */
export interface ReleaseContent {
  /** Breaking changes (the footer's text when given, else the description). */
  breaking: NoteEntry[];
  /** `feat` commits. */
  features: NoteEntry[];
  /** `fix` commits. */
  fixes: NoteEntry[];
  /** `perf` commits. */
  performance: NoteEntry[];
  /** Everything else that is not a merge or a release commit. */
  other: NoteEntry[];
  /** Pull requests merged, by number. */
  pullRequests: PullRequestEntry[];
  /** Authors and co-authors, sorted, unique. */
  contributors: string[];
}

const MERGE_PR_RE = /^Merge pull request #(\d+) from (\S+)/;
const RELEASE_COMMIT_RE = /^chore\(release\): v?\d+\.\d+\.\d+/;
const CO_AUTHOR_RE = /^Co-authored-by:\s*(.+?)\s*(<[^>]*>)?\s*$/gim;

/**
 * Whether a subject is the commit a release makes (`chore(release): v1.2.3`).
 *
 * @param subject A commit subject.
 * @returns Whether it is a release commit.
 *
 * @example
 * ```ts
 * import { isReleaseCommit } from "./conventional.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isReleaseCommit("chore(release): v1.2.3"));
 * ```
 */
export function isReleaseCommit(subject: string): boolean {
  return RELEASE_COMMIT_RE.test(subject);
}

/**
 * Sorts commits into release-note sections, pull requests and contributors.
 * Release commits are left out; merge commits give pull requests, not entries.
 *
 * @param commits The commits, oldest first.
 * @returns The release content.
 *
 * @example
 * ```ts
 * import { classifyCommits } from "./conventional.ts";
 * import assert from "node:assert/strict";
 *
 * const content = classifyCommits([
 *   { sha: "a".repeat(40), parents: ["b"], author: "Ada", subject: "fix: leak (#7)", body: "" },
 * ]);
 * assert.equal(content.fixes[0]?.description, "leak");
 * assert.deepEqual(content.pullRequests, [{ number: 7, title: "fix: leak" }]);
 * assert.deepEqual(content.contributors, ["Ada"]);
 * ```
 */
export function classifyCommits(commits: readonly Commit[]): ReleaseContent {
  const content: ReleaseContent = {
    breaking: [],
    features: [],
    fixes: [],
    performance: [],
    other: [],
    pullRequests: [],
    contributors: [],
  };
  const prs = new Map<number, string>();
  const people = new Set<string>();
  for (const commit of commits) {
    if (isReleaseCommit(commit.subject)) continue;
    if (commit.author.trim()) people.add(commit.author.trim());
    for (const match of commit.body.matchAll(CO_AUTHOR_RE)) people.add(match[1]!.trim());
    if (commit.parents.length > 1) {
      const merge = MERGE_PR_RE.exec(commit.subject);
      if (merge) {
        const title = commit.body.split("\n").find((line) => line.trim() !== "")?.trim();
        prs.set(Number(merge[1]), title ?? merge[2]!);
      }
      continue;
    }
    const parsed = parseConventionalCommit(commit.subject, commit.body);
    const entry: NoteEntry = { description: parsed.description, sha: commit.sha.slice(0, 7) };
    if (parsed.scope !== undefined) entry.scope = parsed.scope;
    if (parsed.pullRequest !== undefined) {
      entry.pullRequest = parsed.pullRequest;
      if (!prs.has(parsed.pullRequest)) {
        prs.set(parsed.pullRequest, commit.subject.replace(PR_SUFFIX_RE, "").trim());
      }
    }
    if (parsed.breaking) {
      const notes = parsed.breakingNotes.length > 0 ? parsed.breakingNotes : [parsed.description];
      for (const note of notes) content.breaking.push({ ...entry, description: note });
    }
    if (parsed.type === "feat") content.features.push(entry);
    else if (parsed.type === "fix") content.fixes.push(entry);
    else if (parsed.type === "perf") content.performance.push(entry);
    else content.other.push(entry);
  }
  content.pullRequests = [...prs].sort(([a], [b]) => a - b)
    .map(([number, title]) => ({ number, title }));
  content.contributors = [...people].sort((a, b) =>
    a.localeCompare(b, "en", { sensitivity: "base" })
  );
  return content;
}
