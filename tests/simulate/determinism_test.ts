/**
 * `--replay <seed>` reruns a run exactly: the same journal bytes, timestamps included (the
 * run id and the virtual clock's start come from the seed), and another seed another
 * journal. The small canary fixture, in a real in-process sandbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planRun, runIdOf, simulate } from "../../lib/simulate/mod.ts";

const FIXTURES = "tests/fixtures/simulate";

async function journalOf(work: string, seed: number): Promise<string> {
  const { results } = await simulate({
    pipelineFile: `${FIXTURES}/pipelines/good.ts`,
    environment: "small",
    environmentsDir: `${FIXTURES}/environments`,
    runs: 1,
    seed: "unused",
    replay: seed,
    workDir: work,
    keepRuns: true,
  });
  assert.equal(results.length, 1);
  assert.equal(results[0]!.runDir, join(work, "runs", runIdOf(seed, "sequential")));
  return await Deno.readTextFile(join(results[0]!.runDir, "events.jsonl"));
}

Deno.test("a replay writes the same journal bytes; another seed does not", async () => {
  const work = await Deno.makeTempDir({ prefix: "simulate-replay-" });
  try {
    const seed = 12345, other = 54321;
    const first = await journalOf(join(work, "a"), seed);
    const again = await journalOf(join(work, "b"), seed);
    assert.ok(first.split("\n").length > 10, "a journal of some length");
    assert.equal(again, first, "two replays of one seed: identical events.jsonl");
    const start = new Date(planRun(seed).startMs).toISOString();
    assert.equal(JSON.parse(first.split("\n")[0]!).ts, start, "stamped on the seed's clock");
    const elsewhere = await journalOf(join(work, "c"), other);
    assert.notEqual(elsewhere, first);
    const stamps = (j: string) => j.trim().split("\n").map((l) => JSON.parse(l).ts);
    assert.notDeepEqual(stamps(elsewhere), stamps(first), "another seed, another clock");
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
