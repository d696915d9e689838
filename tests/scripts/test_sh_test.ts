/**
 * `scripts/test.sh` (`deno task test`) decides which arguments are paths before it installs
 * or runs anything: an argument that is neither a flag nor a flag's value is a path, a path
 * that does not exist exits 2 with the path named, and a flag's value naming an existing
 * folder (`--filter checks`) is not a path (the whole of `tests/` still runs). `deno`,
 * `apt-get` and `service` are stand-ins on PATH that record their arguments, so no test
 * runs twice and nothing is installed.
 * @module
 */
import assert from "node:assert/strict";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The files test.sh runs one at a time after the parallel ones (its SERIAL list). */
const SERIAL = /SERIAL=\(\n([\s\S]*?)\n\s*\)/.exec(
  await Deno.readTextFile(`${REPO_ROOT}scripts/test.sh`),
)![1]!.trim().split(/\s+/);

interface Script {
  code: number;
  stderr: string;
  /** What the stand-ins were called with, one line per call (`deno test -A ...`). */
  calls: string[];
}

/** Runs `bash scripts/test.sh ...args` with recording stand-ins first on PATH. */
async function testSh(args: string[]): Promise<Script> {
  const bin = await Deno.makeTempDir({ prefix: "test-sh-" });
  try {
    const log = `${bin}/calls.log`;
    for (const name of ["deno", "apt-get", "service"]) {
      await Deno.writeTextFile(
        `${bin}/${name}`,
        `#!/usr/bin/env bash\necho "${name} $*" >> "${log}"\n`,
        { mode: 0o755 },
      );
    }
    const output = await new Deno.Command("bash", {
      args: ["scripts/test.sh", ...args],
      cwd: REPO_ROOT,
      env: { PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const calls = await Deno.readTextFile(log).then((t) => t.trim().split("\n"), () => []);
    return {
      code: output.code,
      stderr: new TextDecoder().decode(output.stderr),
      calls: calls.filter((line) => !line.startsWith("deno install")),
    };
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

Deno.test("test.sh exits 2 on a path that does not exist, before installing or running anything", async () => {
  for (
    const args of [
      ["tests/no-such-dir"],
      ["tests/migrat/", "--filter", "status"],
      ["--filter=checks", "tests/no-such-dir"],
    ]
  ) {
    const result = await testSh(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(
      result.stderr,
      /error: no such test file or folder: tests\/(no-such-dir|migrat\/) .*nothing was run/,
    );
    assert.deepEqual(result.calls, [], args.join(" "));
  }
});

Deno.test("test.sh runs the paths it is given, and tests/ when a flag's value names a folder", async () => {
  const subset = await testSh(["tests/config/", "--filter", "validate"]);
  assert.equal(subset.code, 0, subset.stderr);
  assert.deepEqual(subset.calls, ["deno test -A --frozen tests/config/ --filter validate"]);

  // `checks` is a folder of the repository, but here it is --filter's value.
  for (const filter of [["--filter", "checks"], ["--filter=checks"]]) {
    const all = await testSh(filter);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.calls, [
      `deno test -A --frozen --parallel --ignore=${SERIAL.join(",")} tests/ ${filter.join(" ")}`,
      `deno test -A --frozen ${SERIAL.join(" ")} ${filter.join(" ")}`,
    ]);
  }
  // After `--` the arguments are the tests' own, not paths.
  const passThrough = await testSh(["--", "no-such-thing"]);
  assert.equal(passThrough.code, 0, passThrough.stderr);
  assert.deepEqual(passThrough.calls, [
    `deno test -A --frozen --parallel --ignore=${SERIAL.join(",")} tests/ -- no-such-thing`,
    `deno test -A --frozen ${SERIAL.join(" ")} -- no-such-thing`,
  ]);
});
