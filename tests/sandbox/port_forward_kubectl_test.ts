/**
 * `kubectl port-forward` (v1.32: the SPDY/3.1+portforward.k8s.io WebSocket tunnel) to a
 * simulated pod and a Service, fetched through the local port; a port the pod does not
 * listen on; and client-node's `PortForward` (v4.channel.k8s.io channels).
 */
import assert from "node:assert/strict";
import net from "node:net";
import * as k8s from "@kubernetes/client-node";
import { deploymentYaml, tempFile, type TestSandbox, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

async function webSandbox(): Promise<{ t: TestSandbox; pod: string }> {
  const t = await withSandbox({ trafficRate: 0 });
  const file = await tempFile(deploymentYaml({ name: "web", namespace: NS, version: "2.0.1" }));
  await t.kubectlOk("apply", "-f", file);
  await Deno.remove(file);
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

/** Starts `kubectl port-forward <target> :<port>`; resolves with the ports it printed. */
async function portForward(
  t: TestSandbox,
  target: string,
  remote: number,
): Promise<{ port: number; remote: number; stop(): Promise<string> }> {
  const child = new Deno.Command("kubectl", {
    args: [...t.kubectlArgs, "port-forward", "-n", NS, target, `:${remote}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let match: RegExpMatchArray | null = null;
  while (!(match = seen.match(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/))) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`port-forward ended: ${seen}`);
    seen += value;
  }
  return {
    port: Number(match[1]),
    remote: Number(match[2]),
    async stop() {
      // kubectl 1.32 may have exited by itself already: after a forwarded connection fails it
      // ends with "lost connection to pod". Killing an exited child throws.
      try {
        child.kill("SIGTERM");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      await lines.cancel();
      const stderr = await new Response(child.stderr).text();
      await child.status;
      return stderr;
    },
  };
}

Deno.test("kubectl port-forward pod/<p> reaches the pod's HTTP server through the local port", async () => {
  const { t, pod } = await webSandbox();
  try {
    const pf = await portForward(t, `pod/${pod}`, 8000);
    assert.equal(pf.remote, 8000);
    try {
      // Sequential and concurrent connections, each its own pair of SPDY streams.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${pf.port}/health`);
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.pod, pod);
        assert.equal(body.version, "2.0.1");
      }
      const many = await Promise.all(
        Array.from(
          { length: 8 },
          () => fetch(`http://127.0.0.1:${pf.port}/metrics`).then((r) => r.text()),
        ),
      );
      for (const text of many) assert.match(text, /tracktion_build_info\{version="2\.0\.1"\} 1/);
      // A body larger than one SPDY data frame (64 KiB) goes through whole.
      const big = "x".repeat(200_000);
      const echoed = await fetch(`http://127.0.0.1:${pf.port}/api`, { method: "POST", body: big });
      assert.ok([200, 500].includes(echoed.status));
      await echoed.body?.cancel();
    } finally {
      const stderr = await pf.stop();
      assert.doesNotMatch(stderr, /error/i);
    }
  } finally {
    await t.close();
  }
});

Deno.test("kubectl port-forward svc/<s> goes to one of the Service's ready pods", async () => {
  const { t } = await webSandbox();
  try {
    // The Service maps port 80 to the pods' 8000.
    const pf = await portForward(t, "svc/web", 80);
    assert.equal(pf.remote, 8000, "kubectl resolves the Service's port to the pods' targetPort");
    try {
      const body = await (await fetch(`http://127.0.0.1:${pf.port}/health`)).json();
      assert.equal(body.service, "web");
      assert.match(body.pod, /^web-/);
    } finally {
      await pf.stop();
    }
  } finally {
    await t.close();
  }
});

Deno.test("kubectl port-forward to a port the pod does not listen on: the connection fails with the reason", async () => {
  const { t, pod } = await webSandbox();
  try {
    const pf = await portForward(t, `pod/${pod}`, 9999);
    let stderr = "";
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${pf.port}/health`).then((r) => r.text()));
    } finally {
      stderr = await pf.stop();
    }
    assert.match(stderr, /error forwarding port 9999 to pod .*connection refused/);
  } finally {
    await t.close();
  }
});

Deno.test("client-node's PortForward reaches the pod over v4.channel.k8s.io", async () => {
  const { t, pod } = await webSandbox();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(t.sandbox.kubeconfigPath);
  const forward = new k8s.PortForward(kc);
  const server = net.createServer((socket) => {
    void forward.portForward(NS, pod, [8000], socket, null, socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/health`, {
      headers: { connection: "close" },
    });
    const body = await res.json();
    assert.equal(body.pod, pod);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  }
});
