// liveServiceHealth against a real sandbox, through the API server's Service proxy: before
// the first deploy it passes (nothing live), a healthy live slot passes, and a Service whose
// slot has no ready pod, or whose /health answers otherwise, fails naming what it answered.
import assert from "node:assert/strict";
import { liveServiceHealth } from "../../checks/live_service.ts";
import { deployIdleSlot, switchService } from "../../lib/kubernetes/strategies/mod.ts";
import { SERVICE_PORT } from "../../lib/kubernetes/slots.ts";
import { stageContext, targetOf, withCluster } from "../kubernetes/_helpers.ts";

const NS = "tracktion-dev";
const POD = { apiVersion: "v1", kind: "Pod" };
const SERVICE = "analysis-service";

Deno.test("live service health: not deployed passes; healthy passes; no ready pod fails", async (t) => {
  const target = await targetOf("development");
  await withCluster(async ({ proxied: k, sandbox }) => {
    const check = liveServiceHealth(NS, SERVICE, { port: SERVICE_PORT });
    const run = () => check.run(stageContext(k));
    assert.equal(check.name, "Service health: analysis-service");
    assert.equal(check.required, true);

    await t.step("before the first deploy: nothing live to check", async () => {
      const o = await run();
      assert.equal(o.ok, true, o.message);
      assert.match(o.message, /not deployed yet/);
      assert.equal(o.evidence?.deployed, false);
    });

    await t.step("the live slot answers healthy through the Service", async () => {
      const d = await deployIdleSlot(k, {
        target,
        service: SERVICE,
        version: "v1.0.0",
        pollMs: 100,
      });
      await switchService(k, { target, service: SERVICE, slot: d.slot });
      const o = await run();
      assert.equal(o.ok, true, o.message);
      assert.match(o.message, /tracktion-dev\/analysis-service \(slot blue\) is healthy/);
      assert.equal(o.evidence?.reportedStatus, "healthy");
    });

    await t.step("a live slot with no ready pod fails, naming the answer", async () => {
      await k.patch(
        { apiVersion: "apps/v1", kind: "Deployment" },
        NS,
        `${SERVICE}-blue`,
        { spec: { replicas: 0 } },
        "merge",
      );
      // Wait for the observed state (no pod left), bounded on the cluster's clock by twice
      // the pods' termination grace (30 s), not by a guessed real time.
      const begin = sandbox.clock.now();
      while ((await k.list(POD, NS, { labelSelector: `service=${SERVICE},slot=blue` })).length) {
        assert.ok(sandbox.clock.since(begin) < 60_000, "the pods did not terminate");
        await new Promise((r) => setTimeout(r, 20));
      }
      const o = await run();
      assert.equal(o.ok, false, o.message);
      assert.match(
        o.message,
        /tracktion-dev\/analysis-service \(slot blue\) \/health answered HTTP 5\d\d/,
      );
    });
  });
});
