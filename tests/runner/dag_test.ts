// The stage graph: duplicate ids, unknown needs (with a suggestion), cycles and self-needs
// are refused naming the stages, and `run` of an invalid graph exits 2 with no run folder.
import assert from "node:assert/strict";
import { buildDag, DagError } from "../../lib/runner/dag.ts";
import { stage } from "../../mod.ts";
import { cli, fixture } from "./_run.ts";

function dagError(fn: () => unknown): DagError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DagError) return err;
    throw err;
  }
  assert.fail("expected a DagError");
}

Deno.test("buildDag() rejects a duplicate id, naming it", () => {
  const e = dagError(() => buildDag([stage("a").spec, stage("a").spec]));
  assert.match(e.message, /stage id "a" is defined twice/);
  assert.deepEqual(e.stages, ["a"]);
});

Deno.test("buildDag() rejects an unknown need and suggests the closest id", () => {
  const e = dagError(() => buildDag([stage("migrate").spec, stage("deploy").needs("migrat").spec]));
  assert.match(
    e.message,
    /stage "deploy" \(tests\/runner\/dag_test\.ts:\d+:\d+\) needs unknown stage "migrat" \(did you mean "migrate"\?\)/,
  );
  assert.deepEqual(e.stages, ["deploy", "migrat"]);
});

Deno.test("buildDag() prints the cycle", () => {
  const e = dagError(() =>
    buildDag([stage("a").needs("c").spec, stage("b").needs("a").spec, stage("c").needs("b").spec])
  );
  assert.match(e.message, /cycle a → c → b → a/);
  assert.deepEqual([...e.stages].sort(), ["a", "b", "c"]);
});

Deno.test("buildDag() rejects a stage that needs itself", () => {
  const e = dagError(() => buildDag([stage("a").needs("a").spec]));
  assert.match(e.message, /stage "a" needs itself/);
});

Deno.test("buildDag() rejects an ordinary stage that needs a failure handler", () => {
  const rollback = stage("rollback").asRollback();
  const e = dagError(() => buildDag([rollback.spec, stage("next").needs(rollback).spec]));
  assert.match(e.message, /"next" needs "rollback", which only runs as a onFailure handler/);
});

Deno.test("buildDag() rejects a handler watching an unknown stage", () => {
  const e = dagError(() => buildDag([stage("notify").finally("deploy").spec]));
  assert.match(e.message, /needs unknown stage "deploy"/);
});

Deno.test("buildDag() groups stages by level and keeps handlers apart", () => {
  const a = stage("a");
  const b = stage("b");
  const c = stage("c").needs(a, b);
  const dag = buildDag([a.spec, b.spec, c.spec, stage("notify").finally().spec]);
  assert.deepEqual(dag.levels, [["a", "b"], ["c"]]);
  assert.deepEqual(dag.handlers, ["notify"]);
  assert.deepEqual(dag.dependents.get("a"), ["c"]);
});

Deno.test("run of an invalid graph exits 2 naming the cycle, and creates no run folder", async () => {
  const runsDir = await Deno.makeTempDir();
  try {
    const r = await cli([
      "run",
      fixture("cycle.ts"),
      "development",
      "--runs-dir",
      runsDir,
      "--skip-type-check",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error: Invalid pipeline: cycle a → c → b → a/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});
