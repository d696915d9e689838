// Malformed command lines: each is refused (exit 2) naming the flag or argument and what a
// valid one looks like, before anything happens (see _refused.ts for what is asserted).
import assert from "node:assert/strict";
import { BASIC, ENVIRONMENTS, re, refuses, REPO, sandboxFlags } from "./_refused.ts";

const DEPLOY = `${REPO}pipelines/deploy.ts`;

/** `run basic.ts development ...extra` (valid but for `extra`), with a sandbox in `dir`. */
const run = (dir: string, ...extra: string[]) => [
  "run",
  BASIC,
  "development",
  "--environments-dir",
  ENVIRONMENTS,
  "--skip-type-check",
  ...sandboxFlags(dir),
  ...extra,
];

/** `deploy <environment> <version>` of the repository's deploy pipeline, with a sandbox. */
const deploy = (dir: string, environment: string, version: string, ...extra: string[]) => [
  "deploy",
  environment,
  version,
  "--pipeline",
  DEPLOY,
  "--environments-dir",
  ENVIRONMENTS,
  ...sandboxFlags(dir),
  ...extra,
];

const VERSION_HINT = /expected a semantic version such as v1\.2\.4 or 1\.2\.4/;
const NAME_HINT = /expected a plain word \(letters, digits, "-" and "_"/;

// --- flags -------------------------------------------------------------------------------

Deno.test("an unknown flag (--frobnicate) is named, then the command's usage", async () => {
  await refuses({
    args: (dir) => run(dir, "--frobnicate"),
    message: () => [
      /error: Unknown option '--frobnicate': not a flag of deno task run/,
      /usage: deno task run <pipeline\.ts>/,
    ],
    absent: [/To specify a positional argument/],
  });
});

Deno.test("a misspelt flag (--dry_run) suggests the flag meant (--dry-run)", async () => {
  await refuses({
    args: (dir) => run(dir, "--dry_run"),
    message: () => /Unknown option '--dry_run' \(did you mean --dry-run\?\)/,
  });
});

Deno.test("an unknown short flag (-f) is named; the usage lists the flags", async () => {
  await refuses({
    args: (dir) => run(dir, "-f"),
    message: () => [/error: Unknown option '-f': not a flag of deno task run/, /--concurrency <n>/],
  });
});

Deno.test("a flag without its value (--concurrency at the end) says what it takes", async () => {
  await refuses({
    args: (dir) => run(dir, "--concurrency"),
    message: () => /error: --concurrency takes a value \(--concurrency <n>\), got none/,
  });
});

Deno.test("a value given to a switch (--dry-run=yes) says the switch takes none", async () => {
  await refuses({
    args: (dir) => run(dir, "--dry-run=yes"),
    message: () => /error: --dry-run takes no value \(got "yes"\): write just --dry-run/,
  });
});

Deno.test("a huge --concurrency (99999999999999999999) says the range", async () => {
  await refuses({
    args: (dir) => run(dir, "--concurrency", "99999999999999999999"),
    message: () => /--concurrency takes a whole number from 1 to 256, got "99999999999999999999"/,
  });
});

Deno.test("--environments-dir naming no folder says so", async () => {
  await refuses({
    args: (dir) => [
      "run",
      BASIC,
      "development",
      "--environments-dir",
      `${dir}/nowhere`,
      "--skip-type-check",
      ...sandboxFlags(dir),
    ],
    message: (dir) => new RegExp(`error: --environments-dir ${re(dir)}/nowhere: no such folder`),
  });
});

Deno.test("--pipeline naming no file says which file", async () => {
  await refuses({
    args: (dir) =>
      deploy(dir, "development", "v1.2.4", "--skip-type-check").map((a) =>
        a === DEPLOY ? `${dir}/deploy.ts` : a
      ),
    message: (dir) => new RegExp(`error: Cannot find pipeline file ${re(dir)}/deploy\\.ts`),
  });
});

Deno.test("--pipeline naming a folder says it is a folder, not a pipeline file", async () => {
  await refuses({
    setup: (dir) => Deno.mkdir(`${dir}/pipelines`),
    args: (dir) => [
      "run",
      `${dir}/pipelines`,
      "development",
      "--environments-dir",
      ENVIRONMENTS,
      ...sandboxFlags(dir),
    ],
    message: (dir) =>
      new RegExp(`error: Pipeline file ${re(dir)}/pipelines is a folder: name a \\.ts file`),
  });
});

// --- positional arguments ------------------------------------------------------------------

Deno.test("deploy without an environment says it is missing, then the usage", async () => {
  await refuses({
    args: () => ["deploy"],
    message: () => [
      /error: deno task deploy needs an environment \(e\.g\. staging\)/,
      /usage: deno task deploy <environment> <version>/,
    ],
  });
});

Deno.test("an extra argument after the version is named", async () => {
  await refuses({
    args: (dir) => deploy(dir, "development", "v1.2.4", "now"),
    message: () =>
      /error: unexpected argument "now": deno task deploy takes <environment> <version>/,
  });
});

Deno.test("rollback given a version says it takes none", async () => {
  await refuses({
    args: (dir) => ["rollback", "development", "v1.2.3", ...sandboxFlags(dir)],
    message: () => /rollback takes no version \(got "v1\.2\.3"\)/,
  });
});

// --- versions ------------------------------------------------------------------------------

for (
  const [version, why] of [
    ["1.2", /"1\.2" has 2 numbers, a version has exactly 3 \(MAJOR\.MINOR\.PATCH\)/],
    ["v1.2.3.4", /"1\.2\.3\.4" has 4 numbers/],
    ["01.2.3", /the major "01" has a leading zero/],
    ["v1.2.3;reboot", /the patch "3;reboot" is not a number/],
    ["$(id)", /"\$\(id\)" has 1 number/],
    ["", /it is empty/],
  ] as const
) {
  Deno.test(`version ${JSON.stringify(version)} is refused, saying why and what one looks like`, async () => {
    await refuses({
      args: (dir) => deploy(dir, "development", version, "--skip-type-check"),
      message: () => [new RegExp(`error: Invalid version "${re(version)}": `), VERSION_HINT, why],
    });
  });
}

Deno.test("a 100,000-character version is refused with a short message", async () => {
  const { stderr } = await refuses({
    args: (dir) => deploy(dir, "development", `v1.2.${"9".repeat(100_000)}`, "--skip-type-check"),
    message:
      () => [/error: Invalid version "v1\.2\.9{20,60}…" \(100005 characters\)/, VERSION_HINT],
  });
  assert.ok(stderr.length < 1_000, `${stderr.length} characters of error`);
});

// --- environment names ---------------------------------------------------------------------

Deno.test("environment ../../etc/passwd is refused as a name, before the pipeline is type-checked", async () => {
  // No --skip-type-check: a type check in this folder (no deno.json) would fail first.
  await refuses({
    args: (dir) => deploy(dir, "../../etc/passwd", "v1.2.4"),
    message: () => [/error: Invalid environment name "\.\.\/\.\.\/etc\/passwd": /, NAME_HINT],
    absent: [/type-check/],
  });
});

for (
  const [environment, shown] of [
    ["/etc/passwd", '"/etc/passwd"'],
    ["development; rm -rf ~", '"development; rm -rf ~"'],
    ["$(reboot)", '"$(reboot)"'],
    ["`id`", '"`id`"'],
    ["development\nproduction", '"development\\nproduction"'],
    ["", '""'],
  ] as const
) {
  Deno.test(`environment ${JSON.stringify(environment)} is refused as a name, shown escaped`, async () => {
    await refuses({
      args: (dir) => deploy(dir, environment, "v1.2.4"),
      message: () => [new RegExp(`error: Invalid environment name ${re(shown)}: `), NAME_HINT],
    });
  });
}

Deno.test("a 100,000-character environment name is refused with a short message", async () => {
  const { stderr } = await refuses({
    args: (dir) => deploy(dir, "a".repeat(100_000), "v1.2.4"),
    message: () => [/Invalid environment name "a{20,60}…" \(100000 characters\)/, /at most 63/],
  });
  assert.ok(stderr.length < 1_000, `${stderr.length} characters of error`);
});

Deno.test("an environment with no file (Production) lists the known ones", async () => {
  await refuses({
    args: (dir) => deploy(dir, "Production", "v1.2.4", "--skip-type-check"),
    message: () =>
      /Unknown environment "Production": no .*environments\/Production\.yml \(known: development, production, staging\)/,
  });
});

Deno.test("a 100,000-character unknown flag is named shortly", async () => {
  const { stderr } = await refuses({
    args: (dir) => run(dir, `--${"x".repeat(100_000)}`),
    message: () => /Unknown option '--x{20,60}…' \(100002 characters\): not a flag/,
  });
  assert.ok(stderr.length < 5_000, `${stderr.length} characters of error`);
});

// --- arguments that are not UTF-8 (bytes only a shell can pass) ------------------------------

Deno.test("an environment name that is not UTF-8 ($'dev\\xffelopment') is refused as such", async () => {
  await refuses({
    args: (dir) => ["deploy", { bash: "$'dev\\xffelopment'" }, "v1.2.4", ...sandboxFlags(dir)],
    message: () =>
      /error: the argument "dev\uFFFDelopment" is not valid UTF-8 text \(\uFFFD marks the bytes that are not\)/,
  });
});

Deno.test("a version that is not UTF-8 ($'v1.2.4\\xe9') is refused as such", async () => {
  await refuses({
    args: (dir) => ["deploy", "development", { bash: "$'v1.2.4\\xe9'" }, ...sandboxFlags(dir)],
    message: () => /error: the argument "v1\.2\.4\uFFFD" is not valid UTF-8 text/,
  });
});

Deno.test("a --runs-dir that is not UTF-8 is refused before any folder is made", async () => {
  await refuses({
    args: (dir) => [
      ...run(dir).slice(0, -2),
      "--runs-dir",
      { bash: `'${dir}/runs-'$'\\xff'` },
    ],
    message: (dir) => new RegExp(`the argument "${re(dir)}/runs-\uFFFD" is not valid UTF-8 text`),
  });
});
