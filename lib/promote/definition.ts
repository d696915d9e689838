/**
 * What a promotion is: the order a version goes through environments (its legs), the deploy
 * pipeline each leg runs, the test suite that follows it, and optionally a build first. A
 * project declares it as the `promotion` export of its train file (beside the pipeline that
 * tests a leg, the file's default export); {@linkcode checkPromotion} validates what the file
 * exports.
 * @module
 */
import { InputError } from "../runner/errors.ts";

/**
 * One leg of a promotion: deploy to `environment`, then (when `tests` is given) run that test
 * suite there with the train file's pipeline.
 *
 * @example
 * ```ts
 * import type { PromotionLeg } from "./definition.ts";
 * const leg: PromotionLeg = { environment: "staging", tests: "integration" };
 * console.assert(leg.tests === "integration");
 * ```
 */
export interface PromotionLeg {
  /** The environment (a file in the environments folder). */
  readonly environment: string;
  /** The suite run after the deploy (the train file's `--option suite=<name>`); none when absent. */
  readonly tests?: string;
}

/**
 * The build that makes the version's images before the first leg: a pipeline run in one
 * environment (the one whose registry it pushes to).
 *
 * @example
 * ```ts
 * import type { PromotionBuild } from "./definition.ts";
 * const build: PromotionBuild = { pipeline: "pipelines/build.ts", environment: "development" };
 * console.assert(build.pipeline.endsWith("build.ts"));
 * ```
 */
export interface PromotionBuild {
  /** The build pipeline file. */
  readonly pipeline: string;
  /** The environment it runs in. */
  readonly environment: string;
  /**
   * The stage whose output is the build's record (the images' digests): the train's summary
   * keeps it.
   */
  readonly record?: string;
}

/**
 * A promotion: the legs in order, each leg's deploy pipeline, and an optional build.
 *
 * @example
 * ```ts
 * import type { PromotionDefinition } from "./definition.ts";
 * const p: PromotionDefinition = {
 *   deploy: "pipelines/deploy.ts",
 *   legs: [{ environment: "staging", tests: "integration" }, { environment: "production" }],
 * };
 * console.assert(p.legs.length === 2);
 * ```
 */
export interface PromotionDefinition {
  /** The pipeline every leg deploys with. */
  readonly deploy: string;
  /** The legs, in the order a version goes through them (at least one, each environment once). */
  readonly legs: readonly PromotionLeg[];
  /** A build before the first leg. */
  readonly build?: PromotionBuild;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v.trim() !== "";
}

/**
 * Checks what a train file exports as `promotion`.
 *
 * @param value The export.
 * @param file The train file (for the messages).
 * @returns The promotion.
 * @throws {InputError} Naming the file and the field: not an object, no legs, a leg without
 *   an environment, an environment twice, a suite or a build that is not well formed.
 *
 * @example
 * ```ts
 * import { checkPromotion } from "./definition.ts";
 * import assert from "node:assert/strict";
 * const p = checkPromotion(
 *   { deploy: "deploy.ts", legs: [{ environment: "dev", tests: "smoke" }, { environment: "prod" }] },
 *   "train.ts",
 * );
 * assert.equal(p.legs[0]!.tests, "smoke");
 * assert.throws(() => checkPromotion({ deploy: "deploy.ts", legs: [] }, "train.ts"), /at least one leg/);
 * ```
 */
export function checkPromotion(value: unknown, file: string): PromotionDefinition {
  const bad = (what: string) =>
    new InputError(`${file}: its promotion export ${what} (see docs/promotion.md)`);
  if (!isRecord(value)) {
    throw bad("is missing: export const promotion = { deploy, legs: [...] }");
  }
  if (!nonEmptyString(value.deploy)) throw bad("needs deploy: the pipeline each leg deploys with");
  if (!Array.isArray(value.legs) || value.legs.length === 0) {
    throw bad("needs at least one leg in legs");
  }
  const seen = new Set<string>();
  const legs: PromotionLeg[] = value.legs.map((leg: unknown, i: number) => {
    if (!isRecord(leg) || typeof leg.environment !== "string" || !NAME.test(leg.environment)) {
      throw bad(`has legs[${i}] without a valid environment name`);
    }
    if (seen.has(leg.environment)) throw bad(`names ${leg.environment} twice in legs`);
    seen.add(leg.environment);
    if (leg.tests !== undefined && (typeof leg.tests !== "string" || !NAME.test(leg.tests))) {
      throw bad(`has legs[${i}].tests that is not a suite name`);
    }
    return {
      environment: leg.environment,
      ...(leg.tests !== undefined ? { tests: leg.tests as string } : {}),
    };
  });
  let build: PromotionBuild | undefined;
  if (value.build !== undefined) {
    const b = value.build;
    if (
      !isRecord(b) || !nonEmptyString(b.pipeline) || typeof b.environment !== "string" ||
      (b.record !== undefined && !nonEmptyString(b.record))
    ) {
      throw bad("has a build that is not { pipeline, environment, record? }");
    }
    build = {
      pipeline: b.pipeline,
      environment: b.environment,
      ...(b.record !== undefined ? { record: b.record as string } : {}),
    };
  }
  return { deploy: value.deploy, legs, ...(build ? { build } : {}) };
}
