// A grant is exactly what the stage can use: `uses("database")` reaches the database
// through the main thread only, so its Worker may neither connect to the database's host
// nor read its password's variable, and the plan and report say it is proxied.
import assert from "node:assert/strict";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun } from "../../lib/runner/run.ts";
import { planOf } from "../../lib/cli/plan.ts";
import { CAPABILITIES, openCapabilities } from "../../lib/capabilities/mod.ts";
import type { CapabilityProvider } from "../../lib/runner/engine.ts";

const FIXTURE = new URL("./fixtures/database.ts", import.meta.url).pathname;

function prepare() {
  return prepareRun({
    pipelineFile: FIXTURE,
    environment: "development",
    skipTypeCheck: true,
    readEnv: (name) => name === "TRACKTION_DB_PASSWORD" ? "a-long-enough-password" : undefined,
  });
}

Deno.test("the plan of a stage that uses the database grants it no net or env: proxied", async () => {
  const plan = planOf(await prepare());
  for (const s of plan.stages) {
    assert.deepEqual(s.permissions.net, [], s.id);
    assert.deepEqual(s.permissions.env, [], s.id);
    assert.deepEqual(s.permissions.proxied, ["database"], s.id);
  }
});

Deno.test("a stage reaches the database through the main thread, and not around it", async () => {
  const prepared = await prepare();
  const stateDir = await Deno.makeTempDir({ prefix: "database-grant-" });
  const opened = openCapabilities({
    env: prepared.env,
    capabilities: CAPABILITIES,
    // The sandbox's embedded database: a real PostgreSQL (PGlite) on the main thread.
    target: { kind: "sandbox", kubeconfigPath: `${stateDir}/kubeconfig`, stateDir },
    dryRun: false,
    readEnv: () => undefined,
    onSecret: (value) => prepared.redactor.add(value),
    log: () => {},
  });
  try {
    const run = await executeRun(prepared, {
      runsDir: `${stateDir}/runs`,
      capabilities: opened.providers as Record<string, CapabilityProvider>,
      approve: () => Promise.reject(new Error("no approvals")),
    });
    const byId = new Map(run.report.stages.map((s) => [s.id, s]));
    const proxy = byId.get("proxy")!;
    assert.equal(proxy.status, "succeeded", proxy.reason ?? "");
    assert.match(String((proxy.output as { version: string }).version), /PostgreSQL/);
    assert.deepEqual(proxy.calls.map((c) => [c.resource, c.method, c.ok]), [
      ["database", "ping", true],
    ]);
    const host = `${prepared.env.database.host}:${prepared.env.database.port}`;
    assert.equal(byId.get("direct")!.status, "failed");
    assert.equal(
      byId.get("direct")!.reason,
      `stage "direct" needs net access to ${host}, which it did not declare`,
    );
    assert.equal(byId.get("password")!.status, "failed");
    assert.equal(
      byId.get("password")!.reason,
      'stage "password" needs env access to TRACKTION_DB_PASSWORD, which it did not declare',
    );
    for (const s of run.report.stages) {
      assert.deepEqual([s.permissions.net, s.permissions.env], [[], []], s.id);
      assert.deepEqual(s.permissions.proxied, ["database"], s.id);
    }
  } finally {
    await opened.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
