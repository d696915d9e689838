/**
 * Octokit set up for the release tool and the deployment reporter, and GitHub
 * errors turned into messages that say what to do.
 *
 * @module
 */
import { TOOL_NAME } from "../product/mod.ts";
import { Octokit } from "@octokit/rest";

/** Options for {@linkcode createGitHubClient}. */
export interface GitHubClientOptions {
  /** A token with `contents: write` (releases) and `deployments: write`. Never printed. */
  token: string;
  /** The API root; defaults to `https://api.github.com`. */
  baseUrl?: string;
  /** A fetch implementation (a stand-in in tests). */
  fetch?: typeof fetch;
}

/**
 * Creates an Octokit client. Octokit's own logging goes nowhere (its messages could
 * echo request details); errors reach the caller as exceptions.
 *
 * @param options Token, API root and fetch.
 * @returns The client.
 *
 * @example
 * ```ts
 * import { createGitHubClient } from "./github_client.ts";
 * import assert from "node:assert/strict";
 *
 * const client = createGitHubClient({ token: "t", baseUrl: "http://127.0.0.1:9" });
 * assert.equal(typeof client.rest.repos.createRelease, "function");
 * ```
 */
export function createGitHubClient(options: GitHubClientOptions): Octokit {
  const quiet = () => {};
  return new Octokit({
    auth: options.token,
    baseUrl: options.baseUrl ?? "https://api.github.com",
    userAgent: TOOL_NAME,
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    request: options.fetch ? { fetch: options.fetch } : {},
  });
}

/** What went wrong talking to GitHub. */
export interface GitHubFailure {
  /** `network` when no HTTP answer came back; else by status. */
  kind: "unauthorized" | "forbidden" | "not_found" | "validation" | "network" | "other";
  /** The HTTP status, when GitHub answered. */
  status?: number;
  /** A message naming the action, the answer and what to do. */
  message: string;
}

interface ErrorLike {
  status?: unknown;
  message?: unknown;
  response?: { data?: unknown };
  cause?: unknown;
}

function githubMessage(data: unknown): string {
  if (typeof data !== "object" || data === null) return "";
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  let text = typeof message === "string" ? message : "";
  if (Array.isArray(errors)) {
    const details = errors.map((e) => {
      if (typeof e === "string") return e;
      const { resource, field, code, message } = e as Record<string, unknown>;
      return typeof message === "string" ? message : [resource, field, code].filter(Boolean)
        .join(" ");
    }).filter((d) => d !== "");
    if (details.length > 0) text += `: ${details.join("; ")}`;
  }
  return text;
}

/**
 * Describes an error thrown by an Octokit call.
 *
 * @param error What Octokit threw.
 * @param action What was being done, e.g. `create release v1.3.0 in o/r`.
 * @returns The kind, status and message.
 *
 * @example
 * ```ts
 * import { describeGitHubError } from "./github_client.ts";
 * import assert from "node:assert/strict";
 *
 * const failure = describeGitHubError(
 *   { status: 401, response: { data: { message: "Bad credentials" } } },
 *   "read o/r",
 * );
 * assert.equal(failure.kind, "unauthorized");
 * assert.match(failure.message, /^Cannot read o\/r: GitHub answered 401 \(Bad credentials\)/);
 * ```
 */
export function describeGitHubError(error: unknown, action: string): GitHubFailure {
  const e = (typeof error === "object" && error !== null ? error : {}) as ErrorLike;
  const status = typeof e.status === "number" ? e.status : undefined;
  if (e.response === undefined || status === undefined) {
    // Octokit puts the most specific cause of a failed fetch in its message.
    const detail = typeof e.message === "string" && e.message !== ""
      ? e.message
      : e.cause instanceof Error
      ? e.cause.message
      : String(error);
    return {
      kind: "network",
      message: `Cannot ${action}: GitHub is unreachable (${detail})`,
    };
  }
  const said = githubMessage(e.response.data) ||
    (typeof e.message === "string" ? e.message : "");
  const answer = `GitHub answered ${status}${said ? ` (${said})` : ""}`;
  if (status === 401) {
    return {
      kind: "unauthorized",
      status,
      message: `Cannot ${action}: ${answer}: the token is invalid or expired; check GITHUB_TOKEN`,
    };
  }
  if (status === 403) {
    return {
      kind: "forbidden",
      status,
      message:
        `Cannot ${action}: ${answer}: the token lacks permission (it needs contents: write and deployments: write) or a rate limit was hit`,
    };
  }
  if (status === 404) {
    return {
      kind: "not_found",
      status,
      message:
        `Cannot ${action}: ${answer}: the repository does not exist or the token cannot see it`,
    };
  }
  if (status === 422) {
    return { kind: "validation", status, message: `Cannot ${action}: ${answer}` };
  }
  return { kind: "other", status, message: `Cannot ${action}: ${answer}` };
}

/**
 * Runs `fn` with an abort signal that fires after `ms` milliseconds, clearing the
 * timer afterwards.
 *
 * @param ms The timeout.
 * @param fn The work, given the signal.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./github_client.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await withTimeout(1000, (signal) => Promise.resolve(signal.aborted)), false);
 * ```
 */
export async function withTimeout<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")),
    ms,
  );
  try {
    return await fn(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
