/**
 * Test hooks, rehearsed end to end: the deploy runs the environment's test suites as Jobs
 * labelled `type=test` against the new slot before any traffic moves (smoke and integration in
 * staging, as the runbook's post_deployment_validation), and a failing suite fails the deploy
 * with the Service still selecting the old slot.
 */
import assert from "node:assert/strict";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { jobFaultsOf, parseScenario, testJobFails } from "../../lib/sandbox/scenarios.ts";
import { Rehearsal, stage } from "./_deploy.ts";

const NS = "tracktion-staging";

interface JobItem {
  metadata: { name: string; labels: Record<string, string> };
  status: { conditions?: { type: string; status: string; reason?: string }[] };
}

async function testJobs(r: Rehearsal): Promise<Record<string, string>> {
  const list = JSON.parse(
    await r.kubectl("get", "jobs", "-n", NS, "-l", "type=test", "-o", "json"),
  ) as { items: JobItem[] };
  return Object.fromEntries(list.items.map((j) => {
    const done = (j.status.conditions ?? []).find((c) =>
      (c.type === "Complete" || c.type === "Failed") && c.status === "True"
    );
    return [`${j.metadata.labels.suite}@${j.metadata.labels.version}`, done?.type ?? "running"];
  }));
}

Deno.test("scenario tests-fail: read apart from the traffic faults, only for type=test Jobs", () => {
  assert.deepEqual(parseScenario("tests-fail"), []);
  assert.equal(parseScenario("tests-fail,canary-errors")[0]?.kind, "errors");
  assert.deepEqual(jobFaultsOf("tests-fail/smoke+integration"), [
    { name: "tests-fail", suites: ["smoke", "integration"] },
  ]);
  assert.ok(testJobFails("tests-fail", { type: "test", suite: "smoke" }));
  assert.ok(!testJobFails("tests-fail/integration", { type: "test", suite: "smoke" }));
  assert.ok(!testJobFails("tests-fail", { "job-name": "db-migrate" }));
  assert.ok(!testJobFails("canary-errors", { type: "test", suite: "smoke" }));
  assert.throws(() => jobFaultsOf("tests-fail:5%"), /tests-fail takes no size or onset/);
  assert.throws(() => jobFaultsOf("tests-fail@4m"), /tests-fail takes no size or onset/);
});

Deno.test({
  name: "staging: test Jobs pass before the switch; a failing one fails the deploy, traffic stays",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    let sandbox: Sandbox | undefined;
    const restart = async (scenario?: string) => {
      await sandbox?.stop();
      sandbox = await startSandbox({
        seed: await sandboxSeedFromDir(),
        stateDir: r.sandboxDir,
        timeScale: 60,
        maxRealRate: 200,
        ...(scenario ? { scenario } : {}),
      });
    };
    const selector = () =>
      r.kubectl(
        "get",
        "service",
        "analysis-service",
        "-n",
        NS,
        "-o",
        "jsonpath={.spec.selector.slot}",
      );
    try {
      await t.step(
        "healthy: smoke and integration Jobs complete, then traffic switches",
        async () => {
          await restart();
          const d = await r.deploy("staging", "v1.0.0");
          assert.equal(d.code, 0, d.stdout + d.stderr);
          const checks = (stage(d, "switch") as unknown as {
            checks: { name: string; status: string; evidence: Record<string, unknown> }[];
          }).checks;
          assert.deepEqual(checks.map((c) => `${c.name}:${c.status}`), [
            "smoke tests:passed",
            "integration tests:passed",
          ]);
          assert.equal(
            (checks[0]!.evidence.condition as { type: string }).type,
            "Complete",
          );
          assert.deepEqual(await testJobs(r), {
            "smoke@1.0.0": "Complete",
            "integration@1.0.0": "Complete",
          });
          assert.equal(await selector(), "blue");
        },
      );

      await t.step(
        "tests-fail/integration: the deploy fails, the Service stays on blue",
        async () => {
          await restart("tests-fail/integration");
          const d = await r.deploy("staging", "v1.0.1");
          assert.equal(d.code, 1, d.stdout + d.stderr);
          // rolled_back while staging rolls back on failure (nothing had moved), failed once
          // rollback_on_failure: false is honoured there.
          assert.ok(["failed", "rolled_back"].includes(d.report.status), d.report.status);
          const sw = stage(d, "switch") as unknown as {
            status: string;
            checks: { name: string; status: string; evidence: Record<string, unknown> }[];
          };
          assert.equal(sw.status, "failed");
          assert.deepEqual(sw.checks.map((c) => `${c.name}:${c.status}`), [
            "smoke tests:passed",
            "integration tests:failed",
          ]);
          const failed = sw.checks[1]!.evidence;
          assert.equal((failed.condition as { reason: string }).reason, "BackoffLimitExceeded");
          assert.equal((failed.lastExit as { exitCode: number }).exitCode, 1);
          assert.match(
            d.stdout,
            /integration tests failed: Job tracktion-staging\/integration-tests-1-0-1-/,
          );
          assert.match(d.stdout, /no traffic was moved to the new slot/);
          // Traffic never left blue (1.0.0); the earlier runs' Jobs were replaced by this run's.
          assert.equal(await selector(), "blue");
          assert.deepEqual(await testJobs(r), {
            "smoke@1.0.1": "Complete",
            "integration@1.0.1": "Failed",
          });
          // What `kubectl logs job/<name>` (which the failure names) shows: the failure.
          const job = /integration tests failed: Job tracktion-staging\/(\S+?)[:\s,]/.exec(
            d.stdout,
          )![1]!;
          const logs = await r.kubectl("logs", `job/${job}`, "-n", "tracktion-staging");
          assert.match(
            logs,
            /FAILED: integration tests: 1 failed \(simulated failure, scenario tests-fail\)/,
          );
          assert.doesNotMatch(logs, /finished successfully/);
        },
      );
    } finally {
      await sandbox?.stop();
      await r.remove();
    }
  },
});
