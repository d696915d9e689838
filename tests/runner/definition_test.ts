// Pipeline code outside run() (top level, build function) is evaluated in a Worker with
// no permissions and a time limit; what it gets wrong is bad input (exit 2) with a
// location; broad grants are refused unless marked full trust.
import assert from "node:assert/strict";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { InputError } from "../../lib/runner/errors.ts";
import { cli, fixture } from "./_run.ts";

const prepare = (name: string, o: Record<string, unknown> = {}) =>
  prepareRun({
    pipelineFile: fixture(name),
    environment: "development",
    skipTypeCheck: true,
    ...o,
  });

async function inputError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof InputError, `expected an InputError, got ${err}`);
  return (err as Error).message;
}

Deno.test("plan of a pipeline whose top level does I/O: exit 2, nothing written, nothing read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "side-effect-" });
  const target = `${dir}/written`;
  try {
    const out = await cli(
      ["plan", "development", "--pipeline", fixture("side_effects.ts"), "--skip-type-check"],
      { env: { SIDE_EFFECT_FILE: target } },
    );
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /side_effects\.ts threw while loading/);
    assert.match(out.stderr, /side_effects\.ts:\d+:\d+/);
    assert.match(out.stderr, /NotCapable|Requires env access/);
    const left = [...Deno.readDirSync(dir)];
    assert.deepEqual(left, [], "the pipeline's top level wrote a file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareRun() refuses a build function that reads a file, naming the line", async () => {
  const message = await inputError(prepare("build_io.ts"));
  assert.match(message, /build_io\.ts could not be built/);
  assert.match(message, /tests\/runner\/fixtures\/build_io\.ts:5:\d+/);
  assert.match(message, /Requires read access/);
});

Deno.test("prepareRun() stops a pipeline that loops at import after its time limit", async () => {
  const limit = 1_500;
  const t0 = performance.now();
  const message = await inputError(prepare("loops.ts", { describeTimeoutMs: limit }));
  const took = performance.now() - t0;
  assert.match(message, /loops\.ts did not finish loading and building within 1\.5 s/);
  assert.ok(took >= limit, `gave up after ${took} ms`);
});

Deno.test("a pipeline that throws at import, or whose build returns no array, exits 2 with a location", async () => {
  const thrown = await cli(["run", fixture("throws.ts"), "development", "--skip-type-check"]);
  assert.equal(thrown.code, 2, thrown.stderr);
  assert.match(
    thrown.stderr,
    /throws\.ts threw while loading: .*throws\.ts:5:\d+: Error: no services configured/,
  );
  assert.doesNotMatch(thrown.stderr, /^\s+at /m, "no stack trace");
  const notArray = await cli(["run", fixture("not_array.ts"), "development", "--skip-type-check"]);
  assert.equal(notArray.code, 2, notArray.stderr);
  assert.match(notArray.stderr, /its build function returned undefined, not an array of stages/);
});

for (
  const [mistake, pattern] of [
    ["id", /dsl_errors\.ts:9:\d+: Cannot create stage "Bad Id"/],
    ["gate", /dsl_errors\.ts:11:\d+: .*error_rate < lots/],
    ["duration", /dsl_errors\.ts:13:\d+: .*soon/],
  ] as const
) {
  Deno.test(`a DSL error (${mistake}) names the pipeline file and line`, async () => {
    const message = await inputError(prepare("dsl_errors.ts", { options: { mistake } }));
    assert.match(message, pattern);
  });
}

Deno.test("a duplicate stage id names where each is defined", async () => {
  const message = await inputError(prepare("dsl_errors.ts", { options: { mistake: "dup" } }));
  assert.match(message, /stage id "a" is defined twice/);
  assert.match(message, /dsl_errors\.ts:6:\d+ and .*dsl_errors\.ts:15:\d+/);
});

Deno.test("a grant of /, the home folder or a protected path is refused unless marked fullTrust", async () => {
  for (const grant of ["/", Deno.env.get("HOME") ?? "/root", ".tracktion", "/var/run-records"]) {
    const message = await inputError(
      prepare("broad.ts", { options: { grant }, protectedPaths: ["/var/run-records/x"] }),
    );
    assert.match(message, /Stage "reader": read access to .* is too broad/);
    assert.match(message, /fullTrust/);
  }
  const narrow = await prepare("broad.ts", { options: { grant: "/etc/ssl/certs" } });
  assert.equal(narrow.grants.get("reader")!.fullTrust, false);
  const trusted = await prepare("broad.ts", {
    options: { grant: "/", trust: "scans the whole image for CVEs" },
  });
  const g = trusted.grants.get("reader")!;
  assert.equal(g.fullTrust, true);
  assert.equal(g.fullTrustReason, "scans the whole image for CVEs");
  const plan = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("broad.ts"),
    "--skip-type-check",
    "--option",
    "grant=/",
    "--option",
    "trust=scans the whole image",
  ]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /read: \/.*\[FULL TRUST: marked: scans the whole image\]/);
  const refused = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("broad.ts"),
    "--skip-type-check",
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /too broad/);
});

Deno.test("a grant of the --runs-dir or --sandbox-dir given on the command line is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "protected-" });
  try {
    for (const [flag, extra] of [["--runs-dir", []], ["--sandbox-dir", ["--sandbox"]]] as const) {
      const out = await cli([
        "run",
        fixture("broad.ts"),
        "development",
        "--skip-type-check",
        "--option",
        `grant=${dir}`,
        flag,
        `${dir}/state`,
        ...extra,
      ]);
      assert.equal(out.code, 2, `${flag}: ${out.stderr}`);
      assert.throws(() => Deno.statSync(`${dir}/state`), Deno.errors.NotFound, "nothing written");
      assert.match(
        out.stderr,
        new RegExp(`read access to "${dir}" \\(it holds ${dir}/state\\) is too broad`),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM while a pipeline loops at import ends the process at once (exit 130)", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "plan",
      "development",
      "--pipeline",
      fixture("loops.ts"),
      "--skip-type-check",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The loop starts once the CLI has parsed its arguments, loaded the environment and set
  // its signal handlers: the pipeline says so just before it loops (on a busy machine that
  // can take seconds; a fixed wait could signal a process not yet listening).
  const stdout = new Response(child.stdout).text();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  while (!stderr.includes("looping at import")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the CLI ended before the pipeline looped:\n${stderr}`);
    stderr += value;
  }
  const started = performance.now();
  child.kill("SIGTERM");
  for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
  await stdout;
  const status = await child.status;
  const took = performance.now() - started;
  assert.equal(status.code, 130, stderr);
  assert.match(stderr, /Interrupted while loading pipeline .*loops\.ts: nothing was changed/);
  // Far below the 30 s evaluation limit: the signal, not the limit, ended it.
  assert.ok(took < 20_000, `took ${took} ms`);
});

Deno.test('a folder grant holding a link to / or to a protected path is refused; env: ["*"] too', async () => {
  const dir = await Deno.makeTempDir({ prefix: "links-" });
  try {
    await Deno.mkdir(`${dir}/certs/nested`, { recursive: true });
    await Deno.writeTextFile(`${dir}/certs/ok.pem`, "x");
    await Deno.symlink(`${dir}/certs/ok.pem`, `${dir}/certs/alias.pem`); // a link inside: fine
    const fine = await prepare("broad.ts", { options: { grant: `${dir}/certs` } });
    assert.equal(fine.grants.get("reader")!.fullTrust, false);
    await Deno.symlink("/", `${dir}/certs/nested/root`);
    const message = await inputError(prepare("broad.ts", { options: { grant: `${dir}/certs` } }));
    assert.match(message, /its link .*nested\/root → \/ reaches \//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const wildcard = await cli([
    "run",
    fixture("permissions.ts"),
    "development",
    "--skip-type-check",
    "--option",
    "kind=env",
    "--option",
    "target=*",
    "--option",
    "declared=yes",
  ]);
  assert.equal(wildcard.code, 2, wildcard.stderr);
  assert.match(wildcard.stderr, /env access to "\*" \(every variable it matches\) is too broad/);
  for (const host of ["127.0.0.1", "localhost"]) {
    const net = await cli([
      "run",
      fixture("permissions.ts"),
      "development",
      "--skip-type-check",
      "--option",
      "kind=net",
      "--option",
      `target=${host}`,
      "--option",
      "declared=yes",
    ]);
    assert.equal(net.code, 2, net.stderr);
    assert.match(net.stderr, /every port of this machine, the sandbox's API among them/);
  }
});

Deno.test("a description forged by top-level code is refused (exit 2), not trusted", async () => {
  const out = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("forged_describe.ts"),
    "--skip-type-check",
  ]);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /sent a malformed description \(stages before the module loaded\)/);
  assert.doesNotMatch(out.stderr, /^\s+at /m);
});
