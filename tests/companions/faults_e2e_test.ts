/**
 * Companion faults rehearsed end to end: the deploy pipeline run as the CLI runs it
 * (sandboxTarget → prepareRun → connect → executeRun; the CLI does not pass companion
 * scenarios yet), against a sandbox with its real Redis and registry.
 */
import assert from "node:assert/strict";
import { sandboxTarget } from "../../lib/targets/sandbox.ts";
import { connect } from "../../lib/targets/connect.ts";
import { executeRun, prepareRun } from "../../lib/runner/mod.ts";
import { approver } from "../../lib/cli/approve.ts";

interface StageReport {
  id: string;
  status: string;
  checks?: { name: string; status: string; message: string }[];
}

async function rehearse(environment: string, namespace: string, scenario: string) {
  const dir = await Deno.makeTempDir({ prefix: "companions_e2e_" });
  const [stateDir, runsDir] = [`${dir}/sandbox`, `${dir}/runs`];
  const sandbox = await sandboxTarget({ stateDir, namespace, version: "v1.2.4", scenario });
  try {
    const prepared = await prepareRun({
      pipelineFile: "pipelines/deploy.ts",
      environment,
      version: "v1.2.4",
      options: { target: "sandbox", "rehearse-staging": "no" },
      skipTypeCheck: true,
      protectedPaths: [runsDir, stateDir],
    });
    const connection = connect({
      env: prepared.env,
      sandbox,
      dryRun: false,
      resources: prepared.stages.flatMap((s) => s.uses),
      redactor: prepared.redactor,
      metrics: prepared.metrics,
      log: () => {},
    });
    try {
      await connection.verify();
      const source = {
        confirm: "DEPLOY TO PRODUCTION",
        interactive: false,
        user: "test",
        readLine: () => Promise.resolve(null),
        write: () => {},
      };
      const outcome = await executeRun(prepared, {
        runsDir,
        approve: approver(source, sandbox.clock),
        capabilities: connection.capabilities,
        analyze: connection.analyze,
        target: connection.target,
        clock: sandbox.clock,
        user: "test",
      });
      const deployments = await fetch(
        `${sandbox.url}/apis/apps/v1/namespaces/${namespace}/deployments`,
        { headers: { authorization: `Bearer ${sandbox.token}` } },
      ).then((r) => r.json()) as { items: unknown[] };
      const secret = await fetch(
        `${sandbox.url}/api/v1/namespaces/${namespace}/secrets/redis-credentials`,
        { headers: { authorization: `Bearer ${sandbox.token}` } },
      ).then((r) => r.json()) as { data: { password: string } };
      return {
        report: outcome.report as unknown as { status: string; stages: StageReport[] },
        reportText: await Deno.readTextFile(outcome.reportPath),
        deployments: deployments.items.length,
        password: atob(secret.data.password),
      };
    } finally {
      await connection.close();
    }
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function check(report: { stages: StageReport[] }, stageId: string, name: string) {
  const s = report.stages.find((x) => x.id === stageId);
  const c = s?.checks?.find((x) => x.name === name);
  assert.ok(s && c, `no check ${name} in ${stageId}`);
  return { stage: s, check: c };
}

Deno.test({
  name:
    "Redis with another password than its Secret: pre-flight fails, nothing deployed, no password shown",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await rehearse("staging", "tracktion-staging", "redis-wrong-password");
    assert.equal(r.report.status, "failed");
    const { stage, check: ping } = check(r.report, "preflight:redis", "Redis connectivity");
    assert.equal(stage.status, "failed");
    assert.equal(ping.status, "failed");
    assert.match(ping.message, /WRONGPASS.*not the one Redis requires/);
    assert.equal(r.deployments, 0, "nothing was deployed");
    assert.ok(!r.reportText.includes(r.password), "the password is not in the report");
  },
});

Deno.test({
  name: "an unsigned image in the registry: production refuses before anything changes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await rehearse("production", "tracktion-prod", "unsigned-image/file-watcher");
    assert.equal(r.report.status, "failed");
    const image = "ghcr.io/tracktion/file-watcher:1.2.4";
    const sig = check(r.report, "preflight:images", `Image signature valid: ${image}`);
    assert.equal(sig.stage.status, "failed");
    assert.equal(sig.check.status, "failed");
    assert.match(sig.check.message, /is not signed: no sha256-[0-9a-f]{64}\.sig/);
    const other = check(
      r.report,
      "preflight:images",
      "Image signature valid: ghcr.io/tracktion/analysis-service:1.2.4",
    );
    assert.equal(other.check.status, "passed", other.check.message);
    assert.equal(
      check(r.report, "preflight:images", `Image exists: ${image}`).check.status,
      "passed",
    );
    // Redis ran in the same rehearsal, with its password over TLS.
    assert.equal(check(r.report, "preflight:redis", "Redis connectivity").check.status, "passed");
    assert.equal(r.deployments, 0, "nothing was deployed");
  },
});
