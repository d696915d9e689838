// A real sandbox rehearsal, signed and chained: `deploy staging --sandbox` signs with the
// sandbox's own key (made once, 0600, trusted for sandbox runs only), the rollback after it
// links to the deploy at its final digest and is signed too, the deploy's provenance
// exports as a signed in-toto statement of the four images it deployed, and the cluster's
// deployment-info holds the deploy's checkpoint, on a line of its journal.
import assert from "node:assert/strict";
import { Rehearsal } from "../deploy/_deploy.ts";
import { checkRunSignature } from "../../lib/audit/signature.ts";
import { readChainedRun } from "../../lib/audit/run_link.ts";
import { sandboxKeyPaths, sandboxPublicKey } from "../../lib/audit/signing_key.ts";
import { verifyEnvelope } from "../../lib/audit/dsse.ts";
import { exportCommand } from "../../lib/cli/report_export.ts";
import { checkpointOnLine } from "../../lib/audit/run_link.ts";
import { parseClusterRecord } from "../../lib/audit/cluster_record.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";

function runDirOf(reportPath: string): string {
  return reportPath.replace(/\/report\.json$/, "");
}

Deno.test("a sandbox deploy and the rollback after it: signed with the sandbox's key, chained, anchored", async () => {
  const r = await Rehearsal.create();
  try {
    const deploy = await r.deploy("staging", "v1.2.4");
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
    assert.match(
      deploy.stdout,
      /^signing: SHA256:\S+, the sandbox's own key \(trusted for sandbox runs only/m,
    );
    const deployDir = runDirOf(deploy.reportPath);
    assert.match(deploy.stdout, new RegExp(`^signed: ${deployDir}/signature.json \\(SHA256:`, "m"));
    const paths = sandboxKeyPaths(r.sandboxDir);
    assert.equal((await Deno.stat(paths.pem)).mode! & 0o777, 0o600);
    const check = await checkRunSignature(deployDir, deploy.report as never, {
      sandboxDir: r.sandboxDir,
    });
    assert.equal(check.state, "signed", check.message);
    assert.equal(check.sandboxKey, true);
    // Its first run in this folder: it links to none.
    assert.equal((await readChainedRun(deployDir))?.previous, null);

    // The rollback (nothing before the first deploy to return to: it fails) is a run of the
    // environment too: signed with the same key, linked to the deploy at its final digest.
    const rollback = await r.rollback("staging");
    assert.equal(rollback.code, 1, rollback.stdout + rollback.stderr);
    const rollbackDir = runDirOf(rollback.reportPath);
    const events = (deploy.report as unknown as { events: { count: number; digest: string } })
      .events;
    assert.deepEqual((await readChainedRun(rollbackDir))?.previous, {
      runId: deployDir.split("/").at(-1),
      digest: events.digest,
      events: events.count,
    });
    const rolled = await checkRunSignature(rollbackDir, rollback.report as never, {
      sandboxDir: r.sandboxDir,
    });
    assert.equal(rolled.state, "signed", rolled.message);
    assert.equal(rolled.keyid, check.keyid);

    // The deploy's provenance: signed with the run's key, the four images as subjects.
    const out = `${r.dir}/provenance.json`;
    const printed: string[] = [];
    const code = await exportCommand([
      deployDir,
      "--in-toto",
      "--sandbox-dir",
      r.sandboxDir,
      "--out",
      out,
    ], { stdout: (t) => printed.push(t), stderr: (t) => printed.push(t) });
    assert.equal(code, 0, printed.join(""));
    const envelope = JSON.parse(await Deno.readTextFile(out));
    const v = await verifyEnvelope(envelope, [(await sandboxPublicKey(r.sandboxDir))!]);
    assert.ok(v.ok);
    const statement = JSON.parse(new TextDecoder().decode(v.payload));
    assert.deepEqual(
      statement.subject.map((s: { name: string }) => s.name),
      [
        "ghcr.io/tracktion/analysis-service:1.2.4",
        "ghcr.io/tracktion/file-watcher:1.2.4",
        "ghcr.io/tracktion/notification-service:1.2.4",
        "ghcr.io/tracktion/tracklist-service:1.2.4",
      ],
    );
    for (const s of statement.subject) assert.match(s.digest.sha256, /^[0-9a-f]{64}$/);
    assert.equal(statement.predicate.buildDefinition.externalParameters.version, "v1.2.4");

    // The cluster's record holds the deploy's checkpoint (the rollback stopped at its plan:
    // it changed nothing, anchored nothing), on a line of the deploy's journal.
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      port: 0,
      trafficRate: 0,
    });
    let cm;
    try {
      const k = createKubernetesCapability({
        kubeconfigPath: sandbox.kubeconfigPath,
        onSecret: () => {},
      });
      cm = await k.get(
        { apiVersion: "v1", kind: "ConfigMap" },
        "tracktion-staging",
        "deployment-info",
      );
    } finally {
      await sandbox.stop();
    }
    const record = parseClusterRecord(cm);
    assert.deepEqual(record.problems, []);
    const cp = record.checkpoint!;
    assert.equal(cp.runId, deployDir.split("/").at(-1));
    assert.ok(await checkpointOnLine(`${deployDir}/events.jsonl`, cp.events, cp.digest));
    assert.ok(cp.events < events.count, "taken during the run, before its end");
    assert.deepEqual(record.history, [cp]);
  } finally {
    await r.remove();
  }
});
