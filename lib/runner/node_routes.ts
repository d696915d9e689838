/**
 * Which of a pipeline's imports could print past the stage Worker's guard through Node's
 * compatibility layer: an npm package (it may reach Node's output by any route), or a Node
 * module other than the few that cannot print. A pipeline with none has Workers that do not
 * load Node's layer as they start (~35 ms of CPU each, ~50 Workers a production rehearsal):
 * the global `process`, the only way left to it, is rerouted when first read. Read from the
 * module graph as `deno info --json` gives it, static and literal dynamic imports alike; an
 * import whose specifier is computed at run time is not in the graph (a guard against
 * accidents and careless libraries, not against a hostile pipeline: `./worker_guard.ts`).
 * @module
 */
import type { GraphModule } from "./typecheck.ts";

/** Node's modules that cannot write to the terminal (no stream of stdout or stderr, no fd). */
const QUIET = new Set([
  "node:assert",
  "node:assert/strict",
  "node:buffer",
  "node:crypto",
  "node:dgram",
  "node:events",
  "node:fs/promises",
  "node:path",
  "node:timers",
  "node:tls",
  "node:url",
  "node:zlib",
]);

/**
 * The imports of a module graph that need the Worker's guard for Node loaded as it starts:
 * what the root reaches by imports that are evaluated (static or dynamic; not `import type`,
 * which is erased), that is an npm package or a Node module that can print.
 *
 * @param modules The graph's modules (`deno info --json`'s `modules`).
 * @param root The pipeline module's specifier (`file:///…/deploy.ts`).
 * @returns The specifiers, sorted, once each; empty when there is none.
 *
 * @example
 * ```ts
 * import { nodeRoutes } from "./node_routes.ts";
 * import assert from "node:assert/strict";
 * const graph = [
 *   { specifier: "file:///p.ts", dependencies: [
 *     { code: { specifier: "node:crypto" } }, { code: { specifier: "npm:pino@9" } },
 *     { type: { specifier: "file:///types.ts" } },
 *   ] },
 *   { specifier: "file:///types.ts", dependencies: [{ code: { specifier: "npm:zod@4" } }] },
 * ];
 * assert.deepEqual(nodeRoutes(graph, "file:///p.ts"), ["npm:pino@9"]);
 * ```
 */
export function nodeRoutes(modules: readonly GraphModule[], root: string): string[] {
  const imports = new Map(modules.map((m) => [
    m.specifier,
    (m.dependencies ?? []).flatMap((d) => d.code?.specifier ? [d.code.specifier] : []),
  ]));
  const found = new Set<string>();
  const seen = new Set([root]);
  const queue = [root];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    if (at.startsWith("npm:") || (at.startsWith("node:") && !QUIET.has(at))) found.add(at);
    for (const next of imports.get(at) ?? []) {
      if (!seen.has(next)) seen.add(next), queue.push(next);
    }
  }
  return [...found].sort();
}
