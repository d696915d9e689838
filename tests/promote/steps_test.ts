/**
 * The train's parts without a cluster: {@linkcode checkPromotion} refuses a malformed train
 * file, {@linkcode trainSteps} places the build, the tests and the gate (and refuses what
 * contradicts the environment files), {@linkcode runTrain} stops at the first step that does
 * not succeed and maps the outcome to the exit codes, {@linkcode stepArguments} hands each
 * flag to the step it belongs to.
 * @module
 */
import assert from "node:assert/strict";
import {
  checkPromotion,
  promoteArguments,
  type PromotionDefinition,
  runTrain,
  stepArguments,
  type TrainStep,
  trainSteps,
} from "../../lib/promote/mod.ts";
import { InputError } from "../../lib/runner/mod.ts";

const TRAIN: PromotionDefinition = {
  deploy: "deploy.ts",
  build: { pipeline: "build.ts", environment: "dev" },
  legs: [
    { environment: "dev", tests: "smoke" },
    { environment: "stage", tests: "integration" },
    { environment: "prod" },
  ],
};
const promotesFrom = (env: string) => (env === "prod" ? "stage" : undefined);
const ids = (steps: readonly TrainStep[]) => steps.map((s) => s.id);

Deno.test("checkPromotion() refuses a train file's malformed promotion export, naming the field", () => {
  const bad: [unknown, RegExp][] = [
    [undefined, /its promotion export is missing/],
    [{ legs: [{ environment: "dev" }] }, /needs deploy/],
    [{ deploy: "d.ts", legs: [] }, /at least one leg/],
    [
      { deploy: "d.ts", legs: [{ environment: "../etc" }] },
      /legs\[0\] without a valid environment/,
    ],
    [{ deploy: "d.ts", legs: [{ environment: "a" }, { environment: "a" }] }, /names a twice/],
    [{ deploy: "d.ts", legs: [{ environment: "a", tests: "Smoke Tests" }] }, /legs\[0\]\.tests/],
    [
      { deploy: "d.ts", legs: [{ environment: "a" }], build: { pipeline: "" } },
      /build that is not/,
    ],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => checkPromotion(value, "t.ts"), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^t\.ts: /);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.deepEqual(checkPromotion(TRAIN, "t.ts"), TRAIN);
});

Deno.test("trainSteps() places the build, each leg's deploy and tests, and a gate for a later start", () => {
  const o = { trainFile: "train.ts", promotesFrom };
  assert.deepEqual(ids(trainSteps(TRAIN, o)), [
    "build",
    "dev",
    "smoke-tests",
    "stage",
    "integration-tests",
    "prod",
  ]);
  // From dev: the build is skipped, and there is no leg before dev to gate on.
  assert.deepEqual(ids(trainSteps(TRAIN, { ...o, from: "dev", to: "dev" })), [
    "dev",
    "smoke-tests",
  ]);
  // From stage: dev's records first; the gate runs the train file with suite none.
  const stage = trainSteps(TRAIN, { ...o, from: "stage" });
  assert.deepEqual(ids(stage), ["gate:dev", "stage", "integration-tests", "prod"]);
  assert.deepEqual([stage[0]!.kind, stage[0]!.pipeline, stage[0]!.suite], [
    "gate",
    "train.ts",
    "none",
  ]);
  // From prod: its own deploy gates on stage (promote_from), so no gate step.
  assert.deepEqual(ids(trainSteps(TRAIN, { ...o, from: "prod" })), ["prod"]);
  assert.deepEqual(ids(trainSteps(TRAIN, { ...o, to: "build" })), ["build"]);
  // Two legs with the same suite get distinct step names.
  const twice = trainSteps(
    {
      deploy: "d.ts",
      legs: [{ environment: "a", tests: "smoke" }, { environment: "b", tests: "smoke" }],
    },
    { trainFile: "t.ts", promotesFrom: () => undefined },
  );
  assert.deepEqual(ids(twice), ["a", "smoke-tests", "b", "smoke-tests:b"]);
});

Deno.test("trainSteps() refuses an unknown leg, an inverted range, and an order the files contradict", () => {
  const o = { trainFile: "train.ts", promotesFrom };
  assert.throws(
    () => trainSteps(TRAIN, { ...o, from: "qa" }),
    /--from takes one of build, dev, stage, prod/,
  );
  assert.throws(
    () => trainSteps(TRAIN, { ...o, from: "prod", to: "dev" }),
    /--to dev comes before --from prod/,
  );
  assert.throws(
    () => trainSteps(TRAIN, { ...o, promotesFrom: (e) => (e === "prod" ? "dev" : undefined) }),
    /The train puts prod after stage, but its environment file promotes it from dev/,
  );
  const noBuild = { deploy: "d.ts", legs: TRAIN.legs };
  assert.throws(
    () => trainSteps(noBuild, { ...o, from: "build" }),
    /--from takes one of dev, stage, prod/,
  );
});

const step = (id: string): TrainStep => ({
  id,
  kind: "deploy",
  environment: id,
  pipeline: "d.ts",
  title: id,
});

Deno.test("runTrain() stops at the first step that does not succeed, with the right exit code", async () => {
  const steps = [step("a"), step("b"), step("c")];
  const train = (
    results: Record<string, { exitCode: number; status?: string; runId?: string }>,
  ) => {
    const ran: string[] = [];
    const outcome = runTrain(steps, (s) => {
      ran.push(s.id);
      return Promise.resolve(results[s.id] ?? { exitCode: 0, status: "succeeded" });
    });
    return outcome.then((o) => ({ ...o, ran }));
  };
  const ok = await train({});
  assert.deepEqual([ok.status, ok.exitCode, ok.ran], ["succeeded", 0, ["a", "b", "c"]]);
  assert.equal(ok.stoppedAt, undefined);
  // Exit 0 but a report that did not succeed is a failure (fail closed).
  const odd = await train({ b: { exitCode: 0, status: "rolled-back", runId: "r" } });
  assert.deepEqual([odd.status, odd.exitCode, odd.ran], ["failed", 1, ["a", "b"]]);
  assert.deepEqual(odd.steps.map((s) => s.status), ["succeeded", "failed", "not-run"]);
  // The first step refusing changed nothing: the train's own exit 2.
  const refused = await train({ a: { exitCode: 2 } });
  assert.deepEqual([refused.status, refused.exitCode, refused.ran], ["refused", 2, ["a"]]);
  // A later refusal: earlier steps did change things, so it is a failure.
  const late = await train({ c: { exitCode: 2 } });
  assert.deepEqual([late.status, late.exitCode, late.stoppedAt?.step.id], ["failed", 1, "c"]);
  const stopped = await train({ b: { exitCode: 130, status: "interrupted", runId: "r" } });
  assert.deepEqual([stopped.status, stopped.exitCode, stopped.ran], ["interrupted", 130, [
    "a",
    "b",
  ]]);
});

Deno.test("stepArguments() hands each flag to the step it belongs to", () => {
  const a = promoteArguments(
    [
      "v1.2.4",
      "--sandbox",
      "--reset",
      "--scenario",
      "stage=crashloop",
      "--confirm",
      "GO",
      "--option",
      "gates=fixed",
      "--runs-dir",
      "r",
    ],
    { trainFile: "train.ts" },
  );
  const steps = trainSteps(TRAIN, { trainFile: "train.ts", promotesFrom, from: "dev" });
  const args = (s: TrainStep, first: boolean, approves: boolean, gated: boolean) =>
    stepArguments(s, a, { first, approves, gated, typeChecked: true }).join(" ");
  const [dev, smoke, stage, , prod] = steps as [
    TrainStep,
    TrainStep,
    TrainStep,
    TrainStep,
    TrainStep,
  ];
  assert.equal(
    args(dev, true, false, false),
    "deploy dev v1.2.4 --pipeline deploy.ts --option gates=fixed --sandbox --runs-dir r --reset --skip-type-check",
  );
  assert.equal(
    args(smoke, false, false, false),
    "run train.ts dev v1.2.4 --option suite=smoke --option gates=fixed --sandbox --runs-dir r --skip-type-check",
  );
  assert.match(args(stage, false, false, false), / --scenario crashloop /);
  assert.equal(
    args(prod, false, true, true),
    "deploy prod v1.2.4 --pipeline deploy.ts --option gates=fixed --option rehearse-staging=no " +
      "--sandbox --runs-dir r --confirm GO --skip-type-check",
  );
  // The build gets the --build-options, and none of the others' --options.
  const b = promoteArguments(
    ["v1.2.4", "--build-option", "signing-key=file:k", "--option", "x=1"],
    {
      trainFile: "train.ts",
    },
  );
  const [build, first] = trainSteps(TRAIN, { trainFile: "train.ts", promotesFrom });
  assert.equal(
    stepArguments(build!, b, { first: true, approves: false, gated: false, typeChecked: false })
      .join(" "),
    "run build.ts dev v1.2.4 --option signing-key=file:k",
  );
  assert.equal(
    stepArguments(first!, b, { first: false, approves: false, gated: false, typeChecked: false })
      .join(" "),
    "deploy dev v1.2.4 --pipeline deploy.ts --option x=1",
  );
  // Off the sandbox nothing is rehearsed: no rehearse-staging option.
  const real = promoteArguments(["v1.2.4"], { trainFile: "train.ts" });
  assert.doesNotMatch(
    stepArguments(prod, real, { first: true, approves: true, gated: true, typeChecked: false })
      .join(" "),
    /rehearse-staging|--sandbox|--skip-type-check/,
  );
});
