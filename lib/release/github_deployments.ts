/**
 * Reports a deploy to GitHub's Deployments API: one deployment for the version
 * tag and environment, then statuses as the run goes. Every failure to reach
 * GitHub is returned and logged, never thrown: GitHub being down must not fail
 * a deploy.
 *
 * @module
 */
import { createGitHubClient, describeGitHubError, withTimeout } from "./github_client.ts";
import { parseRepositoryName } from "./github_remote.ts";
import { formatVersion, parseVersion } from "./semver.ts";

/** The states a deployment status can have (GitHub's enum). */
export type DeploymentState =
  | "error"
  | "failure"
  | "inactive"
  | "in_progress"
  | "queued"
  | "pending"
  | "success";

/** The outcome of one report: never an exception. */
export type ReportOutcome =
  | { ok: true; id: number }
  | { ok: false; error: string };

/** Options for {@linkcode createDeploymentReporter}. */
export interface DeploymentReporterOptions {
  /** A token with `deployments: write`. Never printed. */
  token: string;
  /** `owner/name`. */
  repository: string;
  /** The API root; defaults to `https://api.github.com`. */
  baseUrl?: string;
  /** A fetch implementation (a stand-in in tests). */
  fetch?: typeof fetch;
  /** Where failures are logged (default `console.warn`). */
  log?: (line: string) => void;
  /** Time allowed per request (default 10 s), so a hanging GitHub cannot stall a deploy. */
  timeoutMs?: number;
}

/** Options for {@linkcode DeploymentReporter.start}. */
export interface StartOptions {
  /** A short description (GitHub allows 140 characters). */
  description?: string;
  /** Whether the environment is a production one. */
  productionEnvironment?: boolean;
  /** The run's log or report URL. */
  logUrl?: string;
  /** The deployed environment's URL. */
  environmentUrl?: string;
}

/** Options for {@linkcode DeploymentReporter.status}. */
export interface StatusOptions {
  /** The run's log or report URL. */
  logUrl?: string;
  /** The deployed environment's URL. */
  environmentUrl?: string;
}

/** Reports one deploy run to GitHub. */
export interface DeploymentReporter {
  /**
   * Creates the deployment (ref = the version tag, `auto_merge: false`,
   * `required_contexts: []`) and posts `in_progress`.
   */
  start(version: string, environment: string, options?: StartOptions): Promise<ReportOutcome>;
  /** Posts a status on the deployment `start` created. */
  status(
    state: DeploymentState,
    description: string,
    options?: StatusOptions,
  ): Promise<ReportOutcome>;
  /** The deployment's id, once `start` succeeded. */
  readonly deploymentId: number | undefined;
}

const STATES: readonly DeploymentState[] = [
  "error",
  "failure",
  "inactive",
  "in_progress",
  "queued",
  "pending",
  "success",
];

function clip(text: string): string {
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`;
}

/**
 * Creates a reporter for one deploy run.
 *
 * @param options Token, repository, and optionally API root, fetch, log and timeout.
 * @returns The reporter.
 *
 * @example Invalid input is an outcome, not an exception
 * ```ts
 * import { createDeploymentReporter } from "./github_deployments.ts";
 * import assert from "node:assert/strict";
 *
 * const reporter = createDeploymentReporter({
 *   token: "t", repository: "o/r", log: () => {},
 * });
 * const outcome = await reporter.status("success", "done");
 * assert.equal(outcome.ok, false);
 * ```
 */
export function createDeploymentReporter(options: DeploymentReporterOptions): DeploymentReporter {
  const log = options.log ?? ((line: string) => console.warn(line));
  const timeoutMs = options.timeoutMs ?? 10_000;
  let repository: { owner: string; repo: string } | undefined;
  let setupError: string | undefined;
  try {
    repository = parseRepositoryName(options.repository);
  } catch (error) {
    setupError = (error as Error).message;
  }
  const client = createGitHubClient({
    token: options.token,
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  let deploymentId: number | undefined;
  let environmentName: string | undefined;

  const fail = (error: string): ReportOutcome => {
    log(`github deployments: ${error}`);
    return { ok: false, error };
  };

  async function postStatus(
    state: DeploymentState,
    description: string,
    extra: StatusOptions,
  ): Promise<ReportOutcome> {
    if (!STATES.includes(state)) {
      return fail(`Cannot post deployment status: unknown state "${state}"`);
    }
    if (!repository || deploymentId === undefined) {
      return fail(`Cannot post deployment status "${state}": no deployment was created`);
    }
    const id = deploymentId;
    const where = repository;
    try {
      const response = await withTimeout(
        timeoutMs,
        (signal) =>
          client.rest.repos.createDeploymentStatus({
            ...where,
            deployment_id: id,
            state,
            description: clip(description),
            ...(environmentName === undefined ? {} : { environment: environmentName }),
            ...(extra.logUrl === undefined ? {} : { log_url: extra.logUrl }),
            ...(extra.environmentUrl === undefined
              ? {}
              : { environment_url: extra.environmentUrl }),
            auto_inactive: true,
            request: { signal },
          }),
      );
      return { ok: true, id: response.data.id };
    } catch (error) {
      return fail(
        describeGitHubError(error, `post deployment status "${state}" to ${options.repository}`)
          .message,
      );
    }
  }

  return {
    get deploymentId() {
      return deploymentId;
    },
    async start(version, environment, startOptions = {}) {
      if (setupError !== undefined || !repository) return fail(setupError ?? "no repository");
      let ref: string;
      try {
        ref = formatVersion(parseVersion(version));
      } catch (error) {
        return fail((error as Error).message);
      }
      const where = repository;
      try {
        const response = await withTimeout(
          timeoutMs,
          (signal) =>
            client.rest.repos.createDeployment({
              ...where,
              ref,
              environment,
              auto_merge: false,
              required_contexts: [],
              description: clip(startOptions.description ?? `Deploy ${ref} to ${environment}`),
              production_environment: startOptions.productionEnvironment ?? false,
              payload: { version: ref },
              request: { signal },
            }),
        );
        const data = response.data as { id?: unknown; message?: unknown };
        if (response.status !== 201 || typeof data.id !== "number") {
          return fail(
            `Cannot create deployment of ${ref} to ${environment} in ${options.repository}: GitHub answered ${response.status} (${
              String(data.message ?? "no deployment")
            })`,
          );
        }
        deploymentId = data.id;
        environmentName = environment;
      } catch (error) {
        return fail(
          describeGitHubError(
            error,
            `create deployment of ${ref} to ${environment} in ${options.repository}`,
          ).message,
        );
      }
      const statusOptions: StatusOptions = {};
      if (startOptions.logUrl !== undefined) statusOptions.logUrl = startOptions.logUrl;
      if (startOptions.environmentUrl !== undefined) {
        statusOptions.environmentUrl = startOptions.environmentUrl;
      }
      const progress = await postStatus("in_progress", `Deploying ${ref}`, statusOptions);
      return progress.ok ? { ok: true, id: deploymentId } : progress;
    },
    status(state, description, statusOptions = {}) {
      return postStatus(state, description, statusOptions);
    },
  };
}
