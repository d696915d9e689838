/**
 * `kubectl exec` (v1.32, WebSocket v5.channel.k8s.io) against a real sandbox: the commands a
 * simulated pod answers, really fetched from its pod server; exit codes through the v5
 * status channel; stdin with `-i`; the API server's errors; and client-node's `Exec`.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { deploymentYaml, tempFile, type TestSandbox, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";
const SECRET = "s3cret-exec-value-9f2c";

async function apply(t: TestSandbox, yaml: string): Promise<void> {
  const file = await tempFile(yaml);
  try {
    await t.kubectlOk("apply", "-f", file);
  } finally {
    await Deno.remove(file);
  }
}

/** A sandbox with Deployment `web` (2 Ready pods, an env var from a Secret) and its Service. */
async function webSandbox(): Promise<{ t: TestSandbox; pod: string }> {
  const t = await withSandbox({ trafficRate: 0 });
  await apply(
    t,
    `apiVersion: v1
kind: Secret
metadata: {name: web-db, namespace: ${NS}}
stringData: {password: ${SECRET}}
---
` + deploymentYaml({ name: "web", namespace: NS, version: "1.4.2" }).replace(
        "env: [{name: LOG_LEVEL, value: info}]",
        "env: [{name: LOG_LEVEL, value: info}, {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: web-db, key: password}}}]",
      ),
  );
  await t.kubectlOk("rollout", "status", "-n", NS, "deployment/web", "--timeout=60s");
  const pod = (await t.kubectlOk(
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    "service=web",
    "-o",
    "jsonpath={.items[0].metadata.name}",
  )).trim();
  return { t, pod };
}

Deno.test("kubectl exec answers curl, wget, cat /etc/hostname and env from the simulated pod", async () => {
  const { t, pod } = await webSandbox();
  try {
    const health = await t.kubectl(
      "exec",
      "-n",
      NS,
      pod,
      "--",
      "curl",
      "-s",
      "--max-time",
      "10",
      "http://localhost:8000/health",
    );
    assert.equal(health.code, 0, health.stderr);
    const body = JSON.parse(health.stdout);
    assert.equal(body.status, "healthy");
    assert.equal(body.pod, pod, "answered by the pod exec'd into");
    assert.equal(body.version, "1.4.2");

    // The runbook's line, through deployment/<name> and a pipe to grep.
    const runbook = await new Deno.Command("bash", {
      args: [
        "-c",
        `kubectl ${
          t.kubectlArgs.join(" ")
        } exec -n ${NS} deployment/web -- curl -s --max-time 10 http://localhost:8000/health | grep -q healthy`,
      ],
    }).output();
    assert.equal(runbook.code, 0);

    for (const host of ["web", `web.${NS}`, `web.${NS}.svc.cluster.local`]) {
      const viaService = await t.kubectl(
        "exec",
        "-n",
        NS,
        pod,
        "--",
        "wget",
        "-qO-",
        `http://${host}:80/health`,
      );
      assert.equal(viaService.code, 0, viaService.stderr);
      assert.equal(JSON.parse(viaService.stdout).service, "web", host);
    }
    const metrics = await t.kubectlOk(
      "exec",
      "-n",
      NS,
      pod,
      "--",
      "curl",
      "-s",
      "http://localhost:8000/metrics",
    );
    assert.match(metrics, /^tracktion_build_info\{version="1\.4\.2"\} 1$/m);

    assert.equal(
      await t.kubectlOk("exec", "-n", NS, pod, "--", "cat", "/etc/hostname"),
      `${pod}\n`,
    );
    const env = await t.kubectlOk("exec", "-n", NS, pod, "-c", "app", "--", "env");
    assert.match(env, new RegExp(`^HOSTNAME=${pod}$`, "m"));
    assert.match(env, /^LOG_LEVEL=info$/m);
    assert.match(
      env,
      new RegExp(`^DB_PASSWORD=${SECRET}$`, "m"),
      "the secret as the container has it",
    );
    const logs = await t.kubectlOk("logs", "-n", NS, pod);
    assert.ok(!logs.includes(SECRET), "the secret is not in the pod's log");

    // -i: stdin reaches the command and its end (the v5 CLOSE signal) ends it.
    const cat = new Deno.Command("kubectl", {
      args: [...t.kubectlArgs, "exec", "-i", "-n", NS, pod, "--", "cat"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = cat.stdin.getWriter();
    await writer.write(new TextEncoder().encode("line one\nline two\n"));
    await writer.close();
    const echoed = await cat.output();
    assert.equal(echoed.code, 0, new TextDecoder().decode(echoed.stderr));
    assert.equal(new TextDecoder().decode(echoed.stdout), "line one\nline two\n");

    // -i with a command that does not read stdin: it ends when the command does, stdin open.
    const open = new Deno.Command("kubectl", {
      args: [
        ...t.kubectlArgs,
        "exec",
        "-i",
        "-n",
        NS,
        pod,
        "--",
        "curl",
        "-s",
        "http://localhost:8000/health",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const held = open.stdin.getWriter();
    const answered = await open.output();
    await held.close().catch(() => {});
    assert.equal(answered.code, 0);
    assert.equal(JSON.parse(new TextDecoder().decode(answered.stdout)).pod, pod);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl exec carries exit codes: 126 with a clear message for a command the sandbox does not run", async () => {
  const { t, pod } = await webSandbox();
  try {
    const python = await t.kubectl("exec", "-n", NS, pod, "--", "python", "-c", "import os");
    assert.equal(python.code, 126);
    assert.equal(python.stdout, "");
    assert.match(
      python.stderr,
      /^python: not available in the sandbox \(it answers curl, wget, cat \/etc\/hostname, env\)$/m,
    );
    assert.match(python.stderr, /command terminated with exit code 126/);

    const noHost = await t.kubectl(
      "exec",
      "-n",
      NS,
      pod,
      "--",
      "curl",
      "-sS",
      "http://no-such-svc:8000/health",
    );
    assert.equal(noHost.code, 6);
    assert.match(noHost.stderr, /curl: \(6\) Could not resolve host: no-such-svc/);
    const closedPort = await t.kubectl(
      "exec",
      "-n",
      NS,
      pod,
      "--",
      "curl",
      "-sS",
      "http://localhost:9090/",
    );
    assert.equal(closedPort.code, 7);
    assert.match(closedPort.stderr, /Failed to connect to localhost port 9090/);
    const silent = await t.kubectl(
      "exec",
      "-n",
      NS,
      pod,
      "--",
      "curl",
      "-s",
      "http://localhost:9090/",
    );
    assert.equal(silent.code, 7);
    assert.doesNotMatch(silent.stderr, /curl:/, "-s keeps curl's own message out");
    const noFile = await t.kubectl("exec", "-n", NS, pod, "--", "cat", "/etc/passwd");
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /cat: \/etc\/passwd: No such file or directory/);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl exec gets the API server's errors: missing pod 404, unknown container, a pod not running", async () => {
  const { t, pod } = await webSandbox();
  try {
    const missing = await t.kubectl("exec", "-n", NS, "no-such-pod", "--", "env");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pods "no-such-pod" not found/);
    const raw = await fetch(
      `${t.sandbox.url}/api/v1/namespaces/${NS}/pods/no-such-pod/exec?command=env`,
      {
        headers: { upgrade: "websocket", connection: "Upgrade" },
      },
    );
    assert.equal(raw.status, 404);
    assert.equal((await raw.json()).reason, "NotFound");

    const container = await t.kubectl("exec", "-n", NS, pod, "-c", "nope", "--", "env");
    assert.notEqual(container.code, 0);
    assert.match(container.stderr, /container nope is not valid for pod/);

    // Waiting on a Secret that does not exist: Pending, CreateContainerConfigError.
    await apply(
      t,
      `apiVersion: v1
kind: Pod
metadata: {name: waiting, namespace: ${NS}}
spec:
  containers:
  - name: app
    image: registry.local/web:1.4.2
    env: [{name: X, valueFrom: {secretKeyRef: {name: absent, key: x}}}]
`,
    );
    const waiting = await t.kubectl("exec", "-n", NS, "waiting", "--", "env");
    assert.equal(waiting.code, 1);
    assert.match(
      waiting.stderr,
      /container "app" in pod "waiting" is waiting to start: CreateContainerConfigError/,
    );
    // A SPDY upgrade (kubectl's fallback) is refused with a 400.
    const spdy = await fetch(
      `${t.sandbox.url}/api/v1/namespaces/${NS}/pods/${pod}/exec?command=env`,
      {
        method: "POST",
        headers: { upgrade: "SPDY/3.1", connection: "Upgrade" },
      },
    );
    assert.equal(spdy.status, 400);
    await spdy.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("client-node's Exec runs a command in the sandbox and reports its exit status", async () => {
  const { t, pod } = await webSandbox();
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(t.sandbox.kubeconfigPath);
    const run = (command: string[]) =>
      new Promise<{ out: string; err: string; status: k8s.V1Status }>((resolve, reject) => {
        let out = "", err = "";
        const sink = (f: (s: string) => void) =>
          new Writable({
            write(chunk, _enc, cb) {
              f(String(chunk));
              cb();
            },
          });
        new k8s.Exec(kc).exec(
          NS,
          pod,
          "app",
          command,
          sink((s) => out += s),
          sink((s) => err += s),
          null,
          false,
          (status) => resolve({ out, err, status }),
        )
          .catch(reject);
      });
    const ok = await run(["curl", "-s", "http://localhost:8000/health"]);
    assert.equal(ok.status.status, "Success");
    assert.equal(JSON.parse(ok.out).pod, pod);
    const bad = await run(["redis-cli", "ping"]);
    assert.equal(bad.status.status, "Failure");
    assert.equal(bad.status.reason, "NonZeroExitCode");
    assert.equal(bad.status.details?.causes?.[0]?.message, "126");
    assert.match(bad.err, /redis-cli: not available in the sandbox/);
  } finally {
    await t.close();
  }
});
