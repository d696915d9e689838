// Runs chained across time: previousRun() is the latest non-dry run of the same environment
// (its report's final digest, or its journal's last line when its runner died), and
// checkpointOnLine() tells whether a checkpoint kept elsewhere is on a journal.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  checkpointOnLine,
  environmentRuns,
  finalLinkOf,
  journalHead,
  previousRun,
  readChainedRun,
} from "../../lib/audit/run_link.ts";
import { signedFixtureRun } from "./_signed_runs.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

Deno.test("previousRun() links to the latest run of the environment, not dry runs nor others", async () => {
  const runs = await Deno.makeTempDir();
  try {
    assert.equal(await previousRun(runs, "staging"), null);
    const first = await signedFixtureRun(runs, { previous: null });
    const link1 = await previousRun(runs, "staging");
    assert.deepEqual(link1, {
      runId: first.runId,
      digest: first.report.events.digest,
      events: first.report.events.count,
    });
    const second = await signedFixtureRun(runs, { previous: link1, fail: true });
    await signedFixtureRun(runs, { dryRun: true, previous: null });
    await signedFixtureRun(runs, { environment: "development", previous: null });
    // The dry run and the other environment's run are not linked to.
    const link2 = await previousRun(runs, "staging");
    assert.equal(link2?.runId, second.runId);
    assert.equal(link2?.digest, second.report.events.digest);
    // A run resumed leaves itself out.
    assert.equal(
      (await previousRun(runs, "staging", { exclude: second.runId }))?.runId,
      first.runId,
    );
    // What each run recorded, oldest first.
    const chained = await environmentRuns(runs, "staging");
    assert.deepEqual(chained.map((r) => [r.runId === first.runId, r.dryRun]), [
      [true, false],
      [false, false],
      [false, true],
    ]);
    assert.deepEqual(chained[1]!.previous, link1);
    assert.equal((await readChainedRun(first.runDir))?.previous, null);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("finalLinkOf(): a run without a report links at its journal's last whole line", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const run = await signedFixtureRun(runs);
    await Deno.remove(`${run.runDir}/report.json`);
    // A line cut short by a kill is not part of the chain.
    await Deno.writeTextFile(`${run.runDir}/events.jsonl`, '{"seq":99,"ty', { append: true });
    const link = await finalLinkOf(run.runDir, run.runId);
    assert.deepEqual(link, {
      runId: run.runId,
      digest: run.report.events.digest,
      events: run.report.events.count,
    });
    // A report that is not this run's is not believed.
    await Deno.writeTextFile(
      `${run.runDir}/report.json`,
      JSON.stringify({ runId: "other", events: { count: 1, digest: "b".repeat(64) } }),
    );
    assert.equal((await finalLinkOf(run.runDir, run.runId)).digest, run.report.events.digest);
    await assert.rejects(() => finalLinkOf(`${runs}/none`, "none"), Deno.errors.NotFound);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkpointOnLine() holds for the line's hash only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/events.jsonl`;
    const lines = ['{"seq":1}', '{"seq":2}', '{"seq":3}'];
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    assert.ok(await checkpointOnLine(path, 2, sha256(lines[1]!)));
    assert.ok(await checkpointOnLine(path, 2, `sha256:${sha256(lines[1]!)}`));
    assert.ok(!(await checkpointOnLine(path, 3, sha256(lines[1]!))));
    assert.ok(!(await checkpointOnLine(path, 4, sha256(lines[1]!))));
    assert.ok(!(await checkpointOnLine(path, 0, sha256(lines[0]!))));
    assert.ok(!(await checkpointOnLine(path, 1.5, sha256(lines[0]!))));
    assert.ok(!(await checkpointOnLine(`${dir}/none`, 1, sha256(lines[0]!))));
    assert.deepEqual(await journalHead(path), { events: 3, digest: sha256(lines[2]!) });
    // One byte changed in line 2: its checkpoint no longer holds.
    await Deno.writeTextFile(path, lines.join("\n").replace('"seq":2', '"seq":7') + "\n");
    assert.ok(!(await checkpointOnLine(path, 2, sha256(lines[1]!))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("previousRun() with a target: a rehearsal links to rehearsals, a real run to real ones", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const real = await signedFixtureRun(runs, { target: { kind: "kubernetes" } });
    const rehearsal = await signedFixtureRun(runs, { target: { kind: "sandbox" } });
    assert.equal((await previousRun(runs, "staging", { target: "kubernetes" }))?.runId, real.runId);
    assert.equal(
      (await previousRun(runs, "staging", { target: "sandbox" }))?.runId,
      rehearsal.runId,
    );
    assert.equal((await previousRun(runs, "staging"))?.runId, rehearsal.runId);
    // A run whose target is not known (neither its run.started nor its report says) counts.
    const unknown = await signedFixtureRun(runs, {});
    assert.equal((await readChainedRun(unknown.runDir))?.target, undefined);
    assert.equal(
      (await previousRun(runs, "staging", { target: "kubernetes" }))?.runId,
      unknown.runId,
    );
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
