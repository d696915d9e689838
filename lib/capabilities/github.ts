/**
 * The `github` capability: report a deploy to GitHub's Deployments API when the
 * environment names a repository and a token is set. Failures to reach GitHub are
 * logged and returned, never thrown: they never fail a deploy.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { DeploymentReporter } from "../release/github_deployments.ts";
import { type Capability, type OpenContext, type Opened, proxiedGrant } from "./types.ts";

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
 * Makes the capability. Without a token it does nothing and says so. The GitHub client
 * (`@octokit/rest`) loads on the first call.
 *
 * @param o The repository (`owner/name`), the token, where to log, the API URL (tests).
 * @returns The capability.
 *
 * @example
 * ```ts
 * import { githubCapability } from "./github.ts";
 * import assert from "node:assert/strict";
 * const github = githubCapability({ repository: "o/r", token: undefined, log: () => {} });
 * assert.equal((await github.start("v1.0.0", "staging")).ok, false);
 * ```
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
  const token = o.token;
  let made: Promise<DeploymentReporter> | undefined;
  const reporter = () =>
    made ??= import("../release/github_deployments.ts").then((m) =>
      m.createDeploymentReporter({
        token,
        repository: o.repository,
        log: o.log,
        ...(o.apiUrl ? { baseUrl: o.apiUrl } : {}),
      })
    );
  const plain = (
    r: { ok: boolean; error?: string },
  ) => (r.ok ? { ok: true } : { ok: false, error: r.error ?? "" });
  return {
    start: async (version, environment) =>
      plain(await (await reporter()).start(version, environment)),
    status: async (state, description) =>
      plain(await (await reporter()).status(state, description)),
  };
}

/**
 * The token of `github.token`, resolved like every capability's secret (an environment
 * variable, or a key of a Kubernetes Secret in the environment's namespace) and
 * registered for redaction; undefined when it is not set here (the capability then says
 * it is not configured), and said in the log when it could not be read.
 */
async function githubToken(env: Environment, ctx: OpenContext): Promise<string | undefined> {
  try {
    return (await ctx.secret(env.github.token)) || undefined;
  } catch (err) {
    // The reason names the reference (a variable, a Secret's key), never a value.
    const why = err instanceof Error ? err.message : String(err);
    ctx.log(`github: github.token cannot be read here (${why}): deploys are not reported`);
    return undefined;
  }
}

/**
 * The `github` registry entry. Its grant is empty (`proxied`). It reports to
 * `github.repository` with the token of `github.token` (`from_env` or
 * `secret_key_ref`, through the opening context's `secret`), at `GITHUB_API_URL` when set.
 *
 * @example
 * ```ts ignore
 * import { github } from "./github.ts";
 * const opened = await github.open!(env, ctx);
 * await opened.api.start("v1.2.4", "staging");
 * ```
 */
export const github: Capability<GitHubCapability> = {
  name: "github",
  summary: "GitHub's Deployments API, held by the runner (never fails a deploy)",
  grant: proxiedGrant,
  secrets: (env) => [{ what: "the GitHub token", ref: env.github.token }],
  async open(env: Environment, ctx): Promise<Opened<GitHubCapability>> {
    const apiUrl = ctx.readEnv("GITHUB_API_URL");
    return {
      api: githubCapability({
        repository: env.github.repository,
        token: await githubToken(env, ctx),
        log: ctx.log,
        ...(apiUrl ? { apiUrl } : {}),
      }),
    };
  },
};
