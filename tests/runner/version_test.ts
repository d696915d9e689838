// versionArgument(): exactly the release tags' grammar, every number exact.
import assert from "node:assert/strict";
import { versionArgument } from "../../lib/runner/version.ts";
import { InputError } from "../../lib/runner/errors.ts";

Deno.test("versionArgument() keeps valid versions as written", () => {
  assert.equal(versionArgument("v1.2.4").tag, "v1.2.4");
  assert.equal(versionArgument("0.0.0").tag, "v0.0.0");
  assert.equal(versionArgument("v1.3.0-rc.1").prerelease, "rc.1");
  assert.equal(versionArgument("1.0.0-pre-release.10").tag, "v1.0.0-pre-release.10");
  const max = String(Number.MAX_SAFE_INTEGER);
  assert.equal(versionArgument(`v${max}.0.0-rc.${max}`).tag, `v${max}.0.0-rc.${max}`);
});

Deno.test("versionArgument() refuses what is not exactly a version, saying why", () => {
  const cases: [string, RegExp][] = [
    [
      "v1.0.0-rc.99999999999999999999999",
      /pre-release number 99999999999999999999999 is too large/,
    ],
    ["1.2", /"1\.2" has 2 numbers, a version has exactly 3/],
    ["1", /"1" has 1 number,/],
    ["v1.2.3.4", /"1\.2\.3\.4" has 4 numbers/],
    ["01.2.3", /the major "01" has a leading zero/],
    ["1.02.3", /the minor "02" has a leading zero/],
    ["1.2.3-rc.01", /the pre-release number "01" has a leading zero/],
    [
      "9007199254740992.0.0",
      /the major 9007199254740992 is too large \(at most 9007199254740991\)/,
    ],
    ["1.2.x", /the patch "x" is not a number/],
    ["1.2.3-rc", /the pre-release "-rc" must be -<id>\.<n>/],
    ["1.2.3-1.2", /the pre-release "-1\.2" must be -<id>\.<n>/],
    ["1.2.3-rc.1.2", /the pre-release "-rc\.1\.2" must be -<id>\.<n>/],
    ["", /it is empty/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => versionArgument(text), (error: unknown) => {
      assert.ok(error instanceof InputError, `${text}: ${error}`);
      assert.match(
        error.message,
        /^Invalid version ".*": expected a semantic version such as v1\.2\.4 or 1\.2\.4 \(pre-releases: v1\.3\.0-rc\.1\); /,
      );
      assert.match(error.message, why, text);
      return true;
    });
  }
});
