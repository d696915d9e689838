// The cluster probe never prints a secret of the kubeconfig: not a user, password or token
// in its server URL, not what its credential plugin says (that is "the kubeconfig's
// credential plugin failed"). Its time limit counts the request only: a credential plugin
// that takes a while to get a token does not fail a cluster that answers. The limit is
// DEPLOY_CLUSTER_TIMEOUT when set; an invalid one is exit 2 naming it.
import assert from "node:assert/strict";
import { runClusterFixture } from "./_cli.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { CapabilityUnavailableError } from "../../lib/capabilities/mod.ts";
import { CLUSTER_TIMEOUT_ENV, connect } from "../../lib/targets/connect.ts";
import { Redactor } from "../../lib/journal/redact.ts";
import { InputError } from "../../lib/runner/errors.ts";
import { ENVIRONMENTS } from "../config/_helpers.ts";

const PASSWORD = "hunter2pass";
const QUERY_TOKEN = "abcsecret";
const PLUGIN_SECRET = "EXECSECRET987";
const PLUGIN_TOKEN = "slow-plugin-token-12345";

/** A port nothing listens on: listened on, then closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** An exec credential plugin: a shell script in `dir`. */
async function plugin(dir: string, script: string): Promise<string> {
  const path = `${dir}/credential-plugin.sh`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${script}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** A kubeconfig for `server` with the context `dev-cluster` and the given user. */
async function kubeconfig(dir: string, server: string, user: string): Promise<string> {
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    `apiVersion: v1
kind: Config
current-context: dev-cluster
clusters:
  - name: c
    cluster: { server: "${server}", insecure-skip-tls-verify: true }
contexts:
  - name: dev-cluster
    context: { cluster: c, user: u }
users:
  - name: u
    user:
${user}
`,
  );
  return path;
}

function execUser(command: string): string {
  return `      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: ${command}
        interactiveMode: Never`;
}

/** `connect` to the kubeconfig (as KUBECONFIG), using kubernetes, with more variables. */
async function connectWith(path: string, vars: Record<string, string> = {}) {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  return connect({
    env,
    dryRun: true,
    redactor: new Redactor(),
    metrics: {},
    log: () => {},
    readEnv: (name) => name === "KUBECONFIG" ? path : vars[name],
    resources: ["kubernetes"],
  });
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kube-credentials-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("run --dry-run, a server URL with a user, password and query token: exit 2, none of them printed", async () => {
  await inTempDir(async (dir) => {
    const port = closedPort();
    const path = await kubeconfig(
      dir,
      `https://admin:${PASSWORD}@127.0.0.1:${port}/?token=${QUERY_TOKEN}`,
      "      token: hush-hush-kube-token-1234",
    );
    const { code, out, written } = await runClusterFixture(path, dir);
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`https://127\\.0\\.0\\.1:${port} \\(.*user name or password`));
    for (const secret of [PASSWORD, QUERY_TOKEN, "admin:"]) {
      assert.ok(!out.includes(secret), `${secret} printed: ${out}`);
    }
    assert.deepEqual(written, [], "nothing written");
  });
});

Deno.test("a query token in the server URL is not quoted when the server cannot be reached", async () => {
  await inTempDir(async (dir) => {
    const port = closedPort();
    const path = await kubeconfig(
      dir,
      `https://127.0.0.1:${port}/?token=${QUERY_TOKEN}`,
      "      token: hush-hush-kube-token-1234",
    );
    const connection = await connectWith(path);
    const error = await connection.verify().catch((e) => e);
    await connection.close();
    assert.ok(error instanceof InputError, String(error));
    assert.match(
      error.message,
      new RegExp(`^cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port} \\(`),
    );
    assert.ok(!error.message.includes(QUERY_TOKEN), error.message);
    assert.ok(!error.message.includes("\n"), "one line");
  });
});

Deno.test("a credential plugin that fails: 'the kubeconfig's credential plugin failed', its output not quoted", async () => {
  await inTempDir(async (dir) => {
    const command = await plugin(
      dir,
      `echo "refresh token ${PLUGIN_SECRET} expired" >&2\necho "more ${PLUGIN_SECRET}" >&2\nexit 1`,
    );
    const path = await kubeconfig(dir, `https://127.0.0.1:${closedPort()}`, execUser(command));
    const connection = await connectWith(path);
    const error = await connection.verify().catch((e) => e);
    await connection.close();
    assert.ok(error instanceof InputError, String(error));
    assert.ok(error.cause instanceof CapabilityUnavailableError);
    assert.equal(error.cause.capability, "kubernetes");
    assert.match(
      error.message,
      /^cannot authenticate to the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(the kubeconfig's credential plugin failed\)\. To fix: .*kubectl --kubeconfig /,
    );
    assert.doesNotMatch(error.message, /cannot reach/);
    assert.ok(!error.message.includes(PLUGIN_SECRET), error.message);
    assert.ok(!error.message.includes("\n"), "one line");
  });
});

Deno.test("a slow credential plugin is not counted in the time limit: the cluster answers", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers.get("authorization"));
    return Response.json({ major: "1", minor: "30", gitVersion: "v1.30.0" });
  });
  try {
    await inTempDir(async (dir) => {
      const credential = JSON.stringify({
        apiVersion: "client.authentication.k8s.io/v1beta1",
        kind: "ExecCredential",
        status: { token: PLUGIN_TOKEN },
      });
      const command = await plugin(dir, `sleep 1\necho '${credential}'`);
      const path = await kubeconfig(
        dir,
        `http://127.0.0.1:${server.addr.port}`,
        execUser(command),
      );
      // A time limit shorter than the plugin takes: only the request is timed.
      const connection = await connectWith(path, { [CLUSTER_TIMEOUT_ENV]: "500ms" });
      try {
        await connection.verify();
      } finally {
        await connection.close();
      }
      assert.deepEqual(seen, [`Bearer ${PLUGIN_TOKEN}`], "asked once, with the plugin's token");
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("DEPLOY_CLUSTER_TIMEOUT sets the time limit; an invalid one is exit 2 naming it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    await inTempDir(async (dir) => {
      const path = await kubeconfig(
        dir,
        `https://127.0.0.1:${listener.addr.port}`,
        "      token: hush-hush-kube-token-1234",
      );
      for (const bad of ["soon", "0s", "2h", "-5s"]) {
        await assert.rejects(() => connectWith(path, { [CLUSTER_TIMEOUT_ENV]: bad }), (e) => {
          assert.ok(e instanceof InputError, String(e));
          assert.match(e.message, /^DEPLOY_CLUSTER_TIMEOUT is ".*", not a duration .*like 10s/);
          return true;
        });
      }
      const connection = await connectWith(path, { [CLUSTER_TIMEOUT_ENV]: "300ms" });
      const t0 = performance.now();
      await assert.rejects(() => connection.verify(), {
        name: "InputError",
        message: /\(no answer within 300 ms\)/,
      });
      assert.ok(performance.now() - t0 < 3_000);
      await connection.close();
    });
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
