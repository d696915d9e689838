// Secrets never leak (issue 9): whatever a stage prints — console, standard streams,
// node:process, an uncaught error, an unhandled rejection — reaches the terminal only
// through the redactor; secrets with quotes, backslashes and newlines are redacted in
// report.json too; a secret too short to redact is refused at load, by name.
import assert from "node:assert/strict";
import { cli, fixture } from "./_run.ts";

async function* files(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* files(path);
    else yield path;
  }
}

async function runLeaks(secret: string, only?: string) {
  const runsDir = await Deno.makeTempDir({ prefix: "leaks-runs-" });
  const out = await cli(
    [
      "run",
      fixture("leaks.ts"),
      "development",
      "--skip-type-check",
      "--runs-dir",
      runsDir,
      ...(only ? ["--option", `only=${only}`] : []),
    ],
    { env: { TRACKTION_DB_PASSWORD: secret } },
  );
  return { ...out, runsDir };
}

function forms(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const b64 = btoa(String.fromCharCode(...bytes));
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), b64];
}

Deno.test("what a stage prints reaches the terminal redacted: console, streams, node:process, crashes", async () => {
  const secret = "pr1nted-S3cret-value";
  const run = await runLeaks(secret);
  try {
    assert.equal(run.code, 1, run.stderr);
    const screen = run.stdout + run.stderr;
    assert.ok(!screen.includes(secret), `the terminal shows the secret:\n${screen}`);
    for (
      const line of [
        "[console] log: [redacted]",
        "[console] error: [redacted]",
        "[console] [redacted] is the password",
        "[streams] stdout: [redacted]",
        "[streams] stderr: [redacted]",
        "[streams] node stdout: [redacted]",
        "[streams] node stderr: [redacted]",
        "[fd] fd1: [redacted]",
        "[fd] fd2: [redacted]",
      ]
    ) assert.ok(screen.includes(line), `missing ${JSON.stringify(line)} in:\n${screen}`);
    assert.match(screen, /password: "\[redacted\]"/);
    assert.match(screen, /check \[redacted\]: fine/, "a check's name is redacted on screen too");
    assert.match(screen, /uncaught.*crashed: uncaught error: Error: uncaught with \[redacted\]/);
    assert.match(
      screen,
      /rejection.*crashed: unhandled rejection: Error: rejected with \[redacted\]/,
    );
    for await (const path of files(run.runsDir)) {
      const text = await Deno.readTextFile(path);
      assert.ok(!text.includes(secret), `${path} contains the secret`);
    }
  } finally {
    await Deno.remove(run.runsDir, { recursive: true });
  }
});

for (
  const [what, secret] of [
    ["a quote", 'pa"ss-word-1'],
    ["a backslash", "pa\\ss-word-2"],
    ["a newline", "pass\nword-3"],
    ["all of them and unicode", 'é"\\\n\tzürich-4'],
  ] as const
) {
  Deno.test(`a secret with ${what} is redacted in report.json, the journal, logs and the terminal`, async () => {
    const run = await runLeaks(secret, "console");
    try {
      assert.equal(run.code, 0, run.stderr);
      const screen = run.stdout + run.stderr;
      for (const form of forms(secret)) assert.ok(!screen.includes(form), `terminal: ${form}`);
      let seen = 0;
      for await (const path of files(run.runsDir)) {
        seen++;
        const text = await Deno.readTextFile(path);
        for (const form of forms(secret)) {
          assert.ok(!text.includes(form), `${path} contains ${JSON.stringify(form)}`);
        }
      }
      assert.ok(seen >= 3, `report, journal and log expected, found ${seen}`);
    } finally {
      await Deno.remove(run.runsDir, { recursive: true });
    }
  });
}

Deno.test("a secret shorter than 4 characters is refused at load, naming the reference, not the value", async () => {
  const run = await runLeaks("q7#", "console");
  try {
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /Secret database\.password \(from TRACKTION_DB_PASSWORD\) is shorter than 4/,
    );
    assert.ok(!run.stderr.includes("q7#"));
    assert.deepEqual([...Deno.readDirSync(run.runsDir)], [], "no run folder");
  } finally {
    await Deno.remove(run.runsDir, { recursive: true });
  }
});

Deno.test("a secret printed in two pieces is still redacted: output is redacted a line at a time", async () => {
  const secret = "split-Secret-Value-9";
  const run = await runLeaks(secret, "split");
  try {
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!(run.stdout + run.stderr).includes(secret.slice(0, 8) + secret.slice(8)));
    assert.match(run.stderr, /\[split\] password=\[redacted\]/);
    assert.match(run.stderr, /\[split\] no newline at the end/);
  } finally {
    await Deno.remove(run.runsDir, { recursive: true });
  }
});

Deno.test("a pipeline that imports nothing of Node's: the global process is rerouted when first read", async () => {
  const secret = "gl0bal-pr0cess-S3cret";
  const runsDir = await Deno.makeTempDir({ prefix: "leaks-runs-" });
  try {
    const run = await cli(
      ["run", fixture("leaks_global_process.ts"), "development", "--runs-dir", runsDir],
      { env: { TRACKTION_DB_PASSWORD: secret } },
    );
    const screen = run.stdout + run.stderr;
    assert.equal(run.code, 0, screen);
    assert.ok(!screen.includes(secret), `the terminal shows the secret:\n${screen}`);
    for (
      const line of [
        "[global] global stdout: [redacted]",
        "[global] global stderr: [redacted]",
        "[global] builtin fd1: [redacted]",
        "[global] node console: [redacted]",
        "[after-crypto] after crypto: [redacted]",
      ]
    ) assert.ok(screen.includes(line), `missing ${JSON.stringify(line)} in:\n${screen}`);
    const report = JSON.parse(
      await Deno.readTextFile(`${runsDir}/${await onlyRun(runsDir)}/report.json`),
    );
    const chdir = report.stages.find((s: { id: string }) => s.id === "chdir");
    assert.match(JSON.stringify(chdir.output), /may not change the working directory/);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

async function onlyRun(runsDir: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(runsDir)) if (e.isDirectory) names.push(e.name);
  assert.equal(names.length, 1, names.join());
  return names[0]!;
}
