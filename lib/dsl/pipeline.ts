/**
 * Pipelines: a name and a pure function from `(env, version, options)` to stages.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { Stage } from "./stage.ts";
import type { Version } from "./types.ts";

/** What a pipeline's definition function receives. */
export interface PipelineContext<Env = Environment> {
  /** The validated environment. */
  readonly env: Env;
  /** The version to deploy, when given. */
  readonly version: Version | undefined;
  /** Extra options from the command line (`--option key=value`) or the caller. */
  readonly options: Readonly<Record<string, string>>;
}

/** How a pipeline runs as a whole. */
export interface PipelineOptions {
  /** On the first failure, stop the stages still running (default `true`). */
  readonly failFast?: boolean;
  /** Whether the pipeline needs a version argument (default `true`). */
  readonly requiresVersion?: boolean;
}

/** A pipeline definition; the default export of a pipeline file. */
export interface PipelineDefinition<Env = Environment> {
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
 * const p = pipeline<{ name: string }>("hello", ({ env }) => [
 *   stage("greet").run((ctx) => ctx.log(`hello ${env.name}`)),
 * ]);
 * assert.equal(p.build({ env: { name: "dev" }, version: undefined, options: {} }).length, 1);
 * ```
 */
export function pipeline<Env = Environment>(
  name: string,
  build: (ctx: PipelineContext<Env>) => readonly Stage<unknown>[],
  options: PipelineOptions = {},
): PipelineDefinition<Env> {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,199}$/.test(name)) {
    throw new SyntaxError(
      `Cannot define pipeline ${JSON.stringify(name)?.slice(0, 80)}: a name is 1 to 200 letters, ` +
        'digits, spaces and ". _ : -", starting with a letter or digit (e.g. "deploy")',
    );
  }
  if (typeof build !== "function") {
    throw new TypeError(
      `Cannot define pipeline "${name}": its second argument must be the function that builds ` +
        'its stages, e.g. pipeline("deploy", ({ env }) => [stage("preflight")])',
    );
  }
  return {
    name,
    options: {
      failFast: options.failFast ?? true,
      requiresVersion: options.requiresVersion ?? true,
    },
    build,
  };
}
