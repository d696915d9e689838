/**
 * What a stage Worker loads. Every attempt of every stage starts a Worker that imports the
 * whole pipeline module before it runs a line of the stage, ~56 times per production
 * rehearsal, so whatever the pipeline imports statically is paid ~56 times. An npm package,
 * a `node:` module, or the environment files' parser and schema (zod
 * builds its schemas when the module is evaluated) cost 150 ms a Worker together (measured
 * in bench/README.md, "What a stage Worker loads"). This test reads the module graph as
 * `deno info --json` gives it, follows static imports only (a dynamic `import()` is loaded
 * when it runs), and names each offender with the chain that brings it in.
 * @module
 */
import assert from "node:assert/strict";

interface Graph {
  modules: {
    specifier: string;
    dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
  }[];
}

// No `node:` module either: loading any starts Node's layer (~35 ms a Worker); the guard's
// part for Node (`worker_guard_node.ts`) is loaded only for pipelines that need it (the
// last test here).
/** Project modules too costly for every Worker: the environment files' parser and schema. */
const HEAVY = ["lib/config/schema.ts", "lib/config/load_environment.ts", "lib/sandbox/sandbox.ts"];

/** Each statically imported module a Worker should not load, with the chain that imports it. */
function offenders(graph: Graph, root: string): string[] {
  const deps = new Map(graph.modules.map((m) => [
    m.specifier,
    (m.dependencies ?? []).filter((d) => !d.isDynamic).flatMap((d) =>
      d.code?.specifier ? [d.code.specifier] : []
    ),
  ]));
  const parent = new Map<string, string | null>([[root, null]]);
  const queue = [root];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of deps.get(at) ?? []) {
      if (!parent.has(next)) parent.set(next, at), queue.push(next);
    }
  }
  const chain = (s: string) => {
    const out: string[] = [];
    for (let x: string | null | undefined = s; x; x = parent.get(x)) {
      out.push(x.replace(/^file:\/\/.*?\/(lib|pipelines|checks)\//, "$1/"));
    }
    return out.join(" <- ");
  };
  return [...parent.keys()].filter((s) =>
    s.startsWith("npm:") || s.startsWith("node:") ||
    HEAVY.some((h) => s.endsWith(`/${h}`))
  ).map(chain);
}

async function graphOf(path: string): Promise<{ graph: Graph; root: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", path],
    cwd: new URL("../../", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return {
    graph: JSON.parse(new TextDecoder().decode(out.stdout)),
    root: new URL(`../../${path}`, import.meta.url).href,
  };
}

for (const pipeline of ["deploy", "rollback", "promote", "metrics"]) {
  Deno.test(`pipelines/${pipeline}.ts loads no npm package, no costly node: module and no config parser`, async () => {
    const { graph, root } = await graphOf(`pipelines/${pipeline}.ts`);
    assert.ok(graph.modules.length > 10, "deno info gave a graph");
    assert.deepEqual(offenders(graph, root), []);
  });
}

Deno.test("the Worker's own modules load no npm package", async () => {
  for (const path of ["lib/runner/worker_guard.ts", "lib/runner/worker_runtime.ts"]) {
    const { graph, root } = await graphOf(path);
    assert.deepEqual(offenders(graph, root), [], path);
  }
});

Deno.test("the rule bites: npm, node:tls and the config schema are named with their chain; dynamic imports are not", () => {
  const f = (s: string) => `file:///x/${s}`;
  const graph: Graph = {
    modules: [
      {
        specifier: f("pipelines/p.ts"),
        dependencies: [
          { code: { specifier: f("checks/a.ts") } },
          { isDynamic: true, code: { specifier: "npm:/pglite@1" } },
        ],
      },
      {
        specifier: f("checks/a.ts"),
        dependencies: [
          { code: { specifier: "node:tls" } },
          { code: { specifier: f("lib/config/schema.ts") } },
        ],
      },
      {
        specifier: f("lib/config/schema.ts"),
        dependencies: [{ code: { specifier: "npm:zod@4" } }],
      },
    ],
  };
  assert.deepEqual(offenders(graph, f("pipelines/p.ts")), [
    "node:tls <- checks/a.ts <- pipelines/p.ts",
    "lib/config/schema.ts <- checks/a.ts <- pipelines/p.ts",
    "npm:zod@4 <- lib/config/schema.ts <- checks/a.ts <- pipelines/p.ts",
  ]);
});

Deno.test("which pipelines' Workers load Node's layer as they start: only those whose code can reach it", async () => {
  const { readModuleGraph } = await import("../../lib/runner/typecheck.ts");
  const { nodeRoutes } = await import("../../lib/runner/node_routes.ts");
  const routes = async (path: string) => {
    const url = new URL(`../../${path}`, import.meta.url);
    const graph = await readModuleGraph(url.pathname);
    assert.ok(graph.ok, path);
    return nodeRoutes(graph.modules, url.href);
  };
  // Their checks import node:crypto, node:tls, node:dgram, node:fs/promises when they run
  // (Node modules that cannot print), and name the migrations' drivers in `import type` only.
  for (const p of ["deploy", "rollback", "promote", "metrics"]) {
    assert.deepEqual(await routes(`pipelines/${p}.ts`), [], p);
  }
  assert.deepEqual(await routes("tests/runner/fixtures/leaks_global_process.ts"), []);
  assert.deepEqual(await routes("tests/runner/fixtures/leaks.ts"), ["node:module", "node:process"]);
  assert.ok((await routes("pipelines/build.ts")).some((s) => s.startsWith("npm:")));
});
