// Bad input exits 2 with a message naming what is wrong, before anything happens: no
// sandbox started, no sandbox state, no run folder (the working directory is a temporary
// folder, so a default `.tracktion/` written by mistake would show up too).
import assert from "node:assert/strict";
import { cliIn, ENVIRONMENTS, fixturePath, inTempDir, REPO, tree } from "./_isolated.ts";

const BASIC = fixturePath("basic.ts");

/** Runs `run basic.ts <env> [version] ...` in `dir` and asserts exit 2, the message, no change. */
async function refused(
  dir: string,
  args: string[],
  message: RegExp | RegExp[],
  o: { environment?: string; environmentsDir?: string; version?: string } = {},
): Promise<void> {
  const before = await tree(dir);
  const r = await cliIn(dir, [
    "run",
    BASIC,
    o.environment ?? "development",
    ...(o.version !== undefined ? [o.version] : []),
    "--environments-dir",
    o.environmentsDir ?? ENVIRONMENTS,
    "--skip-type-check",
    ...args,
  ]);
  const what = `${args.join(" ")}\n${r.stdout}${r.stderr}`;
  assert.equal(r.code, 2, what);
  for (const m of [message].flat()) assert.match(r.stderr, m, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${what}`);
  assert.equal(r.stdout, "", `nothing ran, nothing printed: ${what}`);
  assert.deepEqual(await tree(dir), before, `nothing changed: ${what}`);
}

Deno.test("--runs-dir that is a file (or under one) exits 2 before the sandbox starts", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/runs`, "not a folder\n");
    await refused(
      dir,
      ["--sandbox", "--sandbox-dir", `${dir}/sandbox`, "--runs-dir", `${dir}/runs`],
      /error: --runs-dir .*\/runs is a file, not a folder/,
    );
    await refused(
      dir,
      ["--runs-dir", `${dir}/runs/today`],
      /error: --runs-dir .*\/runs\/today: .*\/runs is a file, not a folder/,
    );
    await refused(
      dir,
      ["--sandbox", "--sandbox-dir", `${dir}/runs`],
      /error: --sandbox-dir .*\/runs is a file, not a folder/,
    );
  });
});

Deno.test("every flag's value is checked before the sandbox writes anything", async () => {
  await inTempDir(async (dir) => {
    const sandbox = ["--sandbox", "--sandbox-dir", `${dir}/sandbox`, "--runs-dir", `${dir}/runs`];
    const cases: [string[], RegExp][] = [
      [
        ["--decision-timeout", "abc"],
        /--decision-timeout takes a duration such as 10m or 90s, got "abc"/,
      ],
      [
        ["--decision-timeout", "0s"],
        /--decision-timeout takes a duration from 1ms to 7 days, got "0s"/,
      ],
      [["--concurrency", "abc"], /--concurrency takes a whole number from 1 to 256, got "abc"/],
      [["--concurrency", "0"], /--concurrency takes a whole number from 1 to 256, got "0"/],
      [["--concurrency", "0x10"], /--concurrency takes a whole number from 1 to 256, got "0x10"/],
      [["--time-scale", "-1"], /--time-scale takes a number from 1 to 100000, got "-1"/],
      [["--time-scale", "fast"], /--time-scale takes a number from 1 to 100000, got "fast"/],
      [["--option", "mode"], /--option takes key=value, got "mode"/],
      [["--option", "=ok"], /--option takes key=value, got "=ok"/],
      [["--option", "mode=ok", "--option", "mode=fail"], /--option mode is given twice/],
      [["--scenario", "chaos-monkey"], /Unknown scenario "chaos-monkey" \(known: canary-errors/],
      [["--prometheus", "prometheus:9090"], /--prometheus takes an http\(s\) URL/],
      [["--confirm", ""], /--confirm takes the phrase/],
      [["--reset", "--dry-run"], /--reset discards the sandbox's saved state/],
      [["--runs-dir", `${dir}/other`], /--runs-dir is given 2 times/],
      [["--format", "json"], /Unknown option '--format'[^]*usage:/],
    ];
    for (const [args, message] of cases) await refused(dir, [...sandbox, ...args], message);
    // Sandbox flags without --sandbox are refused rather than ignored.
    await refused(dir, ["--time-scale", "5"], /--time-scale needs --sandbox/);
    await refused(dir, ["--reset"], /--reset needs --sandbox/);
    await refused(dir, ["--scenario", "slow"], /--scenario needs --sandbox/);
    await refused(dir, ["--sandbox-dir", `${dir}/sandbox`], /--sandbox-dir needs --sandbox/);
    // The environment's name, before its file is read.
    await refused(dir, sandbox, /Invalid environment name "\.\.\/secrets"/, {
      environment: "../secrets",
    });
  });
});

Deno.test("a version that is not exactly a semantic version exits 2 and says what one looks like", async () => {
  await inTempDir(async (dir) => {
    const sandbox = ["--sandbox", "--sandbox-dir", `${dir}/sandbox`, "--runs-dir", `${dir}/runs`];
    const expected =
      /expected a semantic version such as v1\.2\.4 or 1\.2\.4 \(pre-releases: v1\.3\.0-rc\.1\)/;
    const cases: [string, RegExp][] = [
      [
        "v1.0.0-rc.99999999999999999999999",
        /pre-release number 99999999999999999999999 is too large/,
      ],
      ["1.2", /"1\.2" has 2 numbers, a version has exactly 3/],
      ["v1.2.3.4", /"1\.2\.3\.4" has 4 numbers/],
      ["01.2.3", /the major "01" has a leading zero/],
      [
        "1.2.9007199254740992",
        /the patch 9007199254740992 is too large \(at most 9007199254740991\)/,
      ],
      ["v1.0.0-rc", /the pre-release "-rc" must be -<id>\.<n>/],
    ];
    for (const [version, why] of cases) {
      const named = new RegExp(`error: Invalid version "${version.replaceAll(".", "\\.")}": `);
      await refused(dir, sandbox, [named, expected, why], { version });
    }
  });
});

Deno.test("an environment file asking for 100,000,000 replicas exits 2 naming file, line and field", async () => {
  await inTempDir(async (dir) => {
    const fixtures = `${REPO}tests/config/fixtures/limits`;
    await refused(
      dir,
      ["--sandbox", "--sandbox-dir", `${dir}/sandbox`, "--runs-dir", `${dir}/runs`],
      new RegExp(
        `${fixtures}/huge_replicas\\.yml:7:10: infrastructure\\.replicas\\.api: ` +
          "expected an integer <= 1000 \\(the most replicas one service may have\\), got 100000000",
      ),
      { environment: "huge_replicas", environmentsDir: fixtures },
    );
  });
});
