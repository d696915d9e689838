/**
 * GitHub repositories from git remote URLs.
 *
 * @module
 */

/** A repository on a GitHub host. */
export interface GitHubRepository {
  /** The host, e.g. `github.com`. */
  host: string;
  /** The owner (user or organization). */
  owner: string;
  /** The repository name, without `.git`. */
  repo: string;
}

const NAME = "[A-Za-z0-9_.-]+";
const SCP_RE = new RegExp(`^(?:[^@/]+@)?([A-Za-z0-9.-]+):(${NAME})/(${NAME}?)(?:\\.git)?/?$`);
const PATH_RE = new RegExp(`^/(${NAME})/(${NAME}?)(?:\\.git)?/?$`);

/**
 * Removes a user name and password from a URL, for messages.
 *
 * @param url A remote URL.
 * @returns The URL without credentials.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./github_remote.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(redactUrl("https://x:secret@github.com/o/r.git"), "https://***@github.com/o/r.git");
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^@/]+@/i, "$1***@");
}

/**
 * Parses a GitHub remote URL: `https://github.com/o/r(.git)`, `git@github.com:o/r.git`,
 * `ssh://git@github.com(:22)/o/r.git`, `git://github.com/o/r.git`.
 *
 * @param url The remote URL.
 * @returns The host, owner and repository.
 * @throws {SyntaxError} When the URL names no `owner/repo` (the message never shows credentials).
 *
 * @example
 * ```ts
 * import { parseGitHubRemote } from "./github_remote.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseGitHubRemote("git@github.com:acme/deploy.git"), {
 *   host: "github.com", owner: "acme", repo: "deploy",
 * });
 * ```
 */
export function parseGitHubRemote(url: string): GitHubRepository {
  const text = url.trim();
  const fail = () =>
    new SyntaxError(
      `Cannot find the GitHub repository in remote URL "${
        redactUrl(text)
      }": expected https://github.com/<owner>/<repo>.git, git@github.com:<owner>/<repo>.git or ssh://git@github.com/<owner>/<repo>.git`,
    );
  if (/^[a-z+]+:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw fail();
    }
    if (!["https:", "http:", "ssh:", "git:", "git+ssh:"].includes(parsed.protocol)) throw fail();
    const m = PATH_RE.exec(decodeURIComponent(parsed.pathname));
    if (!m || !parsed.hostname || m[2] === "") throw fail();
    return { host: parsed.hostname.toLowerCase(), owner: m[1]!, repo: m[2]! };
  }
  const m = SCP_RE.exec(text);
  if (!m || m[3] === "" || !m[1]!.includes(".")) throw fail();
  return { host: m[1]!.toLowerCase(), owner: m[2]!, repo: m[3]! };
}

/**
 * Parses `owner/name`.
 *
 * @param text The repository's full name.
 * @returns Owner and repository name.
 * @throws {SyntaxError} When the text is not `owner/name`.
 *
 * @example
 * ```ts
 * import { parseRepositoryName } from "./github_remote.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseRepositoryName("acme/deploy"), { owner: "acme", repo: "deploy" });
 * ```
 */
export function parseRepositoryName(text: string): { owner: string; repo: string } {
  const m = new RegExp(`^(${NAME})/(${NAME})$`).exec(text.trim());
  if (!m) throw new SyntaxError(`Cannot parse repository "${text}": expected <owner>/<name>`);
  return { owner: m[1]!, repo: m[2]!.replace(/\.git$/, "") };
}
