/**
 * The `github` capability: report a deploy to GitHub's Deployments API when the
 * environment names a repository and a token is set. Every request is retried (network
 * errors, timeouts, 5xx, 429 and 403 rate limits, honouring `Retry-After`; a 4xx that is
 * the caller's fault is not) with jittered exponential backoff on the run's clock, a
 * deadline per attempt; a status that still failed comes back as a result naming what it
 * was and its attempts — never thrown, never a deploy's failure, and never dropped
 * silently: the stages list it in their output's `undelivered`. Operations run one after
 * the other, so a final status never overtakes the deployment's creation.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { DeploymentReporter } from "../release/github_deployments.ts";
import { type Clock, realClock } from "../clock/clock.ts";
import { deliver, type RetryPolicy } from "../notify/retry.ts";
import { type Capability, type OpenContext, type Opened, proxiedGrant } from "./types.ts";

/**
 * What one operation came to: `{ ok: true }` when it arrived, else what it was, its attempts
 * and why not.
 *
 * @example
 * ```ts
 * import type { GitHubOutcome } from "./github.ts";
 * const lost: GitHubOutcome = {
 *   ok: false,
 *   what: "deployment status: success",
 *   attempts: 4,
 *   error: "Cannot post deployment status \"success\" to o/r: GitHub is unreachable (timed out after 10000 ms)",
 * };
 * ```
 */
export interface GitHubOutcome {
  /** It arrived. */
  ok: boolean;
  /** What did not arrive: `deployment status: <state>` (or `deployment: <version> to <env>`). */
  what?: string;
  /** Attempts the failing request took. */
  attempts?: number;
  /** Why not, when not (secrets never in it). */
  error?: string;
  /** Nothing was meant to be sent here (no token): not a lost message. */
  skipped?: boolean;
}

/**
 * What a stage can ask of GitHub.
 *
 * @example
 * ```ts ignore
 * const r = await ctx.use<GitHubCapability>("github").status("success", "v1.2.4 deployed");
 * if (!r.ok && !r.skipped) console.log(`${r.what}: ${r.attempts} attempt(s): ${r.error}`);
 * ```
 */
export interface GitHubCapability {
  /** Creates the deployment and marks it in progress. */
  start(version: string, environment: string): Promise<GitHubOutcome>;
  /**
   * Posts `success` or `failure` (or `in_progress`) with a description; when the
   * deployment could not be created at the start, it is created first.
   */
  status(
    state: "in_progress" | "success" | "failure",
    description: string,
  ): Promise<GitHubOutcome>;
}

/**
 * Options of {@linkcode githubCapability}.
 *
 * @example
 * ```ts
 * import type { GitHubCapabilityOptions } from "./github.ts";
 * const o: GitHubCapabilityOptions = { repository: "o/r", token: undefined, log: () => {} };
 * ```
 */
export interface GitHubCapabilityOptions {
  /** `owner/name`. */
  repository: string;
  /** The token (a secret); without it nothing is sent. */
  token: string | undefined;
  /** Where failures are logged (no secrets). */
  log: (line: string) => void;
  /** The API root (tests; GitHub Enterprise). */
  apiUrl?: string | undefined;
  /** The clock the waits between attempts are on (default real time). */
  clock?: Clock | undefined;
  /** How hard each request tries (default `DEFAULT_RETRY`: 4 attempts of 10 s). */
  retry?: Partial<RetryPolicy> | undefined;
  /** The fetch (default the global one). */
  fetch?: typeof fetch | undefined;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  random?: (() => number) | undefined;
}

/** A fetch that retries as `retry.ts` says, and counts the attempts of the last request. */
function retryingFetch(
  o: GitHubCapabilityOptions,
  counter: { attempts: number },
): typeof fetch {
  return async (input, init) => {
    const d = await deliver(input, init ?? {}, {
      policy: o.retry,
      clock: o.clock,
      fetch: o.fetch,
      random: o.random,
      signal: init?.signal ?? undefined,
    });
    counter.attempts = d.attempts;
    if (d.response) return d.response;
    throw new Error(`${d.error ?? "no answer"} (${d.attempts} attempt(s))`);
  };
}

/** The whole budget of one request: every attempt's deadline and the longest waits. */
function budgetMs(policy: Partial<RetryPolicy> | undefined): number {
  const attempts = policy?.attempts ?? 4;
  return attempts * (policy?.timeoutMs ?? 10_000) +
    (attempts - 1) * Math.max(policy?.maxDelayMs ?? 30_000, policy?.maxRetryAfterMs ?? 120_000) +
    5_000;
}

/**
 * Makes the capability. Without a token it does nothing and says so. The GitHub client
 * (`@octokit/rest`) loads on the first call.
 *
 * @param o The repository (`owner/name`), the token, where to log, the API URL (tests),
 *   the clock and retry policy.
 * @returns The capability.
 *
 * @example
 * ```ts
 * import { githubCapability } from "./github.ts";
 * import assert from "node:assert/strict";
 * const github = githubCapability({ repository: "o/r", token: undefined, log: () => {} });
 * const r = await github.start("v1.0.0", "staging");
 * assert.equal(r.ok, false);
 * assert.equal(r.skipped, true);
 * ```
 */
export function githubCapability(o: GitHubCapabilityOptions): GitHubCapability {
  if (!o.token) {
    const skipped = {
      ok: false,
      skipped: true,
      error: "GitHub is not configured here (no token): not reported",
    };
    return { start: () => Promise.resolve(skipped), status: () => Promise.resolve(skipped) };
  }
  const token = o.token;
  const counter = { attempts: 0 };
  let made: Promise<DeploymentReporter> | undefined;
  const reporter = () =>
    made ??= (o.clock ?? realClock).track(
      "loading the GitHub client",
      import("../release/github_deployments.ts"),
    ).then((m) =>
      m.createDeploymentReporter({
        token,
        repository: o.repository,
        log: o.log,
        fetch: retryingFetch(o, counter),
        timeoutMs: budgetMs(o.retry),
        ...(o.apiUrl ? { baseUrl: o.apiUrl } : {}),
      })
    );
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = queue.then(op, op);
    queue = next.catch(() => {});
    return next;
  };
  let started: { version: string; environment: string } | undefined;
  const outcome = (
    r: { ok: boolean; error?: string },
    what: string,
  ): GitHubOutcome =>
    r.ok
      ? { ok: true }
      : { ok: false, what, attempts: counter.attempts, error: r.error ?? "not delivered" };
  const start = async (version: string, environment: string): Promise<GitHubOutcome> => {
    started = { version, environment };
    counter.attempts = 0;
    const rep = await reporter();
    const r = await rep.start(version, environment);
    return outcome(
      r,
      rep.deploymentId === undefined
        ? `deployment: ${version} to ${environment}`
        : "deployment status: in_progress",
    );
  };
  return {
    start: (version, environment) => serial(() => start(version, environment)),
    status: (state, description) =>
      serial(async () => {
        const rep = await reporter();
        if (rep.deploymentId === undefined && started) {
          // The start did not get through: create the deployment now, then its status.
          const again = await start(started.version, started.environment);
          if (rep.deploymentId === undefined) {
            return { ...again, what: `deployment status: ${state}` };
          }
        }
        counter.attempts = 0;
        return outcome(await rep.status(state, description), `deployment status: ${state}`);
      }),
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
 * `secret_key_ref`, through the opening context's `secret`), at `GITHUB_API_URL` when set;
 * one attempt may take `external_services.webhook_timeout` (real time), and the waits
 * between attempts are on the run's clock.
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
    const timeoutMs = env.external_services?.webhook_timeout?.ms;
    return {
      api: githubCapability({
        repository: env.github.repository,
        token: await githubToken(env, ctx),
        log: ctx.log,
        clock: ctx.clock,
        ...(timeoutMs ? { retry: { timeoutMs } } : {}),
        ...(apiUrl ? { apiUrl } : {}),
      }),
    };
  },
};
