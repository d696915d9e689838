/**
 * Semantic versions as release tags use them: `vMAJOR.MINOR.PATCH` with an
 * optional pre-release `-<id>.<n>` (for example `v1.3.0-rc.2`). Dependency-free,
 * so the deploy runner can reuse {@linkcode parseVersion} for its arguments.
 *
 * @module
 */

/** A parsed version. `pre` is present only for pre-releases. */
export interface Version {
  /** Incompatible API changes. */
  major: number;
  /** Backward-compatible features. */
  minor: number;
  /** Backward-compatible fixes. */
  patch: number;
  /** The pre-release part, e.g. `{ id: "rc", n: 2 }` for `-rc.2`. */
  pre?: { id: string; n: number };
}

/** The part of a version a release bumps. */
export type BumpKind = "major" | "minor" | "patch";

/** The bump kinds, in order of significance. */
export const BUMP_KINDS: readonly BumpKind[] = ["major", "minor", "patch"];

const NUMBER = "(0|[1-9][0-9]*)";
const VERSION_RE = new RegExp(
  `^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-([0-9A-Za-z][0-9A-Za-z-]*)\\.${NUMBER})?$`,
);
const PRE_ID_RE = /^[A-Za-z][0-9A-Za-z-]*$/;

/**
 * Parses `vX.Y.Z`, `X.Y.Z`, `vX.Y.Z-id.N` or `X.Y.Z-id.N`.
 *
 * @param text The version text.
 * @returns The parsed version.
 * @throws {SyntaxError} When the text is not such a version.
 *
 * @example Parse a pre-release tag
 * ```ts
 * import { parseVersion } from "./semver.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseVersion("v1.3.0-rc.2"), {
 *   major: 1, minor: 3, patch: 0, pre: { id: "rc", n: 2 },
 * });
 * ```
 */
export function parseVersion(text: string): Version {
  const m = VERSION_RE.exec(text.trim());
  if (!m) {
    throw new SyntaxError(
      `Cannot parse version "${text}": expected vMAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH-<id>.<n>`,
    );
  }
  const [, major, minor, patch, preId, preN] = m;
  const parts = [major, minor, patch].map(Number);
  for (const part of parts) {
    if (!Number.isSafeInteger(part)) {
      throw new SyntaxError(`Cannot parse version "${text}": number too large`);
    }
  }
  const version: Version = { major: parts[0]!, minor: parts[1]!, patch: parts[2]! };
  if (preId !== undefined && preN !== undefined) {
    if (!PRE_ID_RE.test(preId)) {
      throw new SyntaxError(
        `Cannot parse version "${text}": pre-release id "${preId}" must start with a letter`,
      );
    }
    version.pre = { id: preId, n: Number(preN) };
  }
  return version;
}

/**
 * Formats a version, with the `v` prefix unless `prefix: ""` is given.
 *
 * @param version The version.
 * @param options `prefix` defaults to `"v"`.
 * @returns The version text, e.g. `v1.3.0-rc.1`.
 *
 * @example
 * ```ts
 * import { formatVersion } from "./semver.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatVersion({ major: 2, minor: 0, patch: 1 }), "v2.0.1");
 * assert.equal(formatVersion({ major: 2, minor: 0, patch: 1 }, { prefix: "" }), "2.0.1");
 * ```
 */
export function formatVersion(version: Version, options: { prefix?: string } = {}): string {
  const core = `${options.prefix ?? "v"}${version.major}.${version.minor}.${version.patch}`;
  return version.pre ? `${core}-${version.pre.id}.${version.pre.n}` : core;
}

/**
 * Compares two versions by semver precedence (a pre-release sorts before its release;
 * pre-release ids compare as ASCII, then their numbers).
 *
 * @param a The first version.
 * @param b The second version.
 * @returns A negative number, zero or a positive number.
 *
 * @example
 * ```ts
 * import { compareVersions, parseVersion } from "./semver.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(compareVersions(parseVersion("1.3.0-rc.1"), parseVersion("1.3.0")) < 0);
 * ```
 */
export function compareVersions(a: Version, b: Version): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return core;
  if (!a.pre || !b.pre) return (a.pre ? -1 : 0) - (b.pre ? -1 : 0);
  if (a.pre.id !== b.pre.id) return a.pre.id < b.pre.id ? -1 : 1;
  return a.pre.n - b.pre.n;
}

/** Options for {@linkcode bumpVersion}. */
export interface BumpOptions {
  /** Make a pre-release with this id (e.g. `rc`): `-rc.1`, then `-rc.2`, ... */
  pre?: string;
}

/**
 * Computes the next version.
 *
 * From a release, the bump applies and `pre` starts at `.1`. From a pre-release
 * whose version already carries the bump (e.g. `1.3.0-rc.1` and `minor`), the
 * same version continues: `rc.2` with the same `pre` id, `<id>.1` with a new id,
 * and the release itself without `pre` (as npm's `semver.inc` does).
 *
 * @param current The current version (v0.0.0 when there is none).
 * @param kind `major`, `minor` or `patch`.
 * @param options `pre` for a pre-release.
 * @returns The next version.
 * @throws {TypeError} When `kind` or `pre` is invalid.
 * @throws {RangeError} When the result would not be newer (e.g. `rc.2` to `beta.1`).
 *
 * @example
 * ```ts
 * import { bumpVersion, formatVersion, parseVersion } from "./semver.ts";
 * import assert from "node:assert/strict";
 *
 * const rc1 = bumpVersion(parseVersion("v1.2.4"), "minor", { pre: "rc" });
 * assert.equal(formatVersion(rc1), "v1.3.0-rc.1");
 * assert.equal(formatVersion(bumpVersion(rc1, "minor", { pre: "rc" })), "v1.3.0-rc.2");
 * assert.equal(formatVersion(bumpVersion(rc1, "minor")), "v1.3.0");
 * ```
 */
export function bumpVersion(current: Version, kind: BumpKind, options: BumpOptions = {}): Version {
  if (!BUMP_KINDS.includes(kind)) {
    throw new TypeError(
      `Cannot bump version: unknown kind "${kind}" (expected major, minor or patch)`,
    );
  }
  const { pre } = options;
  if (pre !== undefined && !PRE_ID_RE.test(pre)) {
    throw new TypeError(
      `Cannot bump version: pre-release id "${pre}" must be letters, digits or "-", starting with a letter`,
    );
  }
  const { major, minor, patch } = current;
  const carriesBump = current.pre !== undefined && (
    kind === "patch" || (kind === "minor" && patch === 0) ||
    (kind === "major" && minor === 0 && patch === 0)
  );
  let next: Version;
  if (carriesBump) {
    next = { major, minor, patch };
  } else if (kind === "major") {
    next = { major: major + 1, minor: 0, patch: 0 };
  } else if (kind === "minor") {
    next = { major, minor: minor + 1, patch: 0 };
  } else {
    next = { major, minor, patch: patch + 1 };
  }
  if (pre !== undefined) {
    const n = carriesBump && current.pre?.id === pre ? current.pre.n + 1 : 1;
    next.pre = { id: pre, n };
  }
  if (compareVersions(next, current) <= 0) {
    throw new RangeError(
      `Cannot bump version ${formatVersion(current)}: ${formatVersion(next)} would not be newer`,
    );
  }
  return next;
}
