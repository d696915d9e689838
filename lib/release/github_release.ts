/**
 * GitHub releases, idempotently: check access before anything changes, then
 * create the release for a tag, update it when it differs, or leave it alone.
 *
 * @module
 */
import type { Octokit } from "@octokit/rest";
import { ReleaseFailedError, ReleaseRefusedError } from "./errors.ts";
import { describeGitHubError, withTimeout } from "./github_client.ts";

/** The default time allowed for one GitHub request. */
const GITHUB_TIMEOUT_MS = 30_000;

/** A repository on GitHub. */
export interface RepositoryRef {
  /** The owner. */
  owner: string;
  /** The repository name. */
  repo: string;
}

/**
 * Checks that the token can read the repository and push to it, before the release
 * changes anything.
 *
 * @param client The Octokit client.
 * @param repository Owner and name.
 * @param options `timeoutMs` per request.
 * @throws {ReleaseRefusedError} On 401, 403, 404 or a token without push permission.
 * @throws {ReleaseFailedError} When GitHub cannot be reached or answers otherwise.
 *
 * @example
 * ```ts ignore
 * await checkRepositoryAccess(client, { owner: "o", repo: "r" });
 * ```
 */
export async function checkRepositoryAccess(
  client: Octokit,
  repository: RepositoryRef,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const name = `${repository.owner}/${repository.repo}`;
  let data: { permissions?: { push?: boolean } };
  try {
    const response = await withTimeout(
      options.timeoutMs ?? GITHUB_TIMEOUT_MS,
      (signal) => client.rest.repos.get({ ...repository, request: { signal } }),
    );
    data = response.data;
  } catch (error) {
    const failure = describeGitHubError(error, `read GitHub repository ${name}`);
    if (failure.kind === "network" || failure.kind === "other") {
      throw new ReleaseFailedError(failure.message, { cause: error });
    }
    throw new ReleaseRefusedError(failure.message, { cause: error });
  }
  if (data.permissions && data.permissions.push !== true) {
    throw new ReleaseRefusedError(
      `Cannot release to GitHub repository ${name}: the token has no push permission there`,
    );
  }
}

/** The release to make. */
export interface ReleaseSpec extends RepositoryRef {
  /** The tag, e.g. `v1.3.0`. */
  tag: string;
  /** The release title. */
  name: string;
  /** The notes (Markdown). */
  body: string;
  /** Whether it is a pre-release (then it is not marked latest). */
  prerelease: boolean;
}

/** What {@linkcode ensureRelease} did. */
export interface EnsureReleaseResult {
  /** `created`, `updated` (it existed with other content) or `unchanged`. */
  action: "created" | "updated" | "unchanged";
  /** The release's id. */
  id: number;
  /** The release's page. */
  url: string;
}

/**
 * Makes sure the GitHub release for a tag exists with the given content: creates it
 * when missing, updates it when it differs, else leaves it alone. Safe to repeat.
 *
 * @param client The Octokit client.
 * @param spec The release.
 * @param options `timeoutMs` per request.
 * @returns What was done.
 * @throws {ReleaseFailedError} On any GitHub error (401, 403, 422, network down, ...).
 *
 * @example
 * ```ts ignore
 * const result = await ensureRelease(client, {
 *   owner: "o", repo: "r", tag: "v1.3.0", name: "Release v1.3.0", body: "...", prerelease: false,
 * });
 * ```
 */
export async function ensureRelease(
  client: Octokit,
  spec: ReleaseSpec,
  options: { timeoutMs?: number } = {},
): Promise<EnsureReleaseResult> {
  const timeoutMs = options.timeoutMs ?? GITHUB_TIMEOUT_MS;
  const { owner, repo, tag } = spec;
  const where = `${owner}/${repo}`;
  let existing: {
    id: number;
    name: string | null;
    body?: string | null;
    prerelease: boolean;
    html_url: string;
  } | undefined;
  try {
    const response = await withTimeout(
      timeoutMs,
      (signal) => client.rest.repos.getReleaseByTag({ owner, repo, tag, request: { signal } }),
    );
    existing = response.data;
  } catch (error) {
    const failure = describeGitHubError(error, `look up GitHub release ${tag} in ${where}`);
    if (failure.kind !== "not_found") {
      throw new ReleaseFailedError(failure.message, { cause: error });
    }
  }
  const makeLatest = spec.prerelease ? "false" : "true";
  try {
    if (existing === undefined) {
      const response = await withTimeout(timeoutMs, (signal) =>
        client.rest.repos.createRelease({
          owner,
          repo,
          tag_name: tag,
          name: spec.name,
          body: spec.body,
          draft: false,
          prerelease: spec.prerelease,
          make_latest: makeLatest,
          request: { signal },
        }));
      return { action: "created", id: response.data.id, url: response.data.html_url };
    }
    if (
      existing.name === spec.name && (existing.body ?? "") === spec.body &&
      existing.prerelease === spec.prerelease
    ) {
      return { action: "unchanged", id: existing.id, url: existing.html_url };
    }
    const id = existing.id;
    const response = await withTimeout(timeoutMs, (signal) =>
      client.rest.repos.updateRelease({
        owner,
        repo,
        release_id: id,
        name: spec.name,
        body: spec.body,
        prerelease: spec.prerelease,
        request: { signal },
      }));
    return { action: "updated", id: response.data.id, url: response.data.html_url };
  } catch (error) {
    const verb = existing === undefined ? "create" : "update";
    const failure = describeGitHubError(error, `${verb} GitHub release ${tag} in ${where}`);
    throw new ReleaseFailedError(failure.message, { cause: error });
  }
}
