/**
 * `kubectl run … --rm -i --restart=Never -- curl …` (the runbook's health check) against a
 * real sandbox: the pod runs the command against a Service, attach streams its output, the
 * pod completes with the command's exit code and `--rm` deletes it. Without `-i` the pod
 * runs on its own and its log is the command's output.
 */
import assert from "node:assert/strict";
import { deploymentYaml, tempFile, type TestSandbox, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

async function webSandbox(): Promise<TestSandbox> {
  const t = await withSandbox({ trafficRate: 0 });
  const file = await tempFile(deploymentYaml({ name: "web", namespace: NS, version: "3.1.0" }));
  await t.kubectlOk("apply", "-f", file);
  await Deno.remove(file);
  await t.kubectlOk("rollout", "status", "-n", NS, "deployment/web", "--timeout=60s");
  return t;
}

function run(t: TestSandbox, name: string, ...command: string[]) {
  return t.kubectl(
    "run",
    name,
    "-n",
    NS,
    "--rm",
    "-i",
    "--restart=Never",
    "--image=curlimages/curl",
    "--",
    ...command,
  );
}

async function gone(t: TestSandbox, name: string): Promise<void> {
  const r = await t.kubectl("get", "pod", "-n", NS, name);
  assert.equal(r.code, 1, `pod ${name} still there`);
  assert.match(r.stderr, /NotFound|not found/);
}

Deno.test("kubectl run --rm -i --restart=Never -- curl <svc> streams the answer and deletes the pod", async () => {
  const t = await webSandbox();
  try {
    for (const host of [`web.${NS}.svc.cluster.local`, "web"]) {
      const name = `health-check-${host.length}`;
      const r = await run(t, name, "curl", "-s", "--max-time", "10", `http://${host}:80/health`);
      assert.equal(r.code, 0, r.stderr);
      const body = JSON.parse(r.stdout.slice(0, r.stdout.indexOf("}") + 1));
      assert.equal(body.status, "healthy");
      assert.equal(body.version, "3.1.0");
      assert.match(r.stdout, new RegExp(`pod "${name}" deleted`));
      await gone(t, name);
    }
    // The runbook's line, piped to grep as it is.
    const runbook = await new Deno.Command("bash", {
      args: [
        "-c",
        `kubectl ${
          t.kubectlArgs.join(" ")
        } run health-check-web-1 -n ${NS} --rm -i --restart=Never --image=curlimages/curl -- curl -s --max-time 10 "http://web.${NS}.svc.cluster.local:80/health" | grep -q "healthy"`,
      ],
    }).output();
    assert.equal(runbook.code, 0);
    await gone(t, "health-check-web-1");
  } finally {
    await t.close();
  }
});

Deno.test("kubectl run --rm -i carries the command's failure: its exit code, its message, the pod still removed", async () => {
  const t = await webSandbox();
  try {
    const noHost = await run(t, "hc-nohost", "curl", "-sS", "http://web-green:80/health");
    assert.equal(noHost.code, 6);
    assert.match(noHost.stderr, /curl: \(6\) Could not resolve host: web-green/);
    assert.match(noHost.stderr, /pod tracktion-dev\/hc-nohost terminated \(Error\)/);
    await gone(t, "hc-nohost");

    const python = await run(t, "hc-python", "python", "-c", "print(1)");
    assert.equal(python.code, 126);
    assert.match(
      python.stderr,
      /python: not available in the sandbox \(it answers curl, wget, cat \/etc\/hostname, env\)/,
    );
    await gone(t, "hc-python");
  } finally {
    await t.close();
  }
});

Deno.test("kubectl run --restart=Never without -i: the pod runs wget on its own, Succeeded, its log the answer", async () => {
  const t = await webSandbox();
  try {
    await t.kubectlOk(
      "run",
      "once",
      "-n",
      NS,
      "--restart=Never",
      "--image=busybox",
      "--",
      "wget",
      "-qO-",
      "http://web/health",
    );
    await t.kubectlOk(
      "wait",
      "-n",
      NS,
      "pod/once",
      "--for=jsonpath={.status.phase}=Succeeded",
      "--timeout=60s",
    );
    const logs = await t.kubectlOk("logs", "-n", NS, "once");
    assert.equal(JSON.parse(logs).service, "web");
    const exit = await t.kubectlOk(
      "get",
      "pod",
      "-n",
      NS,
      "once",
      "-o",
      "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}",
    );
    assert.equal(exit, "0");

    await t.kubectlOk(
      "run",
      "fails",
      "-n",
      NS,
      "--restart=Never",
      "--image=busybox",
      "--",
      "wget",
      "-qO-",
      "http://localhost:9999/",
    );
    await t.kubectlOk(
      "wait",
      "-n",
      NS,
      "pod/fails",
      "--for=jsonpath={.status.phase}=Failed",
      "--timeout=60s",
    );
    const failed = await t.kubectlOk(
      "get",
      "pod",
      "-n",
      NS,
      "fails",
      "-o",
      "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}",
    );
    assert.notEqual(failed, "0");
  } finally {
    await t.close();
  }
});
