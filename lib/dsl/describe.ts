/**
 * Stages as plain data: what crosses from the Worker that builds a pipeline to the
 * runner, which never evaluates pipeline code itself.
 * @module
 */
import type { StageSpec } from "./stage.ts";

/** A check as the runner sees it outside the stage's Worker: its name and whether it is required. */
export interface CheckDescription {
  /** The check's name. */
  readonly name: string;
  /** Whether a failure fails the stage. */
  readonly required?: boolean;
}

/**
 * A stage as plain data: what crosses from the Worker that builds the pipeline to the
 * runner (no functions; `run` is `true` when the stage has work). A {@linkcode StageSpec}
 * is one too.
 */
export type StageDescription = Omit<StageSpec, "run" | "checks"> & {
  /** Set when the stage has work (`true` in a description, the function in a spec). */
  readonly run?: unknown;
  /** The checks, by name. */
  readonly checks: readonly CheckDescription[];
};

/**
 * Turns a stage's spec into plain, cloneable data.
 *
 * @param spec The stage's spec.
 * @returns The description: functions dropped, `run: true` when it has work.
 *
 * @example
 * ```ts
 * import { describeStage } from "./describe.ts";
 * import { stage } from "./stage.ts";
 * import assert from "node:assert/strict";
 * const d = describeStage(stage("a").run(() => 1).spec);
 * assert.equal(d.run, true);
 * assert.equal(structuredClone(d).id, "a");
 * ```
 */
export function describeStage(spec: StageSpec): StageDescription {
  const { run, checks, ...rest } = spec;
  return {
    ...rest,
    ...(run ? { run: true } : {}),
    checks: checks.map((c) => ({ name: c.name, required: c.required ?? true })),
  };
}
