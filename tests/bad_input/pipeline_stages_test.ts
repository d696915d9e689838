// Malformed pipelines, as stages: what the build function returns, the stage ids, durations
// and retry values. Each is refused (exit 2) naming the file, the line and the stage, before
// anything happens (see _refused.ts for what is asserted). Not type-checked (`as` casts stand
// for what a plain JavaScript pipeline, or a value computed at run time, could hold).
import { lineOf, pipelineFile, re, refuses, runPipeline } from "./_refused.ts";

/** A pipeline whose build function returns `stages` (source text), after `before` in it. */
const built = (stages: string, before = "") =>
  `export default pipeline("p", () => {\n${before}  return ${stages};\n}, { requiresVersion: false });`;

/** Refuses `run <dir>/pipelines/<name>.ts development` of `body`; `message` gets the text. */
async function refusesStages(
  name: string,
  body: string,
  message: (text: string, path: string) => RegExp | readonly RegExp[],
): Promise<void> {
  let written = { path: "", text: "" };
  await refuses({
    setup: async (dir) => {
      written = await pipelineFile(dir, name, body);
    },
    args: (dir) => runPipeline(dir, name),
    message: () => message(written.text, re(written.path)),
  });
}

// --- what the build function returns ---------------------------------------------------------

Deno.test("a build function that throws names the line that threw", async () => {
  await refusesStages(
    "build_throws",
    built("[]", '  throw new Error("no services in this environment");\n'),
    (t, p) =>
      new RegExp(
        `Pipeline ${p} could not be built: Error: ${p}:${
          lineOf(t, "throw new")
        }:\\d+: no services in this environment`,
      ),
  );
});

Deno.test("a build function that returns an object says it must return stages", async () => {
  await refusesStages(
    "build_object",
    built('{ a: stage("a") } as never'),
    (_t, p) =>
      new RegExp(
        `Pipeline ${p} could not be built: TypeError: its build function returned object, not an array of stages`,
      ),
  );
});

Deno.test("a build function whose array holds a non-stage names the item", async () => {
  await refusesStages(
    "build_item",
    built('[stage("a"), "b" as never]'),
    (_t, p) =>
      new RegExp(
        `Pipeline ${p} could not be built: .*array whose item 1 is not a stage \\(made by stage\\(id\\)\\)`,
      ),
  );
});

Deno.test("a build function that returns no stages says a pipeline needs one", async () => {
  await refusesStages(
    "build_empty",
    built("[]"),
    (_t, p) =>
      new RegExp(
        `Pipeline ${p} could not be built: .*returned no stages: a pipeline needs at least one`,
      ),
  );
});

// --- stage ids -----------------------------------------------------------------------------

Deno.test("a duplicate stage id names both places", async () => {
  await refusesStages(
    "duplicate_id",
    built('[stage("deploy").run(() => 1),\n    stage("deploy").run(() => 2)]'),
    (t, p) =>
      new RegExp(
        `stage id "deploy" is defined twice.*${p}:${lineOf(t, 'stage("deploy")')}:\\d+ and ${p}:${
          lineOf(t, '    stage("deploy")')
        }:\\d+`,
      ),
  );
});

for (
  const [id, shown] of [
    ["Deploy API", '"Deploy API"'],
    ["../etc", '"\\.\\./etc"'],
    ["", '""'],
    ["deploy\\nprod", '"deploy\\\\nprod"'],
    ["-deploy", '"-deploy"'],
  ] as const
) {
  Deno.test(`stage id ${JSON.stringify(id)} is refused at its line, saying what an id is`, async () => {
    await refusesStages(
      `odd_id_${id.length}`,
      built(`[stage("${id}").run(() => 1)]`),
      (t, p) =>
        new RegExp(
          `${p}:${lineOf(t, "stage(")}:\\d+: Cannot create stage ${shown}: ids are lower case ` +
            'letters, digits and ": _ \\. -"',
        ),
    );
  });
}

Deno.test("a 300-character stage id is refused, shown short", async () => {
  await refusesStages(
    "long_id",
    built(`[stage("${"a".repeat(300)}").run(() => 1)]`),
    (t, p) =>
      new RegExp(
        `${p}:${
          lineOf(t, "stage(")
        }:\\d+: Cannot create stage "a{40}…" \\(300 characters\\): .*at most 253`,
      ),
  );
});

Deno.test("a need on a stage that is not returned names both stages", async () => {
  await refusesStages(
    "unknown_need",
    built('[stage("ship").needs(build).run(() => 2)]', '  const build = stage("build");\n'),
    (t, p) =>
      new RegExp(
        `Invalid pipeline: stage "ship" \\(${p}:${
          lineOf(t, 'stage("ship")')
        }:\\d+\\) needs unknown stage "build"`,
      ),
  );
});

Deno.test("a cycle of needs names the stages in it", async () => {
  await refusesStages(
    "cycle",
    built('[stage("a").needs("c"), stage("b").needs("a"), stage("c").needs("b")]'),
    (t, p) => {
      const line = lineOf(t, 'stage("a")');
      return new RegExp(
        `Invalid pipeline: cycle a → c → b → a: "a" at ${p}:${line}:\\d+, "c" at ${p}:${line}:` +
          `\\d+, "b" at ${p}:${line}:\\d+ \\(drop one of these needs\\)`,
      );
    },
  );
});

// --- durations -----------------------------------------------------------------------------

for (
  const [what, call, said] of [
    [
      "a word",
      '.timeout("soon" as "1m")',
      /Cannot use "soon" as the timeout of stage "a": expected a/,
    ],
    [
      "zero",
      '.timeout("0s")',
      /"0s" as the timeout of stage "a": expected a duration of more than 0 to 7 days/,
    ],
    [
      "99999999 days",
      '.timeout("99999999d")',
      /"99999999d" as the timeout of stage "a": .* to 7 days/,
    ],
    ["negative", ".timeout(-1)", /Cannot use -1 as the timeout of stage "a"/],
    ["NaN", ".timeout(NaN)", /Cannot use NaN as the timeout of stage "a"/],
  ] as const
) {
  Deno.test(`a timeout of ${what} is refused at its line`, async () => {
    await refusesStages(
      `timeout_${what.replaceAll(" ", "_")}`,
      built(`[stage("a")${call}.run(() => 1)]`),
      (t, p) => [new RegExp(`${p}:${lineOf(t, "timeout(")}:\\d+: `), said],
    );
  });
}

Deno.test("a gate interval of 0 (every(0)) is refused at its line", async () => {
  await refusesStages(
    "every_zero",
    built('[stage("a").run(() => 1).for("15m").every(0)]'),
    (t, p) =>
      new RegExp(
        `${p}:${lineOf(t, "every(0)")}:\\d+: Cannot use 0 as the gate interval of stage "a": ` +
          "expected a duration of more than 0",
      ),
  );
});

// --- retries -------------------------------------------------------------------------------

for (
  const [what, policy, said] of [
    [
      "0 attempts",
      "{ attempts: 0 }",
      /Cannot retry stage "migrate": attempts must be a whole number from 1 to 1000, got 0/,
    ],
    [
      "2.5 attempts",
      "{ attempts: 2.5 }",
      /attempts must be a whole number from 1 to 1000, got 2\.5/,
    ],
    ["a billion attempts", "{ attempts: 1e9 }", /from 1 to 1000, got 1000000000/],
    [
      "a negative delay",
      "{ attempts: 3, delay: -5 }",
      /Cannot use -5 as the retry delay of stage "migrate": expected a duration from 0/,
    ],
    [
      "a delay that is a word",
      '{ attempts: 3, delay: "later" }',
      /Cannot use "later" as the retry delay of stage "migrate"/,
    ],
  ] as const
) {
  Deno.test(`a retry with ${what} is refused at its line, naming the stage`, async () => {
    await refusesStages(
      `retry_${what.replaceAll(" ", "_")}`,
      built(`[stage("migrate").retry(${policy}).run(() => 1)]`),
      (t, p) => [new RegExp(`${p}:${lineOf(t, ".retry(")}:\\d+: `), said],
    );
  });
}
