// The production gate's checks on staging, one failure at a time, against a real sandbox: the
// record names another version (or none), staging's traffic is not on its recorded release,
// its test Jobs failed, still run or never ran.
import assert from "node:assert/strict";
import type { Check, CheckOutcome, StageContext } from "../../lib/dsl/types.ts";
import { versionArgument } from "../../lib/runner/version.ts";
import { deployIdleSlot, switchService } from "../../lib/kubernetes/strategies/mod.ts";
import { deployContext } from "../../pipelines/stages/context.ts";
import {
  sameVersionSucceeded,
  sourceHealthy,
  sourceTestsPassed,
} from "../../pipelines/stages/production_gate.ts";
import {
  type Cluster,
  environment,
  poll,
  stageContext,
  withCluster,
} from "../kubernetes/_helpers.ts";

const STAGING = { environment: "staging", namespace: "tracktion-staging" };
const SERVICE = "notification-service";

async function kubectl(c: Cluster, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", c.sandbox.kubeconfigPath, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${d.decode(out.stderr)}`);
  return d.decode(out.stdout);
}

async function apply(c: Cluster, obj: unknown) {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(obj));
  await kubectl(c, "apply", "-f", file);
}

/** Staging's deployment record: its release is `version` on the blue slot. */
async function record(c: Cluster, version: string, runId = "r-staging-1") {
  const release = {
    runId,
    version,
    by: "tester",
    startedAt: new Date(c.sandbox.clock.now()).toISOString(),
    state: "succeeded",
    services: { [SERVICE]: { previous: null, next: { slot: "blue", version }, standby: null } },
  };
  await apply(c, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "deployment-info", namespace: STAGING.namespace },
    data: { release: JSON.stringify(release), run: JSON.stringify(release) },
  });
}

/** A test Job in staging, ended as `state` (a suspended Job given that status). */
async function testJob(
  c: Cluster,
  name: string,
  state: "Complete" | "Failed" | "running",
  labels: Record<string, string> = {},
) {
  await apply(c, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: STAGING.namespace, labels: { type: "test", ...labels } },
    spec: {
      suspend: true,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "t", image: "t:1" }] } },
    },
  });
  if (state === "running") return;
  const at = new Date(c.sandbox.clock.now()).toISOString();
  await kubectl(
    c,
    "patch",
    "job",
    name,
    "-n",
    STAGING.namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        conditions: [{
          type: state,
          status: "True",
          reason: state === "Failed" ? "BackoffLimitExceeded" : "Completed",
          lastTransitionTime: at,
        }],
      },
    }),
  );
}

async function run(check: Check, c: Cluster): Promise<CheckOutcome> {
  const ctx = { ...stageContext(c.proxied), now: () => c.sandbox.clock.now() } as StageContext;
  const o = await check.run(ctx);
  assert.equal(check.required ?? true, true, `${check.name} is required`);
  return o;
}

Deno.test({
  name: "production gate checks: version, health and tests of staging, each failing on its own",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(async (c) => {
      const prod = await environment("production");
      const staging = await environment("staging");
      const at = (v: string) => deployContext(prod, versionArgument(v), { target: "sandbox" });
      const target = deployContext(staging, versionArgument("v1.2.4"), {}).target;

      // No record at all: refused, naming what staging holds.
      const none = await run(sameVersionSucceeded(at("v1.2.4"), STAGING), c);
      assert.equal(none.ok, false);
      assert.match(
        none.message,
        /^v1\.2\.4 never succeeded in staging: staging runs nothing: it has no deployment record; deploy it to staging first \(deno task deploy staging v1\.2\.4\)/,
      );
      assert.equal((await run(sourceHealthy(at("v1.2.4"), STAGING), c)).ok, false);

      await deployIdleSlot(c.proxied, { target, service: SERVICE, version: "1.2.4", pollMs: 100 });
      await switchService(c.proxied, { target, service: SERVICE, slot: "blue" });
      await record(c, "1.2.4");

      const same = await run(sameVersionSucceeded(at("v1.2.4"), STAGING), c);
      assert.equal(same.ok, true, same.message);
      const other = await run(sameVersionSucceeded(at("v1.3.0"), STAGING), c);
      assert.equal(other.ok, false);
      assert.match(
        other.message,
        /^v1\.3\.0 never succeeded in staging: staging runs 1\.2\.4 \(run r-staging-1\)/,
      );

      const healthy = await poll(
        () => run(sourceHealthy(at("v1.2.4"), STAGING), c),
        (o) => o.ok,
      );
      assert.match(healthy.message, /^staging runs 1\.2\.4: 1 services available$/);
      // Traffic moved away from what the record says is live: not healthy.
      await kubectl(
        c,
        "patch",
        "service",
        SERVICE,
        "-n",
        STAGING.namespace,
        "--type=merge",
        "-p",
        '{"spec":{"selector":{"slot":"green"}}}',
      );
      const moved = await run(sourceHealthy(at("v1.2.4"), STAGING), c);
      assert.equal(moved.ok, false);
      assert.match(
        moved.message,
        /Service notification-service sends traffic to green, not the release's blue \(1\.2\.4\)/,
      );
      await kubectl(
        c,
        "patch",
        "service",
        SERVICE,
        "-n",
        STAGING.namespace,
        "--type=merge",
        "-p",
        '{"spec":{"selector":{"slot":"blue"}}}',
      );
      // Its pods gone: not healthy.
      await kubectl(
        c,
        "scale",
        "deployment",
        `${SERVICE}-blue`,
        "-n",
        STAGING.namespace,
        "--replicas=0",
      );
      const scaled = await poll(() => run(sourceHealthy(at("v1.2.4"), STAGING), c), (o) => !o.ok);
      assert.match(scaled.message, /^staging is not healthy: /);

      // Tests: none is no evidence; another version's do not count; failed and running refuse.
      const noTests = await run(sourceTestsPassed(at("v1.2.4"), STAGING), c);
      assert.equal(noTests.ok, false);
      assert.match(noTests.message, /^staging ran no test Jobs \(type=test\) for v1\.2\.4/);
      await testJob(c, "smoke-old", "Failed", { version: "1.1.0" });
      assert.equal(
        (await run(sourceTestsPassed(at("v1.2.4"), STAGING), c)).ok,
        false,
        "still none",
      );
      await testJob(c, "smoke-124", "Complete", { version: "1.2.4" });
      const passed = await run(sourceTestsPassed(at("v1.2.4"), STAGING), c);
      assert.equal(passed.ok, true, passed.message);
      assert.deepEqual(passed.evidence!.jobs, { "smoke-124": "passed" });
      await testJob(c, "integration-124", "running", { version: "1.2.4" });
      const running = await run(sourceTestsPassed(at("v1.2.4"), STAGING), c);
      assert.equal(running.ok, false);
      assert.match(running.message, /^staging tests still running: integration-124/);
      await testJob(c, "e2e-124", "Failed", { version: "1.2.4" });
      const failed = await run(sourceTestsPassed(at("v1.2.4"), STAGING), c);
      assert.equal(failed.ok, false);
      assert.match(
        failed.message,
        /^staging tests failed: e2e-124 \(kubectl logs job\/<name> -n tracktion-staging\)/,
      );
    }),
});
