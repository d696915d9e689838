import assert from "node:assert/strict";
import { findRunningSandbox, SandboxRunningError, startSandbox } from "../../lib/sandbox/mod.ts";
import { deploymentYaml, tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

Deno.test("pods/proxy and services/proxy reach a Ready pod's /health and /metrics, 503 without endpoints", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "health", namespace: NS, version: "4.2.0" }),
    );
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/health", "-n", NS, "--timeout=60s");
    const viaService = JSON.parse(
      await t.kubectlOk("get", "--raw", `/api/v1/namespaces/${NS}/services/health:80/proxy/health`),
    );
    assert.deepEqual(
      { status: viaService.status, version: viaService.version, service: viaService.service },
      { status: "healthy", version: "4.2.0", service: "health" },
    );
    assert.equal(JSON.stringify(viaService).includes("password"), false, "no secrets in /health");
    const pod = (await t.kubectlOk("get", "pods", "-n", NS, "-l", "service=health", "-o", "name"))
      .trim().split("\n")[0]?.replace("pod/", "");
    const metrics = await t.kubectlOk(
      "get",
      "--raw",
      `/api/v1/namespaces/${NS}/pods/${pod}/proxy/metrics`,
    );
    assert.match(metrics, /^# TYPE http_requests_total counter$/m);
    assert.match(metrics, /^http_request_duration_seconds_bucket\{le="5"\} \d+$/m);
    assert.match(metrics, /^http_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
    await t.kubectlOk("scale", "deployment/health", "-n", NS, "--replicas=0");
    const none = await t.kubectl(
      "get",
      "--raw",
      `/api/v1/namespaces/${NS}/services/health:80/proxy/health`,
    );
    assert.equal(none.code, 1);
    assert.match(none.stderr, /ServiceUnavailable|no endpoints/);
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});

Deno.test("findRunningSandbox() finds a live sandbox, and a second startSandbox() on its state dir is refused", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const running = await findRunningSandbox(t.stateDir);
    assert.equal(running?.url, t.sandbox.url);
    const wrongToken = await fetch(`${t.sandbox.url}/api/v1/namespaces`, {
      headers: { authorization: "Bearer not-the-token" },
    });
    assert.equal(wrongToken.status, 401);
    assert.equal((await wrongToken.json()).reason, "Unauthorized");
    const token = (await Deno.readTextFile(t.sandbox.kubeconfigPath)).match(/token: (\S+)/)?.[1];
    const rightToken = await fetch(`${t.sandbox.url}/api/v1/namespaces`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(rightToken.status, 200);
    await rightToken.body?.cancel();
    await assert.rejects(() => startSandbox({ stateDir: t.stateDir }), SandboxRunningError);
  } finally {
    await t.close();
  }
  assert.equal(await findRunningSandbox(t.stateDir), undefined);
});
