import assert from "node:assert/strict";
import { deploymentYaml, tempFile, type TestSandbox, waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-prod";

interface Measured {
  requests: number;
  errors: number;
  errorRate: number | null;
  p95Ms: number | null;
}

async function measure(
  t: TestSandbox,
  selector: string,
  window = "1h",
): Promise<{ status: number; body: Measured }> {
  const url =
    `${t.sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements?labelSelector=${
      encodeURIComponent(selector)
    }&window=${window}`;
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/**
 * Deploy blue (the old version) on a sandbox without a scenario and stop it, so a later
 * sandbox over the same state knows 1.0.0 as already deployed. Returns the state dir.
 */
async function previousDeploy(): Promise<string> {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-scenario-" });
  const t = await withSandbox({ stateDir, trafficRate: 0 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "api-blue", namespace: NS, version: "1.0.0", slot: "blue" }),
    );
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/api-blue", "-n", NS, "--timeout=60s");
    await Deno.remove(file);
  } finally {
    await t.close();
  }
  return stateDir;
}

/** Restart over the previous deploy with a scenario, deploy green and split traffic 50/50. */
async function deployGreen(
  scenario: string,
  options: { progressDeadlineSeconds?: number; timeScale?: number } = {},
): Promise<TestSandbox & { cleanup(): Promise<void> }> {
  const stateDir = await previousDeploy();
  const t = await withSandbox({
    stateDir,
    scenario,
    ...(options.timeScale ? { timeScale: options.timeScale } : {}),
  });
  let green = deploymentYaml({ name: "api-green", namespace: NS, version: "1.1.0", slot: "green" });
  if (options.progressDeadlineSeconds) {
    green = green.replace(
      "progressDeadlineSeconds: 600",
      `progressDeadlineSeconds: ${options.progressDeadlineSeconds}`,
    );
  }
  const file = await tempFile(
    green + `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ${NS}}
spec:
  rules:
  - backendRefs: [{name: api-blue, port: 80, weight: 50}, {name: api-green, port: 80, weight: 50}]
`,
  );
  await t.kubectlOk("apply", "-f", file);
  await Deno.remove(file);
  return {
    ...t,
    async cleanup() {
      await t.close();
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}

Deno.test("scenario canary-errors: the version being deployed answers 3% errors, the old one does not", async () => {
  const t = await deployGreen("canary-errors");
  try {
    await t.kubectlOk("rollout", "status", "deployment/api-green", "-n", NS, "--timeout=60s");
    const green = await waitFor("200 green requests", async () => {
      const m = await measure(t, "slot=green");
      return m.body.requests >= 200 ? m.body : undefined;
    });
    const blue = (await measure(t, "slot=blue")).body;
    assert.ok(
      green.errorRate !== null && green.errorRate > 0.02 && green.errorRate < 0.045,
      `green error rate ${green.errorRate}`,
    );
    assert.ok(blue.requests > 100);
    assert.ok(
      blue.errorRate !== null && blue.errorRate < 0.01,
      `blue error rate ${blue.errorRate}`,
    );
    const empty = (await measure(t, "slot=nothing")).body;
    assert.equal(empty.requests, 0);
    assert.equal(empty.errorRate, null, "no traffic is not a 0% error rate");
    assert.equal(empty.p95Ms, null);
  } finally {
    await t.cleanup();
  }
});

Deno.test("scenario slow: the version being deployed has a p95 near 2,500 ms", async () => {
  const t = await deployGreen("slow");
  try {
    await t.kubectlOk("rollout", "status", "deployment/api-green", "-n", NS, "--timeout=60s");
    const green = await waitFor("200 green requests", async () => {
      const m = await measure(t, "slot=green");
      return m.body.requests >= 200 ? m.body : undefined;
    });
    const blue = (await measure(t, "slot=blue", "30m")).body;
    assert.ok(
      green.p95Ms !== null && green.p95Ms > 2000 && green.p95Ms < 3000,
      `green p95 ${green.p95Ms}`,
    );
    assert.ok(blue.p95Ms !== null && blue.p95Ms < 500, `blue p95 ${blue.p95Ms}`);
  } finally {
    await t.cleanup();
  }
});

Deno.test("scenario crashloop: new pods never become Ready, restarts grow, rollout status fails at the progress deadline", async () => {
  const t = await deployGreen("crashloop", { progressDeadlineSeconds: 120 });
  try {
    const rollout = await t.kubectl(
      "rollout",
      "status",
      "deployment/api-green",
      "-n",
      NS,
      "--timeout=60s",
    );
    assert.equal(rollout.code, 1);
    assert.match(rollout.stderr, /exceeded its progress deadline/);
    const pods =
      JSON.parse(await t.kubectlOk("get", "pods", "-n", NS, "-l", "slot=green", "-o", "json"))
        .items;
    assert.ok(pods.length > 0);
    for (const pod of pods) {
      const status = pod.status.containerStatuses[0];
      assert.equal(status.ready, false);
      assert.equal(status.state.waiting.reason, "CrashLoopBackOff");
      assert.ok(status.restartCount >= 1, `restartCount ${status.restartCount}`);
    }
    const table = await t.kubectlOk("get", "pods", "-n", NS, "-l", "slot=green");
    assert.match(table, /0\/1\s+CrashLoopBackOff/);
    const blueReady = await t.kubectlOk(
      "get",
      "deploy",
      "api-blue",
      "-n",
      NS,
      "-o",
      "jsonpath={.status.readyReplicas}",
    );
    assert.equal(blueReady, "2", "the old version is unaffected");
  } finally {
    await t.cleanup();
  }
});

Deno.test("scenario slow-rollout: pods of the new version take minutes of sandbox time to become Ready", async () => {
  const t = await withSandbox({ scenario: "slow-rollout", timeScale: 120 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "worker", namespace: NS, version: "2.0.0" }),
    );
    const started = Date.now();
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/worker", "-n", NS, "--timeout=60s");
    const sandboxSeconds = ((Date.now() - started) / 1000) * 120;
    assert.ok(sandboxSeconds >= 170, `ready after ${sandboxSeconds} sandbox seconds`);
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});

Deno.test("scenario migration-fails: a migration Job fails, other Jobs complete, sandbox-info names the scenario", async () => {
  const t = await withSandbox({ scenario: "migration-fails", trafficRate: 0 });
  try {
    const job = (name: string) =>
      `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}, namespace: ${NS}, labels: {app: tracktion}}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: registry.local/tracktion:1.1.0}]
`;
    const file = await tempFile(job("migration-1-1-0") + "---\n" + job("smoke-1-1-0"));
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk(
      "wait",
      "--for=condition=failed",
      "job/migration-1-1-0",
      "-n",
      NS,
      "--timeout=60s",
    );
    await t.kubectlOk(
      "wait",
      "--for=condition=complete",
      "job/smoke-1-1-0",
      "-n",
      NS,
      "--timeout=60s",
    );
    const failed = JSON.parse(
      await t.kubectlOk("get", "job", "migration-1-1-0", "-n", NS, "-o", "json"),
    );
    const condition = failed.status.conditions.find((c: { type: string }) => c.type === "Failed");
    assert.equal(condition.reason, "BackoffLimitExceeded");
    assert.equal(failed.status.failed, 2);
    const logs = await t.kubectlOk("logs", "job/migration-1-1-0", "-n", NS);
    assert.match(logs, /ERROR: migration failed/);
    const info = await t.kubectlOk(
      "get",
      "configmap",
      "sandbox-info",
      "-n",
      "kube-system",
      "-o",
      "jsonpath={.data.scenario}",
    );
    assert.equal(info, "migration-fails");
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});

Deno.test("scenario metrics-down: measurements answer 503 and pods' /metrics fail, /health still answers", async () => {
  const t = await deployGreen("metrics-down");
  try {
    const m = await measure(t, "slot=blue");
    assert.equal(m.status, 503);
    await t.kubectlOk("rollout", "status", "deployment/api-green", "-n", NS, "--timeout=60s");
    const targets = await waitFor("a scrape target", async () => {
      const list = JSON.parse(await Deno.readTextFile(`${t.stateDir}/prometheus-targets.json`));
      return list.length > 0 ? list : undefined;
    });
    const address = targets[0].targets[0];
    const metrics = await fetch(`http://${address}/metrics`);
    assert.equal(metrics.status, 503);
    await metrics.body?.cancel();
    const health = await (await fetch(`http://${address}/health`)).json();
    assert.equal(health.status, "healthy");
    assert.match(health.version, /^1\.[01]\.0$/);
  } finally {
    await t.cleanup();
  }
});
