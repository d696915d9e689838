/**
 * A whole promotion through the real CLI on one sandbox: `deno task promote v1.2.4 --sandbox
 * --approvals cluster` builds, signs and pushes the fixture service's images (pipelines/build.ts,
 * buildah), deploys development, runs its smoke tests, deploys staging, runs its
 * integration tests, then deploys production, which waits for its two-person approval: two
 * listed approvers run the `deno task approve` line it prints from other processes and the
 * train ends with exit 0. Production's gate read what the train left in staging (the staging
 * step's run as staging's release, the integration Job of the train's test step among the
 * test Jobs that passed); the rehearsal did not deploy staging again; every run verifies.
 * @module
 */
import assert from "node:assert/strict";
import { sandboxTarget } from "../../lib/targets/mod.ts";
import { getManifest } from "../../lib/companions/oci.ts";
import {
  checkOf,
  cli,
  lastReport,
  PHRASE,
  reportOf,
  startPromote,
  summaryOf,
  where,
  withApprovers,
  workDir,
} from "./_promote.ts";

const APPROVE_LINE = /^\s+deno task approve \S+ --key <your-key> --sandbox --sandbox-dir /;

/** Runs the approve line production printed, as an approver would, with their key. */
async function approve(line: string, keyFile: string) {
  const m = /deno task (approve \S+ --key <your-key> .*?)(?: \[--comment "CHG-1234"\])?$/.exec(
    line.trim(),
  );
  assert.ok(m, `an approve line: ${line}`);
  const args = m[1]!.split(" ").map((w) => w === "<your-key>" ? keyFile : w);
  return await cli([...args, "--comment", "CHG-1234"], { task: true });
}

Deno.test("deno task promote: build -> development -> smoke -> staging -> integration -> production with two approvers", async () => {
  const dir = await workDir("promote-train-");
  await withApprovers(dir);
  const key = await new Deno.Command("openssl", {
    args: [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      `${dir}/image.key`,
    ],
    stderr: "piped",
  }).output();
  assert.equal(key.code, 0, new TextDecoder().decode(key.stderr));
  const train = startPromote([
    "v1.2.4",
    ...where(dir),
    "--build-option",
    `signing-key=file:${dir}/image.key`,
    "--build-option",
    "context=fixtures/service",
    "--build-option",
    `work-dir=${dir}/build`,
    "--confirm",
    PHRASE,
    "--approvals",
    "cluster",
    "--approval-timeout",
    "30m",
    "--out",
    `${dir}/summary.json`,
  ]);
  try {
    const line = await train.line(APPROVE_LINE);
    // Production waits, after every step before it succeeded.
    const sofar = train.output();
    assert.match(
      sofar,
      /^promote v1\.2\.4: 6 steps checked \(build → development → smoke-tests → staging → integration-tests → production\), on the sandbox$/m,
    );
    const ids = [
      "build",
      "development",
      "smoke-tests",
      "staging",
      "integration-tests",
      "production",
    ];
    for (const [i, id] of ids.entries()) {
      assert.match(sofar, new RegExp(`^== step ${i + 1}/6: ${id}: `, "m"));
    }
    // The build's options went to the build only; the deploys got none of them.
    assert.match(
      sofar,
      /^deno task run pipelines\/build\.ts development v1\.2\.4 --option signing-key=file:/m,
    );
    assert.doesNotMatch(sofar, /^deno task deploy .*signing-key=/m);
    // Every step after the build deploys (and tests) the build's digests.
    assert.match(sofar, /^the steps below deploy the build's digests/m);
    assert.match(
      sofar,
      /^deno task deploy staging v1\.2\.4 .*--option digests=analysis-service=sha256:[0-9a-f]{64},/m,
    );
    assert.match(
      sofar,
      /^deno task run pipelines\/promote\.ts staging v1\.2\.4 --option suite=integration /m,
    );
    const [ada, bob] = await Promise.all([
      approve(line, `${dir}/ada.key`),
      approve(line, `${dir}/bob.key`),
    ]);
    assert.equal(ada.code, 0, ada.stdout + ada.stderr);
    assert.equal(bob.code, 0, bob.stdout + bob.stderr);
    const ended = await train.ended;
    assert.equal(ended.code, 0, ended.stdout.slice(-5000) + ended.stderr);
    assert.match(
      ended.stdout,
      /^promotion v1\.2\.4: succeeded \(build → development → smoke-tests → staging → integration-tests → production\)$/m,
    );
    assert.match(ended.stdout, /rehearsal: staging left as it is \(--option rehearse-staging=no\)/);

    const summary = await summaryOf(`${dir}/summary.json`);
    assert.equal(summary.status, "succeeded");
    assert.deepEqual(summary.steps.map((s) => [s.id, s.kind, s.status]), [
      ["build", "build", "succeeded"],
      ["development", "deploy", "succeeded"],
      ["smoke-tests", "tests", "succeeded"],
      ["staging", "deploy", "succeeded"],
      ["integration-tests", "tests", "succeeded"],
      ["production", "deploy", "succeeded"],
    ]);
    const reports = await Promise.all(summary.steps.map((s) => reportOf(s.report!)));
    assert.deepEqual(reports.map((r) => [r.pipeline.name, r.environment, r.status]), [
      ["build", "development", "succeeded"],
      ["deploy", "development", "succeeded"],
      ["promotion-tests", "development", "succeeded"],
      ["deploy", "staging", "succeeded"],
      ["promotion-tests", "staging", "succeeded"],
      ["deploy", "production", "succeeded"],
    ]);
    summary.steps.forEach((s, i) => assert.equal(reports[i]!.runId, s.runId));
    assert.equal(lastReport(ended.stdout), summary.steps[5]!.report);
    // The build's record (every image's digest, signed) is in the summary.
    const record =
      (summary.steps[0] as unknown as { record: { images: Record<string, { digest: string }> } })
        .record;
    assert.deepEqual(Object.keys(record.images).sort(), [
      "analysis-service",
      "file-watcher",
      "notification-service",
      "tracklist-service",
    ]);
    for (const image of Object.values(record.images)) {
      assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
    }

    // The test steps read their environment's record and ran their suite as a Job.
    const [, , smoke, staging, integration, production] = reports as [
      unknown,
      unknown,
      typeof reports[0],
      typeof reports[0],
      typeof reports[0],
      typeof reports[0],
    ];
    assert.match(
      checkOf(smoke, "released", "Same version succeeded in development").message,
      /v1\.2\.4 succeeded in development/,
    );
    assert.equal(checkOf(smoke, "tests:smoke", "smoke tests").status, "passed");
    assert.equal(checkOf(integration, "tests:integration", "integration tests").status, "passed");
    // Production's gate read what the train left in staging.
    const same = checkOf(production, "preflight:production", "Same version succeeded in staging");
    assert.equal(same.status, "passed");
    assert.equal((same.evidence!.release as { runId: string }).runId, staging.runId);
    const tests = checkOf(production, "preflight:production", "staging tests passed");
    assert.equal(tests.status, "passed");
    const suffix = integration.runId.toLowerCase().replace(/[^a-z0-9]/g, "").slice(-6);
    assert.equal(
      (tests.evidence!.jobs as Record<string, string>)[`integration-tests-1-2-4-${suffix}`],
      "passed",
    );
    assert.deepEqual(production.target.rehearsal, {
      environment: "staging",
      namespace: "tracktion-staging",
      deployed: false,
    });
    // The two-person approval: Ada and Bob signed, nobody else counted.
    const approvals = JSON.stringify(production.stages.find((s) => s.id === "confirm")!.approval);
    assert.match(approvals, /ada@example\.com/);
    assert.match(approvals, /bob@example\.com/);

    // Staging and production ran the build's digests: production's pre-flight verified the
    // signature of the very digest deployed, the Deployments run it, and the registry (kept
    // across every step's restart) serves it under the version's tag.
    const digests = Object.fromEntries(
      Object.entries(record.images).map(([s, i]) => [s, i.digest]),
    );
    for (const [s, digest] of Object.entries(digests)) {
      const image = `ghcr.io/tracktion/${s}:1.2.4@${digest}`;
      const signed = checkOf(production, "preflight:images", `Image signature valid: ${image}`);
      assert.equal(signed.status, "passed", signed.message);
      assert.equal(signed.evidence!.digest, digest);
    }
    assert.equal(
      checkOf(production, "preflight:images", "Images pinned to the build's digests").status,
      "passed",
    );
    const sb = await sandboxTarget({
      stateDir: `${dir}/sb`,
      companionScope: `${dir}/sb`,
      environmentsDir: `${dir}/envs`,
      version: "1.2.4",
    });
    try {
      for (const ns of ["tracktion-staging", "tracktion-prod"]) {
        const res = await sb.handle!(
          new Request(`http://sandbox/apis/apps/v1/namespaces/${ns}/deployments`, {
            headers: { authorization: `Bearer ${sb.token}` },
          }),
        );
        const list = await res.json() as {
          items: {
            metadata: { name: string; labels?: Record<string, string> };
            spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
          }[];
        };
        for (const [s, digest] of Object.entries(digests)) {
          const running = list.items.filter((d) =>
            d.metadata.name.startsWith(`${s}-`) && d.metadata.labels?.version === "1.2.4"
          );
          assert.ok(running.length > 0, `${ns}: a Deployment of ${s} at 1.2.4`);
          for (const d of running) {
            assert.equal(
              d.spec.template.spec.containers[0]!.image,
              `ghcr.io/tracktion/${s}:1.2.4@${digest}`,
            );
          }
        }
        const registry = sb.companions?.get(ns)?.registry as { host?: string } | undefined;
        assert.ok(registry?.host, `${ns}'s registry runs`);
        for (const [s, digest] of Object.entries(digests)) {
          const served = await getManifest({ host: registry.host }, `tracktion/${s}`, "1.2.4");
          assert.equal(served?.digest, digest, `${ns}'s registry serves the build's ${s}`);
        }
      }
    } finally {
      await sb.close();
    }

    // Every run of the train verifies against its journal and its signature.
    for (const s of summary.steps) {
      const verified = await cli([
        "report",
        s.runId!,
        "--runs-dir",
        `${dir}/runs`,
        "--environments-dir",
        `${dir}/envs`,
        "--sandbox-dir",
        `${dir}/sb`,
      ]);
      assert.equal(verified.code, 0, `${s.id}: ${verified.stdout}${verified.stderr}`);
    }
  } finally {
    await train.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
