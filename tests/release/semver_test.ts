import assert from "node:assert/strict";
import {
  bumpVersion,
  compareVersions,
  formatVersion,
  parseVersion,
} from "../../lib/release/semver.ts";

const bump = (from: string, kind: "major" | "minor" | "patch", pre?: string) =>
  formatVersion(bumpVersion(parseVersion(from), kind, pre === undefined ? {} : { pre }));

Deno.test("parseVersion() reads vX.Y.Z and X.Y.Z with an optional -id.N", () => {
  assert.deepEqual(parseVersion("v1.2.3"), { major: 1, minor: 2, patch: 3 });
  assert.deepEqual(parseVersion("1.2.3"), { major: 1, minor: 2, patch: 3 });
  assert.deepEqual(parseVersion("v10.0.0-rc.12"), {
    major: 10,
    minor: 0,
    patch: 0,
    pre: { id: "rc", n: 12 },
  });
  assert.deepEqual(parseVersion("0.1.0-beta-2.1").pre, { id: "beta-2", n: 1 });
});

Deno.test("parseVersion() rejects malformed versions with a message naming them", () => {
  for (
    const bad of [
      "v1.2",
      "1.2.3.4",
      "v01.2.3",
      "x1.2.3",
      "v1.2.3-rc",
      "v1.2.3-rc.01",
      "",
      "vnext",
      "v1.2.3-1.2",
    ]
  ) {
    assert.throws(() => parseVersion(bad), (error: Error) => {
      assert.ok(error instanceof SyntaxError, bad);
      assert.match(
        error.message,
        new RegExp(`^Cannot parse version "${bad.replace(/\./g, "\\.")}"`),
      );
      return true;
    });
  }
  assert.throws(() => parseVersion("v99999999999999999999.0.0"), SyntaxError);
});

Deno.test("formatVersion() round-trips and can drop the v prefix", () => {
  for (const text of ["v0.0.1", "v1.3.0-rc.2", "v20.10.3"]) {
    assert.equal(formatVersion(parseVersion(text)), text);
  }
  assert.equal(formatVersion(parseVersion("v1.3.0-rc.2"), { prefix: "" }), "1.3.0-rc.2");
});

Deno.test("bumpVersion() bumps major, minor and patch from a release", () => {
  assert.equal(bump("v1.2.4", "major"), "v2.0.0");
  assert.equal(bump("v1.2.4", "minor"), "v1.3.0");
  assert.equal(bump("v1.2.4", "patch"), "v1.2.5");
  assert.equal(bump("v0.0.0", "minor"), "v0.1.0");
});

Deno.test("bumpVersion() starts pre-releases at .1 and continues them", () => {
  assert.equal(bump("v1.2.4", "minor", "rc"), "v1.3.0-rc.1");
  assert.equal(bump("v1.3.0-rc.1", "minor", "rc"), "v1.3.0-rc.2");
  assert.equal(bump("v1.3.0-beta.3", "minor", "rc"), "v1.3.0-rc.1");
  assert.equal(bump("v2.0.0-rc.1", "major", "rc"), "v2.0.0-rc.2");
  assert.equal(bump("v1.2.5-rc.1", "patch", "rc"), "v1.2.5-rc.2");
});

Deno.test("bumpVersion() finalizes a pre-release that already carries the bump", () => {
  assert.equal(bump("v1.3.0-rc.2", "minor"), "v1.3.0");
  assert.equal(bump("v1.3.0-rc.2", "patch"), "v1.3.0");
  assert.equal(bump("v2.0.0-rc.1", "major"), "v2.0.0");
  // 1.3.1-rc.1 does not carry a minor bump: the minor moves on.
  assert.equal(bump("v1.3.1-rc.1", "minor"), "v1.4.0");
  assert.equal(bump("v1.3.0-rc.1", "major"), "v2.0.0");
});

Deno.test("bumpVersion() rejects an unknown kind, a bad pre id and going backwards", () => {
  assert.throws(
    () => bumpVersion(parseVersion("v1.0.0"), "huge" as "major"),
    /Cannot bump version: unknown kind "huge"/,
  );
  assert.throws(
    () => bumpVersion(parseVersion("v1.0.0"), "minor", { pre: "1rc" }),
    (error: Error) => error instanceof TypeError && /pre-release id "1rc"/.test(error.message),
  );
  assert.throws(
    () => bumpVersion(parseVersion("v1.3.0-rc.2"), "minor", { pre: "beta" }),
    (error: Error) =>
      error instanceof RangeError && /v1\.3\.0-beta\.1 would not be newer/.test(error.message),
  );
});

Deno.test("compareVersions() orders by semver precedence", () => {
  const sorted = ["v1.3.0", "v1.2.4", "v1.3.0-rc.2", "v1.3.0-rc.10", "v1.3.0-beta.1", "v0.9.9"]
    .map(parseVersion).sort(compareVersions).map((v) => formatVersion(v));
  assert.deepEqual(sorted, [
    "v0.9.9",
    "v1.2.4",
    "v1.3.0-beta.1",
    "v1.3.0-rc.2",
    "v1.3.0-rc.10",
    "v1.3.0",
  ]);
});
