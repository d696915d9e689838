/**
 * The runbook's `kubectl exec … curl` lines (its post-deploy validation) run as written, with
 * the real kubectl, against the pods of a rehearsal: a deploy to staging in the sandbox, then
 * the sandbox started again from its saved state.
 */
import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "../deploy/_deploy.ts";

const NS = "tracktion-staging";

function bash(script: string): Promise<Deno.CommandOutput> {
  return new Deno.Command("bash", { args: ["-c", script], stdout: "piped", stderr: "piped" })
    .output();
}

Deno.test("the runbook's kubectl exec … curl lines pass against a staging rehearsal's pods", async () => {
  const r = await Rehearsal.create();
  try {
    const d = await r.deploy("staging", "v1.1.0", [...VIRTUAL_LEASE]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await r.inspect(async () => {
      const kubeconfig = `${r.sandboxDir}/kubeconfig`;
      const kubectl = `kubectl --kubeconfig ${kubeconfig}`;
      const deployments = (await r.kubectl(
        "get",
        "deployments",
        "-n",
        NS,
        "-o",
        'jsonpath={range .items[?(@.status.readyReplicas)]}{.metadata.name}{"\\n"}{end}',
      )).trim().split("\n").filter((n) => n !== "");
      assert.ok(deployments.length > 0, "the rehearsal left ready Deployments");
      for (const deployment of deployments) {
        // The runbook's line (Health endpoint: $service), with $service the live Deployment.
        const line =
          `${kubectl} exec -n ${NS} deployment/${deployment} -- curl -s --max-time 10 http://localhost:8000/health | grep -q healthy`;
        const health = await bash(line);
        assert.equal(health.code, 0, `${deployment}: ${new TextDecoder().decode(health.stderr)}`);
        const body = JSON.parse(
          await r.kubectl(
            "exec",
            "-n",
            NS,
            `deployment/${deployment}`,
            "--",
            "curl",
            "-s",
            "http://localhost:8000/health",
          ),
        );
        assert.match(body.version, /^v?1\.1\.0$/, "the version the rehearsal deployed");
        assert.equal(body.namespace, NS);
        assert.equal(body.status, "healthy");
      }
      // The database line needs python: the sandbox says so, with exit code 126.
      const python = await bash(
        `${kubectl} exec -n ${NS} deployment/${deployments[0]} -- python -c "import psycopg2"`,
      );
      assert.equal(python.code, 126);
      assert.match(new TextDecoder().decode(python.stderr), /python: not available in the sandbox/);
    });
  } finally {
    await r.remove();
  }
});
