/**
 * Release notes in the spirit of the runbook's template, and the CHANGELOG.md
 * they are prepended to.
 *
 * @module
 */
import type { NoteEntry, ReleaseContent } from "./conventional.ts";
import { formatVersion, type Version } from "./semver.ts";

/** Options for {@linkcode renderReleaseNotes}. */
export interface RenderOptions {
  /** The version being released. */
  version: Version;
  /** The previous release tag, when there is one. */
  previous?: string;
  /** The release date, `YYYY-MM-DD`. */
  date: string;
  /** `owner/name` on GitHub, for links to pull requests and the full changelog. */
  repository?: string;
}

function releaseType(version: Version): string {
  const kind = version.minor === 0 && version.patch === 0
    ? "Major"
    : version.patch === 0
    ? "Minor"
    : "Patch";
  return version.pre ? `${kind} Pre-release (${version.pre.id})` : `${kind} Release`;
}

function line(entry: NoteEntry, repository: string | undefined): string {
  const scope = entry.scope ? `**${entry.scope}:** ` : "";
  const pr = entry.pullRequest === undefined
    ? ""
    : repository
    ? ` ([#${entry.pullRequest}](https://github.com/${repository}/pull/${entry.pullRequest}))`
    : ` (#${entry.pullRequest})`;
  return `- ${scope}${entry.description}${pr} (${entry.sha})`;
}

/**
 * Renders release notes as Markdown: breaking changes, features, fixes, performance,
 * other changes, pull requests and contributors. Empty sections are left out, except
 * breaking changes, which says "None in this release".
 *
 * @param content The classified commits.
 * @param options The version, date, previous tag and repository.
 * @returns The Markdown, starting with `## Release <tag>`.
 *
 * @example
 * ```ts
 * import { renderReleaseNotes } from "./notes.ts";
 * import { classifyCommits } from "./conventional.ts";
 * import assert from "node:assert/strict";
 *
 * const content = classifyCommits([
 *   { sha: "abcdef0123", parents: ["x"], author: "Ada", subject: "feat: dark mode", body: "" },
 * ]);
 * const notes = renderReleaseNotes(content, {
 *   version: { major: 1, minor: 3, patch: 0 }, previous: "v1.2.4", date: "2024-01-15",
 * });
 * assert.match(notes, /^## Release v1\.3\.0\n/);
 * assert.match(notes, /### 🚀 New Features\n\n- dark mode \(abcdef0\)/);
 * ```
 */
export function renderReleaseNotes(content: ReleaseContent, options: RenderOptions): string {
  const { repository, previous } = options;
  const tag = formatVersion(options.version);
  const out: string[] = [
    `## Release ${tag}`,
    "",
    `**Release Date:** ${options.date}  `,
    `**Release Type:** ${releaseType(options.version)}`,
    "",
    "### 🚧 Breaking Changes",
    "",
  ];
  if (content.breaking.length === 0) out.push("**None in this release**", "");
  else out.push(...content.breaking.map((e) => line(e, repository)), "");
  const sections: [string, NoteEntry[]][] = [
    ["### 🚀 New Features", content.features],
    ["### 🐛 Bug Fixes", content.fixes],
    ["### ⚡ Performance", content.performance],
    ["### 🔧 Other Changes", content.other],
  ];
  for (const [title, entries] of sections) {
    if (entries.length === 0) continue;
    out.push(title, "", ...entries.map((e) => line(e, repository)), "");
  }
  if (content.pullRequests.length > 0) {
    out.push("### 📋 Pull Requests", "");
    for (const pr of content.pullRequests) out.push(`- #${pr.number} ${pr.title}`);
    out.push("");
  }
  if (content.contributors.length > 0) {
    out.push("### 🙏 Contributors", "", ...content.contributors.map((name) => `- ${name}`), "");
  }
  if (repository && previous) {
    out.push(
      `**Full Changelog**: [${previous}...${tag}](https://github.com/${repository}/compare/${previous}...${tag})`,
      "",
    );
  }
  return out.join("\n");
}

const CHANGELOG_HEADER = "# Changelog\n\n";

/**
 * Prepends release notes to a CHANGELOG.md text (creating its `# Changelog` header
 * when missing).
 *
 * @param existing The current file's text, or undefined when there is none.
 * @param notes Notes from {@linkcode renderReleaseNotes}.
 * @returns The new file text.
 *
 * @example
 * ```ts
 * import { prependChangelog } from "./notes.ts";
 * import assert from "node:assert/strict";
 *
 * const text = prependChangelog("# Changelog\n\n## Release v1.0.0\n", "## Release v1.1.0\n");
 * assert.equal(text, "# Changelog\n\n## Release v1.1.0\n\n## Release v1.0.0\n");
 * ```
 */
export function prependChangelog(existing: string | undefined, notes: string): string {
  const body = notes.trimEnd() + "\n";
  if (existing === undefined || existing.trim() === "") return CHANGELOG_HEADER + body;
  const header = /^# [^\n]*\n+/.exec(existing);
  if (!header) return CHANGELOG_HEADER + body + "\n" + existing;
  return existing.slice(0, header[0].length).trimEnd() + "\n\n" + body + "\n" +
    existing.slice(header[0].length);
}

/**
 * Finds the notes of one release in a CHANGELOG.md text.
 *
 * @param changelog The file's text.
 * @param tag The release tag, e.g. `v1.3.0`.
 * @returns The section (from `## Release <tag>` to the next release), or undefined.
 *
 * @example
 * ```ts
 * import { changelogSection } from "./notes.ts";
 * import assert from "node:assert/strict";
 *
 * const text = "# Changelog\n\n## Release v1.1.0\n\nnew\n\n## Release v1.0.0\n\nold\n";
 * assert.equal(changelogSection(text, "v1.1.0"), "## Release v1.1.0\n\nnew\n");
 * ```
 */
export function changelogSection(changelog: string, tag: string): string | undefined {
  const start = changelog.indexOf(`## Release ${tag}\n`);
  if (start < 0) return undefined;
  const next = changelog.indexOf("\n## Release ", start + 1);
  const section = changelog.slice(start, next < 0 ? undefined : next + 1);
  return section.trimEnd() + "\n";
}
