/**
 * The remembered type check (lib/runner/typecheck.ts): a pass is reused only for the very
 * same sources, configuration and lock file; an edit to the pipeline, to a module it imports
 * or to the configuration runs the compiler again and its errors are reported with file and
 * line — also through the CLI (exit 2). Real `deno check`, real files, a cache of its own.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { typeCheck } from "../../lib/runner/typecheck.ts";
import { TOOL_NAME } from "../../lib/product/mod.ts";

const CLI = new URL("../../lib/cli/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** The test's temporary folders, removed when it ends. */
const temps: string[] = [];
async function temp(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "typecheck-" });
  temps.push(dir);
  return dir;
}
globalThis.addEventListener("unload", () => {
  for (const dir of temps) Deno.removeSync(dir, { recursive: true });
});

/** A tiny project: a pipeline importing a module, its deno.json and deno.lock. */
async function project(): Promise<string> {
  const dir = await temp();
  await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
  await Deno.writeTextFile(join(dir, "deno.lock"), '{ "version": "5" }\n');
  await Deno.writeTextFile(
    join(dir, "dep.ts"),
    "export function double(n: number): number {\n  return n * 2;\n}\n",
  );
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    'import { double } from "./dep.ts";\nexport const four: number = double(2);\n',
  );
  return dir;
}

/** Type-checks the project's pipeline; how many times the compiler ran is counted. */
function checker(cacheDir: string) {
  const counter = { compiles: 0 };
  const check = (dir: string) =>
    typeCheck("pipeline.ts", { cwd: dir, cacheDir, onCompile: () => counter.compiles++ });
  return { counter, check };
}

Deno.test("a pass is remembered: the same sources pass again without the compiler, also copied elsewhere", async () => {
  const [dir, cache] = [await project(), await temp()];
  const { counter, check } = checker(cache);
  assert.deepEqual(await check(dir), []);
  assert.equal(counter.compiles, 1);
  assert.deepEqual(await check(dir), []);
  assert.equal(counter.compiles, 1, "the second check of unchanged sources reuses the pass");
  // A fresh clone: the same files in another folder (Deno's own cache keys on the path).
  const clone = await project();
  assert.deepEqual(await check(clone), []);
  assert.equal(counter.compiles, 1);
});

Deno.test("a type error written after the pass was remembered is caught, with file and line", async () => {
  const [dir, cache] = [await project(), await temp()];
  const { counter, check } = checker(cache);
  assert.deepEqual(await check(dir), []);
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    'import { double } from "./dep.ts";\nexport const four: string = double(2);\n',
  );
  const problems = await check(dir);
  assert.equal(counter.compiles, 2);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, "pipeline.ts");
  assert.equal(problems[0]!.line, 2);
  assert.equal(problems[0]!.code, "TS2322");
  // A failure is never remembered: it fails again (the compiler runs each time).
  assert.equal((await check(dir)).length, 1);
  assert.equal(counter.compiles, 3);
});

Deno.test("a changed dependency (an imported module, the configuration) runs the compiler again", async () => {
  const [dir, cache] = [await project(), await temp()];
  const { counter, check } = checker(cache);
  assert.deepEqual(await check(dir), []);
  // The imported module now returns a string: the pipeline's line 2 no longer type-checks.
  await Deno.writeTextFile(
    join(dir, "dep.ts"),
    "export function double(n: number): string {\n  return `${n * 2}`;\n}\n",
  );
  const problems = await check(dir);
  assert.equal(counter.compiles, 2);
  assert.deepEqual(problems.map((p) => `${p.file}:${p.line}`), ["pipeline.ts:2"]);
  // Back as it was: the remembered pass counts again (same digests).
  await Deno.writeTextFile(
    join(dir, "dep.ts"),
    "export function double(n: number): number {\n  return n * 2;\n}\n",
  );
  assert.deepEqual(await check(dir), []);
  assert.equal(counter.compiles, 2);
  // A stricter configuration: the unused parameter of dep.ts becomes an error.
  await Deno.writeTextFile(
    join(dir, "dep.ts"),
    "export function double(n: number, unused: number): number {\n  return n * 2;\n}\n",
  );
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    'import { double } from "./dep.ts";\nexport const four: number = double(2, 0);\n',
  );
  assert.deepEqual(await check(dir), []);
  await Deno.writeTextFile(
    join(dir, "deno.json"),
    '{ "compilerOptions": { "noUnusedParameters": true } }\n',
  );
  const strict = await check(dir);
  assert.deepEqual(strict.map((p) => `${p.file}:${p.line}:${p.code}`), ["dep.ts:1:TS6133"]);
});

Deno.test("without a deno.lock nothing is remembered (dependencies could move)", async () => {
  const [dir, cache] = [await project(), await temp()];
  await Deno.remove(join(dir, "deno.lock"));
  const { counter, check } = checker(cache);
  assert.deepEqual(await check(dir), []);
  assert.deepEqual(await check(dir), []);
  assert.equal(counter.compiles, 2);
});

Deno.test("through the CLI, a type error after a remembered pass exits 2 naming file and line", async () => {
  const [dir, cache] = [await project(), await temp()];
  const run = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, CLI, "run", join(dir, "pipeline.ts"), "nowhere"],
      cwd: dir,
      env: { XDG_CACHE_HOME: cache, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const { check } = checker(join(cache, TOOL_NAME, "typecheck"));
  assert.deepEqual(await check(dir), []); // remembered where the CLI looks
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    'import { double } from "./dep.ts";\nexport const four: string = double(2);\n',
  );
  const out = await run();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 2, text);
  assert.match(text, /does not type-check/);
  assert.match(text, /pipeline\.ts:2:\d+: .*TS2322/);
});

Deno.test("two work trees of one project (same config and lock) keep their own pass", async () => {
  const [a, b, cache] = [await project(), await project(), await temp()];
  await Deno.writeTextFile(
    join(b, "pipeline.ts"),
    'import { double } from "./dep.ts";\nexport const eight: number = double(4);\n',
  );
  const { counter, check } = checker(cache);
  assert.deepEqual(await check(a), []);
  assert.deepEqual(await check(b), []);
  assert.equal(counter.compiles, 2);
  assert.deepEqual(await check(a), []);
  assert.deepEqual(await check(b), []);
  assert.equal(counter.compiles, 2, "neither evicted the other's pass");
});
