// The production gate (deploy_production.sh's production_pre_checks), rehearsed end to end with
// the real CLI: the sandbox rehearsal deploys the version to staging first and production reads
// staging's record; a version staging never had, a staging whose tests failed, and a backup older
// than 6 hours are each refused before anything changes (exit 1).
import assert from "node:assert/strict";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { type Deployment, Rehearsal, stage, VIRTUAL_LEASE } from "./_deploy.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
const PROD = "tracktion-prod";
const GATE = [
  "Same version succeeded in staging",
  "staging is healthy",
  "staging tests passed",
  "production CPU capacity below 70%",
  "production memory capacity below 70%",
  "production backup within 6h",
];

type Check = { name: string; status: string; message: string; evidence: Record<string, unknown> };

function checks(d: Deployment, id: string): Check[] {
  return (stage(d, id) as unknown as { checks: Check[] }).checks;
}

function check(d: Deployment, id: string, name: string): Check {
  const c = checks(d, id).find((x) => x.name === name);
  if (!c) throw new Error(`no check "${name}" in ${id}: ${checks(d, id).map((x) => x.name)}`);
  return c;
}

/** Nothing after the pre-flight ran: no migration, no record, no slot, no traffic. */
function nothingChanged(d: Deployment) {
  for (const id of ["confirm", "migrate", "record:start", "deploy:analysis-service", "canary-5"]) {
    assert.equal(stage(d, id).status, "skipped", `${id} must not run`);
  }
  assert.equal(d.report.rollback.performed, false);
}

async function productionVersions(r: Rehearsal): Promise<string> {
  return await r.kubectl("get", "deployments", "-n", PROD, "-L", "version", "--no-headers");
}

async function productionRecord(r: Rehearsal): Promise<Record<string, string>> {
  const cm = await r.kubectl("get", "configmap", "deployment-info", "-n", PROD, "-o", "json");
  return JSON.parse(cm).data;
}

Deno.test({
  name: "production gate: staging first in the rehearsal; what staging never had is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    let sandbox: Sandbox | undefined;
    let stagingRun = "";
    try {
      await t.step(
        "a fresh rehearsal deploys the version to staging, then production",
        async () => {
          // Its own sandbox, on the virtual clock (none runs yet), with VIRTUAL_LEASE's lease.
          const d = await r.deploy("production", "v1.2.4", [...CONFIRM, ...VIRTUAL_LEASE]);
          assert.equal(d.code, 0, d.stdout + d.stderr);
          assert.match(d.stdout, /rehearsal: v1\.2\.4 goes to staging first, in this sandbox/);
          assert.match(
            d.stdout,
            /sandbox: tracktion-prod: no backup had run yet: ran database-backup/,
          );
          const staged = d.stdout.indexOf("deploy → staging @ v1.2.4");
          const produced = d.stdout.indexOf("deploy → production @ v1.2.4");
          assert.ok(staged >= 0 && produced > staged, "staging's run comes first in the output");
          const rehearsal = d.report.target.rehearsal as Record<string, unknown>;
          assert.equal(rehearsal.environment, "staging");
          assert.equal(rehearsal.deployed, true);
          assert.equal(rehearsal.status, "succeeded");
          const staging = JSON.parse(await Deno.readTextFile(String(rehearsal.report)));
          assert.equal(staging.environment, "staging");
          assert.equal(staging.status, "succeeded");
          assert.equal(staging.runId, rehearsal.runId);
          stagingRun = staging.runId;
          // Every check of the gate ran and passed, on staging's own record.
          assert.deepEqual(checks(d, "preflight:production").map((c) => c.name), GATE);
          for (const c of checks(d, "preflight:production")) {
            assert.equal(c.status, "passed", `${c.name}: ${c.message}`);
          }
          const same = check(d, "preflight:production", GATE[0]!);
          assert.equal((same.evidence.release as { runId: string }).runId, stagingRun);
          const tests = check(d, "preflight:production", "staging tests passed");
          assert.ok(Object.keys(tests.evidence.jobs as object).length >= 1, tests.message);
          for (const name of ["Recent database backup exists", "Backup verification passed"]) {
            assert.equal(check(d, "preflight:backups", name).status, "passed");
          }
          assert.equal(
            check(d, "preflight:backups", "Kubernetes version in the runbook's range").status,
            "passed",
          );
          assert.equal(check(d, "preflight:storage", "Storage capacity").status, "passed");
          // DNS and the external API are asked of the sandbox's stand-ins, as of production's.
          const network = checks(d, "preflight:network");
          assert.deepEqual(network.map((c) => c.name), [
            "DNS resolution: api.tracktion.com",
            "DNS resolution: api.external-service.com",
            "DNS resolution: prod-db.tracktion.internal",
            "DNS resolution: prod-redis.tracktion.internal",
            "External API connectivity",
          ]);
          for (const c of network) assert.equal(c.status, "passed", `${c.name}: ${c.message}`);
        },
      );

      await t.step("staging's failing tests keep the version out of production", async () => {
        const d = await r.deploy("production", "v1.3.0", [
          ...CONFIRM,
          ...VIRTUAL_LEASE,
          "--scenario",
          "tests-fail",
        ]);
        assert.equal(d.code, 1, d.stdout + d.stderr);
        assert.match(d.stdout, /rehearsal: v1\.3\.0 goes to staging first/);
        assert.match(d.stdout, /\nstaging: (failed|rolled_back)/);
        const rehearsal = d.report.target.rehearsal as Record<string, unknown>;
        assert.notEqual(rehearsal.status, "succeeded");
        assert.equal(stage(d, "preflight:production").status, "failed");
        const same = check(d, "preflight:production", GATE[0]!);
        assert.equal(same.status, "failed");
        assert.match(
          same.message,
          new RegExp(
            `^v1\\.3\\.0 never succeeded in staging: staging runs 1\\.2\\.4 \\(run ${stagingRun}\\)`,
          ),
        );
        nothingChanged(d);
      });

      sandbox = await startSandbox({
        seed: await sandboxSeedFromDir(),
        stateDir: r.sandboxDir,
        timeScale: 60,
        maxRealRate: 400,
      });

      await t.step(
        "a version never deployed to staging: refused, exit 1, nothing changed",
        async () => {
          const before = await productionRecord(r);
          const d = await r.deploy("production", "v9.9.9", [
            ...CONFIRM,
            "--option",
            "rehearse-staging=no",
          ]);
          assert.equal(d.code, 1, d.stdout + d.stderr);
          assert.equal(d.report.status, "failed");
          assert.match(d.stdout, /rehearsal: staging left as it is/);
          assert.doesNotMatch(d.stdout, /deploy → staging/);
          const same = check(d, "preflight:production", GATE[0]!);
          assert.equal(same.status, "failed");
          assert.match(same.message, /v9\.9\.9 never succeeded in staging: staging runs 1\.2\.4/);
          assert.match(same.message, /deno task deploy staging v9\.9\.9/);
          assert.match(
            String(d.report.stages.find((s) => s.id === "preflight:production")!.reason),
            /never succeeded in staging/,
          );
          nothingChanged(d);
          assert.doesNotMatch(await productionVersions(r), /9\.9\.9/);
          const after = await productionRecord(r);
          assert.equal(after.version, "1.2.4");
          assert.equal(after.release, before.release, "production's record is untouched");
        },
      );

      await t.step(
        "a production backup older than 6 hours: refused before anything changes",
        async () => {
          await r.kubectl("delete", "jobs", "-l", "type=backup", "-n", PROD);
          const job = `${r.dir}/old-backup.json`;
          await Deno.writeTextFile(
            job,
            JSON.stringify({
              apiVersion: "batch/v1",
              kind: "Job",
              metadata: {
                name: "database-backup-old",
                namespace: PROD,
                labels: { type: "backup" },
              },
              spec: {
                suspend: true,
                template: {
                  metadata: { labels: { type: "backup" } },
                  spec: {
                    restartPolicy: "Never",
                    containers: [{
                      name: "backup",
                      image: "ghcr.io/tracktion/database-backup:1.0.0",
                    }],
                  },
                },
              },
            }),
          );
          await r.kubectl("create", "-f", job);
          // 12 hours before now: between production's 6 h and the pre-flight's 24 h whether the
          // run reads the wall clock or the running sandbox's (ahead of it after virtual runs).
          const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
          const completed = hoursAgo(12);
          await r.kubectl(
            "patch",
            "job",
            "database-backup-old",
            "-n",
            PROD,
            "--subresource=status",
            "--type=merge",
            "-p",
            JSON.stringify({
              status: {
                startTime: hoursAgo(12.2),
                completionTime: completed,
                succeeded: 1,
                conditions: [{ type: "Complete", status: "True", lastTransitionTime: completed }],
              },
            }),
          );
          const before = await productionRecord(r);
          const d = await r.deploy("production", "v1.2.4", CONFIRM);
          assert.equal(d.code, 1, d.stdout + d.stderr);
          assert.match(
            d.stdout,
            /rehearsal: staging already runs v1\.2\.4 \(run [^)]+\): not deployed again/,
          );
          // A backup of the last day satisfies the general pre-flight; production wants 6 hours.
          assert.equal(
            check(d, "preflight:backups", "Recent database backup exists").status,
            "passed",
          );
          const backup = check(d, "preflight:production", "production backup within 6h");
          assert.equal(backup.status, "failed", backup.message);
          assert.match(
            backup.message,
            /Job database-backup-old\) is 1\d(\.\d)? h old \(limit 6 h\)/,
          );
          assert.match(backup.message, /kubectl create job --from=cronjob\/database-backup/);
          assert.equal(check(d, "preflight:production", GATE[0]!).status, "passed");
          nothingChanged(d);
          assert.deepEqual(await productionRecord(r), before);
        },
      );
    } finally {
      await sandbox?.stop();
      await r.remove();
    }
  },
});
