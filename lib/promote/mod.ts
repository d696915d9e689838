/**
 * Promotion as one command: a version goes through the environments in order (a project's
 * legs, e.g. development → staging → production), each deploy followed by its test suite and
 * each step only when the one before succeeded. {@linkcode checkPromotion} validates a
 * project's train (its `promotion` export), {@linkcode trainSteps} makes the steps (with a
 * gate on the records of the leg before, for a train started later), {@linkcode runTrain}
 * runs them with a given step runner, and {@linkcode promoteArguments} /
 * {@linkcode stepArguments} turn the train's command line into each step's.
 *
 * ```ts
 * import { runTrain, trainSteps } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const steps = trainSteps(
 *   { deploy: "deploy.ts", legs: [{ environment: "dev", tests: "smoke" }, { environment: "prod" }] },
 *   { trainFile: "train.ts", promotesFrom: () => undefined },
 * );
 * const outcome = await runTrain(steps, () => Promise.resolve({ exitCode: 0 }));
 * assert.equal(outcome.exitCode, 0);
 * assert.deepEqual(outcome.steps.map((s) => s.step.id), ["dev", "smoke-tests", "prod"]);
 * ```
 * @module
 */
export * from "./definition.ts";
export * from "./steps.ts";
export * from "./train.ts";
export * from "./args.ts";
