/**
 * Each invariant catches a deliberately broken pipeline (tests/fixtures/simulate/pipelines),
 * rehearsed in a real in-process sandbox, and the same rehearsal of the unbroken pipeline
 * breaks none: the check is what tells them apart.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareRehearsal, type RehearsalPlan, rehearse } from "../../lib/targets/rehearse.ts";
import { checkInvariants, type InvariantName, observeSandbox } from "../../lib/simulate/mod.ts";

const FIXTURES = "tests/fixtures/simulate";
const ENVIRONMENTS = `${FIXTURES}/environments`;

function plan(work: string, pipeline: string, version: string, dir: string): RehearsalPlan {
  return {
    pipelineFile: `${FIXTURES}/pipelines/${pipeline}.ts`,
    environment: "small",
    version,
    environmentsDir: ENVIRONMENTS,
    sandboxDir: join(work, dir),
    runsDir: join(work, "runs"),
    // `deno task check` type-checks these fixtures; a rehearsal's own check of each broken
    // pipeline would be most of this test's time and is not what it tests.
    skipTypeCheck: true,
  };
}

/** Rehearses `pipeline` from the baseline state under `scenario`; answers the violations. */
async function violationsOf(
  work: string,
  base: string,
  pipeline: string,
  scenario: string | undefined,
): Promise<{ invariants: InvariantName[]; status: string; messages: string[] }> {
  const prepared = await prepareRehearsal(plan(work, pipeline, "v1.1.0", `run-${pipeline}`));
  const r = await rehearse(prepared, { from: base, faults: { scenario }, inspect: observeSandbox });
  const violations = await checkInvariants({
    version: "1.1.0",
    runDir: r.runDir,
    report: r.report,
    observation: r.inspection!,
  });
  return {
    invariants: [...new Set(violations.map((v) => v.invariant))],
    status: r.report.status,
    messages: violations.map((v) => v.message),
  };
}

Deno.test("simulate's invariants catch each broken pipeline, and not the unbroken one", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "simulate-inv-" });
  try {
    // The state every run starts from: 1.0.0 live, healthy, lock released.
    const basePrepared = await prepareRehearsal(plan(work, "good", "v1.0.0", "base"));
    const base = await rehearse(basePrepared, { inspect: observeSandbox });
    assert.equal(base.report.status, "succeeded", base.report.error ?? "");
    const baseDir = basePrepared.plan.sandboxDir;

    await t.step("a breach (metrics down: fail closed) is rolled back in full", async () => {
      const v = await violationsOf(work, baseDir, "good", "metrics-down");
      assert.equal(v.status, "rolled_back");
      assert.deepEqual(v.invariants, [], v.messages.join("\n"));
    });
    await t.step("a healthy version goes live and breaks nothing", async () => {
      const v = await violationsOf(work, baseDir, "good", undefined);
      assert.equal(v.status, "succeeded");
      assert.deepEqual(v.invariants, [], v.messages.join("\n"));
    });
    await t.step(
      "a rollback that forgets one service: traffic ends split across versions",
      async () => {
        const v = await violationsOf(work, baseDir, "rollback_forgets_one", "metrics-down");
        assert.ok(v.invariants.includes("ends-on-one-ready-version"), v.messages.join("\n"));
      },
    );
    await t.step("a promotion despite a breach: the breached version got 100%", async () => {
      const v = await violationsOf(work, baseDir, "promotes_despite_breach", "metrics-down");
      assert.ok(v.invariants.includes("breach-not-promoted"), v.messages.join("\n"));
    });
    await t.step("a pipeline that leaves the lock held", async () => {
      const v = await violationsOf(work, baseDir, "keeps_lock", undefined);
      assert.deepEqual(v.invariants, ["lock-released"], v.messages.join("\n"));
    });
    await t.step(
      "a pipeline that prints a secret in a form the redactor misses (hex): found, not quoted",
      async () => {
        const v = await violationsOf(work, baseDir, "prints_secret", undefined);
        assert.deepEqual(v.invariants, ["no-secret-in-artefacts"], v.messages.join("\n"));
        assert.ok(v.messages.every((m) => /contains \d+ seeded secret value/.test(m)));
      },
    );
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
