/**
 * The code inside the Worker that evaluates a pipeline module for the runner: with no
 * permissions at all (no file, network, environment or subprocess), it imports the
 * module, builds the stages and sends back only their description — plain data.
 * @module
 */
import type { PipelineDefinition } from "../dsl/pipeline.ts";
import { describeStage, type StageDescription } from "../dsl/describe.ts";
import { Stage } from "../dsl/stage.ts";
import { locateError } from "../dsl/location.ts";
import type { PipelineContext } from "../dsl/pipeline.ts";

/** Main → describe Worker: build the stages for this context. */
export interface BuildRequest {
  /** The message's kind. */
  readonly type: "build";
  /** What the build function receives. */
  readonly context: PipelineContext<unknown>;
}

/** Describe Worker → main. */
export type DescribeMessage =
  | {
    readonly type: "loaded";
    readonly name: string;
    readonly options: PipelineDefinition<unknown>["options"];
    readonly metrics: unknown;
  }
  | { readonly type: "invalid"; readonly message: string }
  | { readonly type: "built"; readonly stages: readonly StageDescription[] }
  | { readonly type: "buildError"; readonly name: string; readonly message: string };

function isDefinition(value: unknown): value is PipelineDefinition<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { build?: unknown }).build === "function";
}

/**
 * Serves one description of a pipeline module. Called by the describe Worker's entry.
 *
 * @param mod The pipeline module's namespace.
 *
 * @example
 * ```ts ignore
 * import * as mod from "./pipelines/deploy.ts";
 * serveDescription(mod); // inside the Worker: waits for a "build" message
 * ```
 */
export function serveDescription(mod: Record<string, unknown>): void {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<BuildRequest>) => void) | null;
    postMessage(m: DescribeMessage): void;
  };
  const definition = mod.default;
  if (!isDefinition(definition)) {
    scope.postMessage({
      type: "invalid",
      message: "has no default export made by pipeline(name, build)",
    });
    return;
  }
  let metrics: unknown = {};
  try {
    metrics = structuredClone(mod.metrics ?? {});
  } catch {
    scope.postMessage({ type: "invalid", message: "exports `metrics` that is not plain data" });
    return;
  }
  scope.onmessage = (e) => {
    try {
      const built: unknown = definition.build(e.data.context);
      if (!Array.isArray(built)) {
        throw new TypeError(
          `its build function returned ${
            built === null ? "null" : typeof built
          }, not an array of stages`,
        );
      }
      const stages = built.map((s, i) => {
        if (!(s instanceof Stage)) {
          throw new TypeError(
            `its build function returned an array whose item ${i} is not a stage (made by stage(id))`,
          );
        }
        return describeStage(s.spec);
      });
      if (stages.length === 0) {
        throw new TypeError("its build function returned no stages: a pipeline needs at least one");
      }
      scope.postMessage({ type: "built", stages });
    } catch (err) {
      const e = err instanceof Error ? locateError(err) : new Error(String(err));
      scope.postMessage({ type: "buildError", name: e.name, message: e.message });
    }
  };
  scope.postMessage({
    type: "loaded",
    name: definition.name,
    options: definition.options,
    metrics,
  });
}
