// A kubeconfig whose API server does not answer fails once, fast and clearly, before the
// run starts (connect(...).verify()): the server, the reason, the fix, exit 2 — not the
// same connection error on every call and every retry. The sandbox answers the probe.
import assert from "node:assert/strict";
import { runClusterFixture } from "./_cli.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { CapabilityUnavailableError } from "../../lib/capabilities/mod.ts";
import { connect, VERIFY_TIMEOUT_MS } from "../../lib/targets/connect.ts";
import { Redactor } from "../../lib/journal/redact.ts";
import { InputError } from "../../lib/runner/errors.ts";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import type { SandboxTarget } from "../../lib/targets/sandbox.ts";
import { ENVIRONMENTS } from "../config/_helpers.ts";

const TOKEN = "hush-hush-kube-token-1234";

/** A port nothing listens on: listened on, then closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A kubeconfig for `server`, with the environment's context and a bearer token. */
async function kubeconfigFor(dir: string, server: string, context: string): Promise<string> {
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    `apiVersion: v1
kind: Config
current-context: ${context}
clusters:
  - name: c
    cluster: { server: "${server}", insecure-skip-tls-verify: true }
contexts:
  - name: ${context}
    context: { cluster: c, user: u }
users:
  - name: u
    user: { token: ${TOKEN} }
`,
  );
  return path;
}

async function connectTo(server: string, o: { verifyTimeoutMs?: number } = {}) {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const dir = await Deno.makeTempDir({ prefix: "kube-reachable-" });
  const path = await kubeconfigFor(dir, server, env.kubernetes?.context ?? "dev-cluster");
  const connection = connect({
    env,
    dryRun: true,
    redactor: new Redactor(),
    metrics: {},
    log: () => {},
    readEnv: (name) => name === "KUBECONFIG" ? path : undefined,
    resources: ["kubernetes"],
    ...o,
  });
  return {
    connection,
    path,
    cleanup: async () => {
      await connection.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a dead API server: verify() fails once, fast, naming the server and the fix", async () => {
  const port = closedPort();
  const server = `https://127.0.0.1:${port}`;
  // connect() itself stays local: the kubeconfig exists, parses and has the context.
  const { connection, path, cleanup } = await connectTo(server);
  try {
    const t0 = performance.now();
    const error = await connection.verify().catch((e) => e);
    const ms = performance.now() - t0;
    assert.ok(error instanceof InputError, String(error));
    assert.ok(error.cause instanceof CapabilityUnavailableError);
    assert.equal(error.cause.capability, "kubernetes");
    assert.match(
      error.message,
      new RegExp(
        `^cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\)\\. ` +
          `To fix: check that the cluster is up and that KUBECONFIG \\(${path}\\) points at it ` +
          `\\(kubectl --kubeconfig ${path} version\\), or rehearse on the sandbox with --sandbox$`,
      ),
    );
    assert.ok(!error.message.includes(TOKEN), "no credentials quoted");
    assert.ok(ms < VERIFY_TIMEOUT_MS, `refused at once, not after the time limit (${ms} ms)`);
  } finally {
    await cleanup();
  }
});

Deno.test("an API server that never answers: verify() gives up after its time limit", async () => {
  // Accepts connections and says nothing (not even the TLS handshake).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const { connection, cleanup } = await connectTo(`https://127.0.0.1:${listener.addr.port}`, {
    verifyTimeoutMs: 300,
  });
  try {
    const t0 = performance.now();
    await assert.rejects(() => connection.verify(), {
      name: "InputError",
      message: new RegExp(
        `^cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${listener.addr.port} ` +
          `\\(no answer within 300 ms\\)\\. To fix: check that the cluster is up`,
      ),
    });
    const ms = performance.now() - t0;
    assert.ok(ms < 3_000, `stopped waiting at its time limit (${ms} ms)`);
  } finally {
    await cleanup();
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("verify() asks nothing of a run that does not use kubernetes", async () => {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const dead = await Deno.makeTempDir({ prefix: "kube-reachable-" });
  try {
    const path = await kubeconfigFor(dead, `https://127.0.0.1:${closedPort()}`, "dev-cluster");
    const o = {
      env,
      dryRun: true,
      redactor: new Redactor(),
      metrics: {},
      log: () => {},
      readEnv: (name: string) => name === "KUBECONFIG" ? path : undefined,
    };
    for (const resources of [["redis", "github"], undefined]) {
      const connection = connect({ ...o, resources });
      await connection.verify();
      await connection.close();
    }
  } finally {
    await Deno.remove(dead, { recursive: true });
  }
});

/** The sandbox as `connect` takes it (this test stops it itself). */
function targetOf(sandbox: Sandbox, stateDir: string): SandboxTarget {
  return {
    url: sandbox.url,
    token: "unused",
    kubeconfigPath: sandbox.kubeconfigPath,
    stateDir,
    scenario: undefined,
    timeScale: sandbox.timeScale,
    clock: sandbox.clock,
    inProcess: true,
    close: () => Promise.resolve(),
  };
}

Deno.test("the sandbox answers the probe", async () => {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const stateDir = await Deno.makeTempDir({ prefix: "kube-reachable-sandbox-" });
  const sandbox = await startSandbox({ stateDir, port: 0, reset: true, trafficRate: 0 });
  try {
    const connection = connect({
      env,
      sandbox: targetOf(sandbox, stateDir),
      dryRun: true,
      redactor: new Redactor(),
      metrics: {},
      log: () => {},
      resources: ["kubernetes"],
    });
    await connection.verify();
    await connection.close();
    // Its kubeconfig, kept: once the sandbox stops, it names a server that is gone.
    await Deno.copyFile(sandbox.kubeconfigPath, `${stateDir}/kept-kubeconfig`);
  } finally {
    await sandbox.stop();
  }
  // Stopped, the same sandbox fails the probe with the sandbox's fix.
  const connection = connect({
    env,
    sandbox: { ...targetOf(sandbox, stateDir), kubeconfigPath: `${stateDir}/kept-kubeconfig` },
    dryRun: true,
    redactor: new Redactor(),
    metrics: {},
    log: () => {},
    resources: ["kubernetes"],
  });
  try {
    await assert.rejects(() => connection.verify(), {
      name: "InputError",
      message: new RegExp(
        `^cannot reach the Kubernetes API at ${sandbox.url.replaceAll(".", "\\.")} \\(.*\\)\\. ` +
          "To fix: start the sandbox again \\(deno task sandbox\\), or run with --sandbox --reset$",
      ),
    });
  } finally {
    await connection.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("run --dry-run against a dead API server: exit 2 once, before the run folder exists", async () => {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const dir = await Deno.makeTempDir({ prefix: "kube-dead-cli-" });
  try {
    const port = closedPort();
    const context = env.kubernetes?.context ?? "dev-cluster";
    const path = await kubeconfigFor(dir, `https://127.0.0.1:${port}`, context);
    const { code, out, written } = await runClusterFixture(path, dir);
    assert.equal(code, 2, out);
    const lines = out.split("\n").filter((l) => l.includes("cannot reach the Kubernetes API"));
    assert.equal(lines.length, 1, out);
    assert.match(lines[0]!, new RegExp(`127\\.0\\.0\\.1:${port}.*To fix:`));
    assert.doesNotMatch(out, new RegExp(TOKEN));
    assert.deepEqual(written, [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
