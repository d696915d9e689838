/**
 * A train stops at the first step that does not succeed, and production only ever receives
 * what passed staging — through the real CLI on the sandbox:
 *
 * - a fault in staging's deploy (`--scenario staging=crashloop`) stops the train there: exit
 *   1, the step, its run and its report named (the last line), production never started;
 * - failing integration tests (`--scenario integration-tests=tests-fail/integration`) stop it
 *   before production; a train started at production afterwards (`--from production`) is
 *   refused by production's own gate, which reads the failed integration Job in staging;
 * - on a fresh sandbox, production refuses a version that never went to staging, and a train
 *   started at staging first gates on development's records (nothing deployed to staging).
 * @module
 */
import assert from "node:assert/strict";
import {
  checkOf,
  lastReport,
  PHRASE,
  reportOf,
  startPromote,
  summaryOf,
  where,
  workDir,
} from "./_promote.ts";

/** A train of the environments (the build is train_test.ts's: images built elsewhere here). */
async function promote(dir: string, ...args: string[]) {
  const from = args.includes("--from") ? [] : ["--from", "development"];
  return await startPromote([
    "v1.2.4",
    ...where(dir),
    "--out",
    `${dir}/summary.json`,
    ...from,
    ...args,
  ]).ended;
}

/** The runs the runs folder holds: pipeline and environment of each. */
async function runsIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/runs`)) {
      const r = await reportOf(`${dir}/runs/${e.name}/report.json`).catch(() => undefined);
      if (r) out.push(`${r.pipeline.name} ${r.environment}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test("deno task promote stops at a staging deploy that fails: production never starts", async () => {
  const dir = await workDir("promote-stop-staging-");
  try {
    const ended = await promote(dir, "--confirm", PHRASE, "--scenario", "staging=crashloop");
    assert.equal(ended.code, 1, ended.stdout.slice(-4000) + ended.stderr);
    const summary = await summaryOf(`${dir}/summary.json`);
    assert.equal(summary.stoppedAt, "staging");
    assert.deepEqual(summary.steps.map((s) => [s.id, s.status]), [
      ["development", "succeeded"],
      ["smoke-tests", "succeeded"],
      ["staging", "failed"],
      ["integration-tests", "not-run"],
      ["production", "not-run"],
    ]);
    const failed = summary.steps[2]!;
    assert.ok(failed.command!.includes("crashloop"), "the scenario went to staging's step");
    assert.ok(!summary.steps[0]!.command!.includes("--scenario"), "and to no other step");
    assert.match(
      ended.stdout,
      new RegExp(`^promotion v1\\.2\\.4: failed at staging \\(run ${failed.runId}\\): `, "m"),
    );
    assert.match(ended.stdout, new RegExp(`^explain: deno task explain ${failed.runId}$`, "m"));
    assert.equal(lastReport(ended.stdout), failed.report);
    const report = await reportOf(failed.report!);
    assert.equal(report.environment, "staging");
    assert.notEqual(report.status, "succeeded");
    assert.deepEqual(await runsIn(dir), [
      "deploy development",
      "deploy staging",
      "promotion-tests development",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task promote stops at failing integration tests, and production's own gate refuses the version after", async () => {
  const dir = await workDir("promote-stop-tests-");
  try {
    const ended = await promote(
      dir,
      "--confirm",
      PHRASE,
      "--scenario",
      "integration-tests=tests-fail/integration",
    );
    assert.equal(ended.code, 1, ended.stdout.slice(-4000) + ended.stderr);
    const summary = await summaryOf(`${dir}/summary.json`);
    assert.equal(summary.stoppedAt, "integration-tests");
    assert.deepEqual(summary.steps.map((s) => s.status), [
      "succeeded",
      "succeeded",
      "succeeded",
      "failed",
      "not-run",
    ]);
    const tests = await reportOf(summary.steps[3]!.report!);
    const job = checkOf(tests, "tests:integration", "integration tests");
    assert.equal(job.status, "failed");
    assert.match(
      job.message,
      /integration tests failed: Job tracktion-staging\/integration-tests-1-2-4-\w+ BackoffLimitExceeded/,
    );
    const jobName = String(job.evidence!.job);
    assert.equal(lastReport(ended.stdout), summary.steps[3]!.report);
    assert.ok(!(await runsIn(dir)).includes("deploy production"), "production never ran");

    // Skipping the failed step does not help: production's gate reads the failed Job.
    const again = await promote(dir, "--confirm", PHRASE, "--from", "production");
    assert.equal(again.code, 1, again.stdout.slice(-4000) + again.stderr);
    const later = await summaryOf(`${dir}/summary.json`);
    assert.deepEqual(later.steps.map((s) => [s.id, s.status]), [["production", "failed"]]);
    const production = await reportOf(later.steps[0]!.report!);
    const gate = checkOf(production, "preflight:production", "staging tests passed");
    assert.equal(gate.status, "failed");
    assert.match(gate.message, new RegExp(`staging tests failed: ${jobName}`));
    // Refused in pre-flight: no slot was deployed, and staging was not rehearsed again.
    for (
      const s of production.stages.filter((x) => /^(migrate|deploy:|canary|switch)/.test(x.id))
    ) {
      assert.notEqual(s.status, "succeeded", `${s.id} did not run`);
    }
    assert.match(again.stdout, /rehearsal: staging left as it is/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task promote on a fresh sandbox: production refuses a version that skipped staging; staging gates on development", async () => {
  const dir = await workDir("promote-skip-");
  try {
    const ended = await promote(dir, "--confirm", PHRASE, "--from", "production");
    assert.equal(ended.code, 1, ended.stdout.slice(-4000) + ended.stderr);
    const summary = await summaryOf(`${dir}/summary.json`);
    assert.deepEqual(summary.steps.map((s) => [s.id, s.status]), [["production", "failed"]]);
    const production = await reportOf(summary.steps[0]!.report!);
    const same = checkOf(production, "preflight:production", "Same version succeeded in staging");
    assert.equal(same.status, "failed");
    assert.match(same.message, /v1\.2\.4 never succeeded in staging/);
    assert.deepEqual(await runsIn(dir), ["deploy production"]);

    const staging = await promote(dir, "--from", "staging", "--to", "staging");
    assert.equal(staging.code, 1, staging.stdout.slice(-4000) + staging.stderr);
    const gated = await summaryOf(`${dir}/summary.json`);
    assert.deepEqual(gated.steps.map((s) => [s.id, s.status]), [
      ["gate:development", "failed"],
      ["staging", "not-run"],
      ["integration-tests", "not-run"],
    ]);
    const gate = await reportOf(gated.steps[0]!.report!);
    assert.match(
      checkOf(gate, "released", "Same version succeeded in development").message,
      /v1\.2\.4 never succeeded in development/,
    );
    assert.deepEqual(await runsIn(dir), ["deploy production", "promotion-tests development"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
