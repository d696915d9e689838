// Malformed pipeline files, as modules: each is refused (exit 2) naming the file, and the line
// where the parser, the type checker or the code knows it, before anything happens (see
// _refused.ts for what is asserted). Each file is written into a temporary folder.
import assert from "node:assert/strict";
import { lineOf, MOD, pipelineFile, re, refuses, runCli, runPipeline } from "./_refused.ts";
import { LOAD_TIMEOUT_ENV } from "../../lib/runner/describe.ts";

const OK =
  `export default pipeline("ok", () => [stage("a").run(() => 1)], { requiresVersion: false });`;

/** Refuses `run <dir>/pipelines/<name>.ts development` of `body`; `message` gets the file's text. */
async function refusesPipeline(
  name: string,
  body: string,
  message: (text: string, path: string) => RegExp | readonly RegExp[],
  o: { typeCheck?: boolean; env?: Record<string, string>; killAfterMs?: number } = {},
): Promise<{ stderr: string; ms: number }> {
  let written = { path: "", text: "" };
  return await refuses({
    setup: async (dir) => {
      written = await pipelineFile(dir, name, body);
    },
    args: (dir) => runPipeline(dir, name, o),
    message: () => message(written.text, re(written.path)),
    ...(o.env ? { env: o.env } : {}),
    ...(o.killAfterMs ? { killAfterMs: o.killAfterMs } : {}),
  });
}

// --- it does not parse, or imports what is not there ----------------------------------------

Deno.test("a syntax error (not type-checked) names the file, line and column", async () => {
  await refusesPipeline("syntax", `${OK.slice(0, -2)}\nconst = 3;`, (t, p) =>
    new RegExp(
      `error: Pipeline ${p} cannot be loaded:\n  pipelines/syntax\\.ts:${
        lineOf(t, "const =")
      }:1: SyntaxError: Expected ','`,
    ));
});

Deno.test("a syntax error (type-checked, the default) names the file, line and column", async () => {
  await refusesPipeline("syntax_checked", `${OK.slice(0, -2)}\nconst = 3;`, (t, p) =>
    new RegExp(
      `error: Pipeline ${p} does not type-check:\n  pipelines/syntax_checked\\.ts:${
        lineOf(t, "const =")
      }:1: SyntaxError: Expected ','`,
    ), { typeCheck: true });
});

Deno.test("a gate on a misspelt metric fails the type check at its line", async () => {
  const metrics = MOD.replace(/mod\.ts$/, "pipelines/metrics.ts");
  await refusesPipeline(
    "typo_gate",
    `import ${JSON.stringify(metrics)};\nexport default pipeline("typo", () => [\n` +
      `  stage("canary").run(() => ({ analysisTargets: [{}] })).gate("eror_rate < 1%"),\n], ` +
      "{ requiresVersion: false });",
    (t) =>
      new RegExp(
        `pipelines/typo_gate\\.ts:${lineOf(t, "eror_rate")}:\\d+: .*eror_rate.*\\(TS\\d+\\)`,
      ),
    { typeCheck: true },
  );
});

Deno.test("an import of a file that does not exist names the line of the import", async () => {
  await refusesPipeline(
    "missing_import",
    `import { services } from "./services.ts";\n${OK}\nconsole.log(services);`,
    (t, p) =>
      new RegExp(
        `Pipeline ${p} cannot be loaded:\n  pipelines/missing_import\\.ts:${
          lineOf(t, "./services.ts")
        }:\\d+: Module not found ".*pipelines/services\\.ts"`,
      ),
  );
});

// --- it loads, but is not a pipeline --------------------------------------------------------

Deno.test("no default export says what the default export must be", async () => {
  await refusesPipeline(
    "no_default",
    OK.replace("export default", "export const deploy ="),
    (_t, p) => new RegExp(`Pipeline ${p} has no default export made by pipeline\\(name, build\\)`),
  );
});

Deno.test("a default export that is not a pipeline (42) says what it must be", async () => {
  await refusesPipeline(
    "default_42",
    "export default 42;",
    (_t, p) => new RegExp(`Pipeline ${p} has no default export made by pipeline\\(name, build\\)`),
  );
});

Deno.test("an empty pipeline file says what its default export must be", async () => {
  await refusesPipeline(
    "empty",
    "",
    (_t, p) => new RegExp(`Pipeline ${p} has no default export made by pipeline\\(name, build\\)`),
  );
});

Deno.test('pipeline("") names the line and what a name looks like', async () => {
  await refusesPipeline("no_name", OK.replace('"ok"', '""'), (t, p) =>
    new RegExp(
      `Pipeline ${p} threw while loading: ${p}:${lineOf(t, 'pipeline(""')}:\\d+: ` +
        'SyntaxError: Cannot define pipeline "": a name is 1 to 200 letters',
    ));
});

Deno.test("pipeline(name) without a build function names the line", async () => {
  await refusesPipeline("no_build", 'export default pipeline("x");', (t, p) =>
    new RegExp(
      `${p}:${lineOf(t, 'pipeline("x")')}:\\d+: TypeError: Cannot define pipeline "x": its ` +
        "second argument must be the function that builds its stages",
    ));
});

// --- its top level throws, exits, or never finishes -----------------------------------------

Deno.test("an error thrown at import names the line that threw", async () => {
  await refusesPipeline(
    "throws",
    `throw new Error("no services configured");\n${OK}`,
    (t, p) =>
      new RegExp(
        `Pipeline ${p} threw while loading: ${p}:${
          lineOf(t, "throw new")
        }:\\d+: Error: no services configured`,
      ),
  );
});

Deno.test("a string thrown at import is reported with the file (a string has no line)", async () => {
  await refusesPipeline(
    "throws_string",
    `throw "no services configured";\n${OK}`,
    (_t, p) => new RegExp(`Pipeline ${p} threw while loading: .*no services configured`),
  );
});

Deno.test("Deno.exit() at import is refused at its line, at once", async () => {
  const { ms } = await refusesPipeline("exits", `Deno.exit(0);\n${OK}`, (t, p) =>
    new RegExp(
      `${p}:${lineOf(t, "Deno.exit")}:\\d+: Error: Deno\\.exit\\(\\) was called while the ` +
        "pipeline was loading: a pipeline file only builds its stages",
    ));
  assert.ok(ms < 30_000, `refused after ${ms} ms, not at its time limit`);
});

Deno.test("close() at import is refused at its line, at once", async () => {
  await refusesPipeline(
    "closes",
    `(globalThis as unknown as { close(): void }).close();\n${OK}`,
    (t, p) =>
      new RegExp(
        `${p}:${
          lineOf(t, "close()")
        }:\\d+: Error: close\\(\\) was called while the pipeline was loading`,
      ),
  );
});

/**
 * The time the CLI takes to refuse a pipeline that loads at once, measured here: what a
 * pipeline that never finishes loading adds to its limit (with room for a busy machine).
 */
async function refusalMs(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-cli-" });
  try {
    await pipelineFile(dir, "quick", "export default 42;");
    const r = await runCli(dir, runPipeline(dir, "quick"));
    assert.equal(r.code, 2, r.stderr);
    return r.ms;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (
  const [what, body, said] of [
    [
      "an await that never settles",
      "await new Promise(() => {});",
      "its top-level code did not finish",
    ],
    ["a loop", "for (;;) { /* spins */ }", "its top-level code did not finish"],
    ["a build function that loops", "", "its build function did not return"],
  ] as const
) {
  Deno.test(`a pipeline whose loading never ends (${what}) is refused at ${LOAD_TIMEOUT_ENV}`, async () => {
    const limitMs = 2_000;
    const base = await refusalMs();
    const code = body === ""
      ? OK.replace("() => [stage", "() => { for (;;) { /* spins */ } return [stage").replace(
        "], {",
        "]; }, {",
      )
      : `${body}\n${OK}`;
    const { ms } = await refusesPipeline(
      `never_${what.replaceAll(" ", "_")}`,
      code,
      (_t, p) =>
        new RegExp(
          `Pipeline ${p} did not finish loading and building within 2 s: ${said}.*; ` +
            `${LOAD_TIMEOUT_ENV} sets the limit`,
        ),
      { env: { [LOAD_TIMEOUT_ENV]: "2s" }, killAfterMs: limitMs + 5 * base },
    );
    assert.ok(ms >= limitMs, `refused after ${ms} ms, before its limit of ${limitMs} ms`);
  });
}

Deno.test(`${LOAD_TIMEOUT_ENV} that is not a duration is refused naming the variable`, async () => {
  await refusesPipeline(
    "ok",
    OK,
    () =>
      new RegExp(
        `error: ${LOAD_TIMEOUT_ENV}="soon": expected a duration from 1ms to 1h such as 30s`,
      ),
    {
      env: { [LOAD_TIMEOUT_ENV]: "soon" },
    },
  );
});
