/**
 * Pipelines: a name and a pure function from `(env, version, options)` to stages.
 * @module
 */
import type { Stage } from "./stage.ts";
import type { Version } from "./types.ts";

/** What a pipeline's definition function receives. */
export interface PipelineContext<Env = PipelineEnvironment> {
  /** The validated environment. */
  readonly env: Env;
  /** The version to deploy, when given. */
  readonly version: Version | undefined;
  /** Extra options from the command line (`--option key=value`) or the caller. */
  readonly options: Readonly<Record<string, string>>;
}

/** The environment as the DSL sees it: at least a name; the runner hands the full file. */
export interface PipelineEnvironment {
  /** The environment's name, e.g. `"production"`. */
  readonly name: string;
  /** The rest of the environment file. */
  readonly [key: string]: unknown;
}

/** How a pipeline runs as a whole. */
export interface PipelineOptions {
  /** On the first failure, stop the stages still running (default `true`). */
  readonly failFast?: boolean;
  /** Whether the pipeline needs a version argument (default `true`). */
  readonly requiresVersion?: boolean;
}

/** A pipeline definition; the default export of a pipeline file. */
export interface PipelineDefinition<Env = PipelineEnvironment> {
  /** The pipeline's name. */
  readonly name: string;
  /** How it runs. */
  readonly options: Required<PipelineOptions>;
  /** Builds the stages. Pure: no I/O; may be called more than once. */
  build(ctx: PipelineContext<Env>): readonly Stage<unknown>[];
}

/**
 * Defines a pipeline.
 *
 * @param name The pipeline's name.
 * @param build A pure function from the context to the pipeline's stages.
 * @param options How the pipeline runs.
 * @returns The definition, to be the pipeline file's default export.
 *
 * @example
 * ```ts
 * import { pipeline } from "./pipeline.ts";
 * import { stage } from "./stage.ts";
 * import assert from "node:assert/strict";
 * const p = pipeline("hello", () => [stage("greet").run((ctx) => ctx.log("hello"))]);
 * assert.equal(p.build({ env: { name: "dev" }, version: undefined, options: {} }).length, 1);
 * ```
 */
export function pipeline<Env = PipelineEnvironment>(
  name: string,
  build: (ctx: PipelineContext<Env>) => readonly Stage<unknown>[],
  options: PipelineOptions = {},
): PipelineDefinition<Env> {
  return {
    name,
    options: {
      failFast: options.failFast ?? true,
      requiresVersion: options.requiresVersion ?? true,
    },
    build,
  };
}
