/**
 * Versions on the command line: `v1.2.4` and `1.2.4` name the same release.
 * @module
 */
import { parseVersion } from "../release/semver.ts";
import type { Version } from "../dsl/types.ts";
import { InputError } from "./errors.ts";

/**
 * Parses a version argument.
 *
 * @param text `v1.2.4`, `1.2.4` or a pre-release such as `v1.3.0-rc.1`.
 * @returns The version, with its bare (`1.2.4`) and tag (`v1.2.4`) forms.
 * @throws {InputError} When the text is not a semantic version.
 *
 * @example
 * ```ts
 * import { versionArgument } from "./version.ts";
 * import assert from "node:assert/strict";
 * assert.equal(versionArgument("v1.2.4").version, "1.2.4");
 * assert.equal(versionArgument("1.2.4").tag, "v1.2.4");
 * ```
 */
export function versionArgument(text: string): Version {
  try {
    const v = parseVersion(text);
    const pre = v.pre ? `${v.pre.id}.${v.pre.n}` : undefined;
    const bare = `${v.major}.${v.minor}.${v.patch}${pre ? `-${pre}` : ""}`;
    return {
      version: bare,
      tag: `v${bare}`,
      major: v.major,
      minor: v.minor,
      patch: v.patch,
      ...(pre ? { prerelease: pre } : {}),
    };
  } catch {
    throw new InputError(
      `Invalid version "${text}": expected a semantic version such as v1.2.4 or 1.2.4 (pre-releases: v1.3.0-rc.1)`,
    );
  }
}
