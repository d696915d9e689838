/**
 * Release management: semantic versions, release notes from conventional commits,
 * CHANGELOG.md, annotated tags, GitHub releases, and a GitHub Deployments reporter
 * for the deploy pipeline. The Octokit-level helpers (`github_client.ts`,
 * `github_release.ts`) and the git wrapper (`git.ts`) are importable directly.
 *
 * ```ts
 * import { bumpVersion, formatVersion, parseVersion } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatVersion(bumpVersion(parseVersion("v1.2.4"), "patch")), "v1.2.5");
 * ```
 *
 * @module
 */
export * from "./semver.ts";
export * from "./errors.ts";
export * from "./conventional.ts";
export * from "./notes.ts";
export * from "./github_remote.ts";
export { describeGitHubError, type GitHubFailure } from "./github_client.ts";
export type { EnsureReleaseResult, ReleaseSpec, RepositoryRef } from "./github_release.ts";
export * from "./github_deployments.ts";
export * from "./release.ts";
