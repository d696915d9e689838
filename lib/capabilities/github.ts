/**
 * The `github` capability: report a deploy to GitHub's Deployments API when the
 * environment names a repository and a token is set. Failures to reach GitHub are
 * logged and returned, never thrown: they never fail a deploy.
 * @module
 */
import { createDeploymentReporter } from "../release/github_deployments.ts";

/** What a stage can ask of GitHub. */
export interface GitHubCapability {
  /** Creates the deployment and marks it in progress. */
  start(version: string, environment: string): Promise<{ ok: boolean; error?: string }>;
  /** Posts `success` or `failure` (or `in_progress`) with a description. */
  status(
    state: "in_progress" | "success" | "failure",
    description: string,
  ): Promise<{ ok: boolean; error?: string }>;
}

/**
 * Makes the capability. Without a token it does nothing and says so.
 *
 * @param o The repository (`owner/name`), the token, where to log, the API URL (tests).
 */
export function githubCapability(
  o: {
    repository: string;
    token: string | undefined;
    log: (line: string) => void;
    apiUrl?: string;
  },
): GitHubCapability {
  if (!o.token) {
    const skipped = { ok: false, error: "GitHub is not configured here (no token): not reported" };
    return { start: () => Promise.resolve(skipped), status: () => Promise.resolve(skipped) };
  }
  const reporter = createDeploymentReporter({
    token: o.token,
    repository: o.repository,
    log: o.log,
    ...(o.apiUrl ? { baseUrl: o.apiUrl } : {}),
  });
  const plain = (
    r: { ok: boolean; error?: string },
  ) => (r.ok ? { ok: true } : { ok: false, error: r.error ?? "" });
  return {
    start: async (version, environment) => plain(await reporter.start(version, environment)),
    status: async (state, description) => plain(await reporter.status(state, description)),
  };
}
