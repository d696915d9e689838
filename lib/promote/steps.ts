/**
 * A promotion as the steps a train runs, in order: the build (when declared), then for each
 * leg its deploy and its tests. A train started at a later leg (`--from`) first reads the
 * records of the leg before it (a gate step), unless that leg's environment gates its own
 * deploys on the one before (`deployment.promote_from`, as production's pre-flight does).
 * @module
 */
import { InputError } from "../runner/errors.ts";
import type { PromotionDefinition } from "./definition.ts";

/**
 * What a step does: `build` the images, `deploy` an environment, run a `tests` suite there,
 * or `gate` on an environment's records (the version released there and its tests passed).
 *
 * @example
 * ```ts
 * import type { StepKind } from "./steps.ts";
 * const kind: StepKind = "gate";
 * console.assert(kind === "gate");
 * ```
 */
export type StepKind = "build" | "deploy" | "tests" | "gate";

/**
 * One step of a train.
 *
 * @example
 * ```ts
 * import type { TrainStep } from "./steps.ts";
 * const step: TrainStep = {
 *   id: "staging",
 *   kind: "deploy",
 *   environment: "staging",
 *   pipeline: "pipelines/deploy.ts",
 *   title: "deploy staging",
 * };
 * console.assert(step.kind === "deploy");
 * ```
 */
export interface TrainStep {
  /** Its name (`build`, the environment for a deploy, `<suite>-tests`, `gate:<environment>`). */
  readonly id: string;
  /** What it does. */
  readonly kind: StepKind;
  /** The environment it runs in. */
  readonly environment: string;
  /** The pipeline file it runs. */
  readonly pipeline: string;
  /** The suite (`tests`: the leg's; `gate`: `none`, the records only). */
  readonly suite?: string;
  /** A line saying what it does. */
  readonly title: string;
  /** The build's record stage (its output is kept in the train's summary). */
  readonly record?: string;
}

/** What {@linkcode trainSteps} takes besides the promotion. */
export interface TrainStepsOptions {
  /** The train file: its default export tests a leg (`tests` and `gate` steps run it). */
  readonly trainFile: string;
  /** The first leg to run (`build` or an environment; default: the first). */
  readonly from?: string | undefined;
  /** The last leg to run (an environment; default: the last). */
  readonly to?: string | undefined;
  /**
   * The environment an environment's own deploy gates on (its file's
   * `deployment.promote_from.environment`), if any.
   */
  readonly promotesFrom: (environment: string) => string | undefined;
}

/**
 * The names `--from` and `--to` take: `build` (when declared) and each leg's environment.
 *
 * @param p The promotion.
 * @returns The names, in order.
 *
 * @example
 * ```ts
 * import { legNames } from "./steps.ts";
 * const names = legNames({ deploy: "d.ts", legs: [{ environment: "dev" }, { environment: "prod" }] });
 * console.assert(names.join() === "dev,prod");
 * ```
 */
export function legNames(p: PromotionDefinition): string[] {
  return [...(p.build ? ["build"] : []), ...p.legs.map((l) => l.environment)];
}

/**
 * The steps of a train, from `--from` to `--to`.
 *
 * @param p The promotion (checked: {@linkcode checkPromotion}).
 * @param o The train file, `--from`, `--to`, and each environment's `promote_from`.
 * @returns The steps in order.
 * @throws {InputError} For an unknown `--from`/`--to`, a `--to` before `--from`, or an
 *   environment whose file promotes it from another environment than the leg before it.
 *
 * @example
 * ```ts
 * import { trainSteps } from "./steps.ts";
 * import assert from "node:assert/strict";
 * const p = {
 *   deploy: "deploy.ts",
 *   legs: [{ environment: "dev", tests: "smoke" }, { environment: "stage", tests: "it" }, { environment: "prod" }],
 * };
 * const promotesFrom = (env: string) => (env === "prod" ? "stage" : undefined);
 * const all = trainSteps(p, { trainFile: "train.ts", promotesFrom });
 * assert.deepEqual(all.map((s) => s.id), ["dev", "smoke-tests", "stage", "it-tests", "prod"]);
 * // Started at stage: dev's records first (stage's file does not gate it on dev).
 * const later = trainSteps(p, { trainFile: "train.ts", from: "stage", to: "stage", promotesFrom });
 * assert.deepEqual(later.map((s) => s.id), ["gate:dev", "stage", "it-tests"]);
 * ```
 */
export function trainSteps(p: PromotionDefinition, o: TrainStepsOptions): TrainStep[] {
  const names = legNames(p);
  const index = (flag: string, name: string | undefined, fallback: number) => {
    if (name === undefined) return fallback;
    const i = names.indexOf(name);
    if (i < 0) {
      throw new InputError(
        `${flag} takes one of ${names.join(", ")} (the train's legs), got "${name}"`,
      );
    }
    return i;
  };
  const first = index("--from", o.from, 0);
  const last = index("--to", o.to, names.length - 1);
  if (last < first) throw new InputError(`--to ${o.to} comes before --from ${o.from} in the train`);
  const offset = p.build ? 1 : 0;
  p.legs.forEach((leg, i) => {
    const from = o.promotesFrom(leg.environment);
    const before = p.legs[i - 1]?.environment;
    if (from !== undefined && before !== undefined && from !== before) {
      throw new InputError(
        `The train puts ${leg.environment} after ${before}, but its environment file promotes it ` +
          `from ${from} (deployment.promote_from): make them agree`,
      );
    }
  });
  const steps: TrainStep[] = [];
  if (p.build && first === 0) {
    steps.push({
      id: "build",
      kind: "build",
      environment: p.build.environment,
      pipeline: p.build.pipeline,
      title: `build the images (${p.build.pipeline} in ${p.build.environment})`,
      ...(p.build.record ? { record: p.build.record } : {}),
    });
  }
  const firstLeg = Math.max(first - offset, 0);
  const before = p.legs[firstLeg - 1];
  const start = p.legs[firstLeg]!;
  if (before && o.promotesFrom(start.environment) === undefined) {
    steps.push({
      id: `gate:${before.environment}`,
      kind: "gate",
      environment: before.environment,
      pipeline: o.trainFile,
      suite: "none",
      title: `${before.environment}'s records: the version released there and its tests passed`,
    });
  }
  const ids = new Set(steps.map((s) => s.id));
  for (const leg of p.legs.slice(firstLeg, last - offset + 1)) {
    steps.push({
      id: leg.environment,
      kind: "deploy",
      environment: leg.environment,
      pipeline: p.deploy,
      title: `deploy ${leg.environment}`,
    });
    ids.add(leg.environment);
    if (leg.tests !== undefined) {
      const plain = `${leg.tests}-tests`;
      const id = ids.has(plain) ? `${plain}:${leg.environment}` : plain;
      ids.add(id);
      steps.push({
        id,
        kind: "tests",
        environment: leg.environment,
        pipeline: o.trainFile,
        suite: leg.tests,
        title: `${leg.tests} tests in ${leg.environment}`,
      });
    }
  }
  return steps;
}
