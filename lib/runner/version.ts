/**
 * Versions on the command line: `v1.2.4` and `1.2.4` name the same release.
 *
 * The grammar is the release tags' (`lib/release/semver.ts`): `MAJOR.MINOR.PATCH` with an
 * optional `v` and an optional pre-release `-<id>.<n>` (`v1.3.0-rc.1`). Every number is a
 * decimal without leading zeros and at most `Number.MAX_SAFE_INTEGER`, so the tag written
 * to the cluster is exactly the text given (never `v1.0.0-rc.1e+23`).
 * @module
 */
import { parseVersion } from "../release/semver.ts";
import type { Version } from "../dsl/types.ts";
import { InputError } from "./errors.ts";
import { shortInput } from "../config/config_error.ts";

export type { Version };

const EXPECTED = "expected a semantic version such as v1.2.4 or 1.2.4 (pre-releases: v1.3.0-rc.1)";

/** Why `text` is not a version, or undefined when it looks like one. */
function problem(text: string): string | undefined {
  if (text.trim() === "") return "it is empty";
  const [core = "", ...preParts] = text.trim().replace(/^v/, "").split("-");
  const pre = preParts.join("-");
  const numbers = core.split(".");
  if (numbers.length !== 3) {
    return `${shortInput(core)} has ${numbers.length} number${
      numbers.length === 1 ? "" : "s"
    }, a version has exactly 3 (MAJOR.MINOR.PATCH)`;
  }
  const parts: [string, string][] = [
    ["major", numbers[0]!],
    ["minor", numbers[1]!],
    ["patch", numbers[2]!],
  ];
  if (preParts.length > 0) {
    const [id = "", n, ...more] = pre.split(".");
    if (!/^[A-Za-z][0-9A-Za-z-]*$/.test(id) || n === undefined || more.length > 0) {
      return `the pre-release ${
        shortInput(`-${pre}`)
      } must be -<id>.<n>: an id starting with a letter, then a number (e.g. -rc.1)`;
    }
    parts.push(["pre-release number", n]);
  }
  for (const [what, digits] of parts) {
    if (!/^[0-9]+$/.test(digits)) return `the ${what} ${shortInput(digits)} is not a number`;
    if (digits.length > 1 && digits.startsWith("0")) {
      return `the ${what} ${shortInput(digits)} has a leading zero`;
    }
    if (!Number.isSafeInteger(Number(digits))) {
      return `the ${what} ${
        shortInput(digits, { quote: false })
      } is too large (at most ${Number.MAX_SAFE_INTEGER})`;
    }
  }
  return undefined;
}

/**
 * Parses a version argument.
 *
 * @param text `v1.2.4`, `1.2.4` or a pre-release such as `v1.3.0-rc.1`.
 * @returns The version, with its bare (`1.2.4`) and tag (`v1.2.4`) forms.
 * @throws {InputError} When the text is not such a version: the message says why (too few
 *   or too many numbers, a leading zero, a number too large to be exact) and what a valid
 *   version looks like.
 *
 * @example
 * ```ts
 * import { versionArgument } from "./version.ts";
 * import assert from "node:assert/strict";
 * assert.equal(versionArgument("v1.2.4").version, "1.2.4");
 * assert.equal(versionArgument("1.2.4").tag, "v1.2.4");
 * assert.equal(versionArgument("v1.3.0-rc.2").prerelease, "rc.2");
 * assert.throws(() => versionArgument("v1.0.0-rc.99999999999999999999999"), /too large/);
 * ```
 */
export function versionArgument(text: string): Version {
  const why = problem(text);
  let v;
  try {
    if (why !== undefined) throw new SyntaxError(why);
    v = parseVersion(text);
  } catch (err) {
    throw new InputError(
      `Invalid version ${shortInput(text)}: ${EXPECTED}; ${why ?? (err as Error).message}`,
    );
  }
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
}
