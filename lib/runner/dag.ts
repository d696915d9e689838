/**
 * The stage graph: validation (duplicates, unknown references, cycles, stages that
 * can never run) and levels for the plan.
 * @module
 */
import type { StageDescription as StageSpec } from "../dsl/describe.ts";

/** An invalid graph. `stages` names every stage involved. */
export class DagError extends Error {
  /** The stages the problem involves. */
  readonly stages: readonly string[];

  /** @param message What is wrong. @param stages The stages involved. */
  constructor(message: string, stages: readonly string[]) {
    super(message);
    this.name = "DagError";
    this.stages = stages;
  }
}

/** A validated graph. */
export interface Dag {
  /** Stages by id, in definition order. */
  readonly stages: ReadonlyMap<string, StageSpec>;
  /** Ordinary stages by level: level 0 needs nothing; level n needs only lower levels. */
  readonly levels: readonly (readonly string[])[];
  /** `onFailure` and `finally` handlers, in definition order. */
  readonly handlers: readonly string[];
  /** For each stage, the stages that need it. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function findCycle(specs: ReadonlyMap<string, StageSpec>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 1);
    path.push(id);
    for (const dep of specs.get(id)!.needs) {
      if (!specs.has(dep)) continue;
      const s = state.get(dep);
      if (s === 1) return [...path.slice(path.indexOf(dep)), dep];
      if (s === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of specs.keys()) {
    if (!state.has(id)) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Validates stages and builds the graph.
 *
 * @param stages The stages' specs, in definition order.
 * @returns The graph.
 * @throws {DagError} On a duplicate id, an unknown `needs`, a cycle (the message
 * prints it, `a → b → a`), or a stage that needs a failure handler.
 *
 * @example
 * ```ts
 * import { buildDag } from "./dag.ts";
 * import { stage } from "../dsl/stage.ts";
 * import assert from "node:assert/strict";
 * const a = stage("a");
 * const dag = buildDag([a.spec, stage("b").needs(a).spec]);
 * assert.deepEqual(dag.levels, [["a"], ["b"]]);
 * ```
 */
export function buildDag(stages: readonly StageSpec[]): Dag {
  const specs = new Map<string, StageSpec>();
  for (const s of stages) {
    const first = specs.get(s.id);
    if (first) {
      const where = first.location && s.location ? ` (${first.location} and ${s.location})` : "";
      throw new DagError(`Invalid pipeline: stage id "${s.id}" is defined twice${where}`, [s.id]);
    }
    specs.set(s.id, s);
  }
  for (const s of stages) {
    for (const ref of [...s.needs, ...s.watches]) {
      if (ref === s.id) {
        throw new DagError(
          `Invalid pipeline: stage "${s.id}" needs itself${s.location ? ` (${s.location})` : ""}`,
          [s.id],
        );
      }
      if (!specs.has(ref)) {
        const hint = closest(ref, specs.keys());
        throw new DagError(
          `Invalid pipeline: stage "${s.id}"${
            s.location ? ` (${s.location})` : ""
          } needs unknown stage "${ref}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
          [s.id, ref],
        );
      }
    }
    if (s.kind === "normal") {
      for (const dep of s.needs) {
        if (specs.get(dep)!.kind !== "normal") {
          throw new DagError(
            `Invalid pipeline: stage "${s.id}" needs "${dep}", which only runs as a ${
              specs.get(dep)!.kind
            } handler: "${s.id}" could never run in a successful run`,
            [s.id, dep],
          );
        }
      }
    }
  }
  const cycle = findCycle(specs);
  if (cycle) {
    const where = cycle.slice(0, -1).flatMap((id) => {
      const at = specs.get(id)?.location;
      return at ? [`"${id}" at ${at}`] : [];
    });
    throw new DagError(
      `Invalid pipeline: cycle ${cycle.join(" → ")}${
        where.length ? `: ${where.join(", ")} (drop one of these needs)` : ""
      }`,
      cycle.slice(0, -1),
    );
  }

  const dependents = new Map<string, string[]>([...specs.keys()].map((id) => [id, []]));
  for (const s of stages) for (const dep of s.needs) dependents.get(dep)!.push(s.id);

  const level = new Map<string, number>();
  const levelOf = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    const needs = specs.get(id)!.needs;
    const l = needs.length === 0 ? 0 : Math.max(...needs.map(levelOf)) + 1;
    level.set(id, l);
    return l;
  };
  const levels: string[][] = [];
  const handlers: string[] = [];
  for (const s of stages) {
    if (s.kind !== "normal") {
      handlers.push(s.id);
      continue;
    }
    const l = levelOf(s.id);
    (levels[l] ??= []).push(s.id);
  }
  return { stages: specs, levels, handlers, dependents };
}
