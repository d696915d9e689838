/**
 * Which GitHub repository a release goes to: the one given, else the one the git
 * remote's URL names, with its API root.
 * @module
 */
import { ReleaseRefusedError } from "./errors.ts";
import { parseGitHubRemote, parseRepositoryName } from "./github_remote.ts";

/** The GitHub repository a release goes to, and its API root. */
export interface ResolvedRepository {
  owner: string;
  repo: string;
  apiUrl: string;
}

/**
 * Finds the GitHub repository: `repository` when given, else from the remote's URL.
 * The API root is `apiUrl` when given, `https://api.github.com` for github.com, and
 * `https://<host>/api/v3` for a GitHub Enterprise host.
 */
export function resolveRepository(
  remoteUrl: string,
  options: { repository?: string; apiUrl?: string },
): ResolvedRepository {
  try {
    if (options.repository !== undefined) {
      const { owner, repo } = parseRepositoryName(options.repository);
      return { owner, repo, apiUrl: options.apiUrl ?? "https://api.github.com" };
    }
    const { host, owner, repo } = parseGitHubRemote(remoteUrl);
    const apiUrl = options.apiUrl ??
      (host === "github.com" ? "https://api.github.com" : `https://${host}/api/v3`);
    return { owner, repo, apiUrl };
  } catch (error) {
    throw new ReleaseRefusedError(
      `Cannot release to GitHub: ${
        (error as Error).message
      }; pass --repository <owner>/<name> or --no-github`,
      { cause: error },
    );
  }
}
