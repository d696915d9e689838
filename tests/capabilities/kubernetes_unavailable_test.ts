// No reachable cluster fails once, clearly: which kubeconfig was tried, and how to fix it
// (--sandbox, KUBECONFIG, kubernetes.kubeconfig) — not the same ENOENT once per check.
import assert from "node:assert/strict";
import { runClusterFixture } from "./_cli.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import {
  CAPABILITIES,
  CapabilityUnavailableError,
  openCapabilities,
} from "../../lib/capabilities/mod.ts";
import { connect } from "../../lib/targets/connect.ts";
import { Redactor } from "../../lib/journal/redact.ts";
import { InputError } from "../../lib/runner/errors.ts";
import { ENVIRONMENTS } from "../config/_helpers.ts";

const MISSING = "/nonexistent/tracktion-test/kubeconfig";

function opened(readEnv: (name: string) => string | undefined, log: string[] = []) {
  return loadEnvironment("development", { dir: ENVIRONMENTS }).then((env) =>
    openCapabilities({
      env,
      capabilities: CAPABILITIES,
      target: { kind: "kubernetes" },
      dryRun: true,
      readEnv,
      onSecret: () => {},
      log: (line) => log.push(line),
    })
  );
}

Deno.test("a missing kubeconfig: check names the path, where it came from, and the fixes", async () => {
  const caps = await opened((name) => name === "KUBECONFIG" ? MISSING : undefined);
  let error: unknown;
  try {
    caps.check(["redis", "kubernetes"]);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof CapabilityUnavailableError);
  assert.equal(error.capability, "kubernetes");
  assert.equal(
    error.message,
    `cannot reach a Kubernetes cluster: no kubeconfig at ${MISSING} (KUBECONFIG). To fix: ` +
      "rehearse on the sandbox with --sandbox, point KUBECONFIG at your cluster's kubeconfig, " +
      "or set kubernetes.kubeconfig in " +
      (await loadEnvironment("development", { dir: ENVIRONMENTS })).file,
  );
  // Resources that do not need a cluster pass the check.
  caps.check(["redis", "metrics", "github"]);
});

Deno.test("opening fails once: later calls fail fast with the same reason, said once", async () => {
  const log: string[] = [];
  const caps = await opened((name) => name === "KUBECONFIG" ? MISSING : undefined, log);
  const k = caps.providers.kubernetes!;
  const first = await (k.version as () => Promise<unknown>)().catch((e) => e);
  const second = await (k.list as (...a: unknown[]) => Promise<unknown>)(
    { apiVersion: "v1", kind: "Pod" },
    "dev",
  ).catch((e) => e);
  assert.ok(first instanceof CapabilityUnavailableError);
  assert.equal(second, first, "memoised: the same error, not a second attempt");
  assert.equal(
    first.message,
    `cannot reach a Kubernetes cluster: no kubeconfig at ${MISSING} (KUBECONFIG)`,
  );
  assert.equal(log.length, 1);
  assert.match(log[0]!, /^error: .*To fix: rehearse on the sandbox with --sandbox/);
  assert.doesNotMatch(log[0]!, /ENOENT/);
  await caps.close();
});

Deno.test("a kubeconfig without the environment's context says which contexts it has", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      path,
      "apiVersion: v1\nkind: Config\ncurrent-context: other\ncontexts:\n  - name: other\n" +
        "    context: { cluster: c, user: u }\nusers:\n  - name: u\n    user: { token: hush-hush-token }\n",
    );
    const caps = await opened((name) => name === "KUBECONFIG" ? path : undefined);
    assert.throws(() => caps.check(["kubernetes"]), {
      name: "CapabilityUnavailableError",
      message: new RegExp(
        `^cannot reach a Kubernetes cluster: the kubeconfig ${path} has no context "dev-cluster" ` +
          `\\(it has other\\) \\(KUBECONFIG\\)\\. To fix: `,
      ),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect() refuses a run whose stages use kubernetes, before anything is written", async () => {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const o = {
    env,
    dryRun: true,
    redactor: new Redactor(),
    metrics: {},
    log: () => {},
    readEnv: (name: string) => name === "KUBECONFIG" ? MISSING : undefined,
  };
  assert.throws(() => connect({ ...o, resources: ["database", "kubernetes"] }), {
    name: "InputError",
    message: new RegExp(`no kubeconfig at ${MISSING} \\(KUBECONFIG\\)\\. To fix: .*--sandbox`),
  });
  const error = (() => {
    try {
      connect({ ...o, resources: ["kubernetes"] });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof InputError && error.cause instanceof CapabilityUnavailableError);
  // A run that needs no cluster connects.
  const connection = connect({ ...o, resources: ["redis"] });
  assert.equal(connection.target.kind, "kubernetes");
  await connection.close();
});

Deno.test("a database password that is a Kubernetes Secret: connect() checks kubernetes too, saying why", async () => {
  const env = await loadEnvironment("production", { dir: ENVIRONMENTS });
  assert.ok("secret_key_ref" in env.database.password, "production reads it from a Secret");
  const o = {
    env,
    dryRun: true,
    redactor: new Redactor(),
    metrics: {},
    log: () => {},
    readEnv: (name: string) => name === "KUBECONFIG" ? MISSING : undefined,
  };
  const error = (() => {
    try {
      connect({ ...o, resources: ["database"] });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof InputError, String(error));
  assert.ok(error.cause instanceof CapabilityUnavailableError);
  assert.equal(error.cause.capability, "kubernetes");
  assert.match(
    error.message,
    new RegExp(
      "^the database password is a Kubernetes Secret \\(db-credentials, key password\\): " +
        `cannot reach a Kubernetes cluster: no kubeconfig at ${MISSING} \\(KUBECONFIG\\)\\. ` +
        "To fix: rehearse on the sandbox with --sandbox",
    ),
  );
  // DATABASE_URL carries its own password: no Secret is read, no cluster needed.
  const url = "postgres://app:a-long-enough-password@db.example:5432/app";
  const connection = connect({
    ...o,
    readEnv: (name) => name === "DATABASE_URL" ? url : o.readEnv(name),
    resources: ["database"],
  });
  await connection.verify();
  await connection.close();
  // Redis's password is a Secret too, but the stage reaches Redis itself: not read here.
  await connect({ ...o, resources: ["redis"] }).close();
});

Deno.test("a database password that is a Kubernetes Secret: verify() asks the cluster too", async () => {
  const env = await loadEnvironment("production", { dir: ENVIRONMENTS });
  const dir = await Deno.makeTempDir({ prefix: "kube-indirect-" });
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const path = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      path,
      `apiVersion: v1\nkind: Config\ncurrent-context: prod-cluster\nclusters:\n  - name: c\n` +
        `    cluster: { server: "https://127.0.0.1:${port}" }\ncontexts:\n  - name: prod-cluster\n` +
        "    context: { cluster: c, user: u }\nusers:\n  - name: u\n    user: { token: hush-hush-token }\n",
    );
    const connection = connect({
      env,
      dryRun: true,
      redactor: new Redactor(),
      metrics: {},
      log: () => {},
      readEnv: (name: string) => name === "KUBECONFIG" ? path : undefined,
      resources: ["database"],
    });
    await assert.rejects(() => connection.verify(), {
      name: "InputError",
      message: new RegExp(
        "^the database password is a Kubernetes Secret \\(db-credentials, key password\\): " +
          `cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port} \\(`,
      ),
    });
    await connection.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --dry-run without a cluster says so once, with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-runs-" });
  try {
    const { code, out, written } = await runClusterFixture(MISSING, dir);
    // Bad input, found before the run starts: exit 2 and no run folder written.
    assert.equal(code, 2, out);
    assert.deepEqual(written, [], "nothing written");
    const fixes = out.split("\n").filter((line) => line.includes("To fix:"));
    assert.equal(fixes.length, 1, out);
    assert.match(
      fixes[0]!,
      new RegExp(
        `^error: cannot reach a Kubernetes cluster: no kubeconfig at ${MISSING} \\(KUBECONFIG\\)`,
      ),
    );
    assert.match(fixes[0]!, /--sandbox.*KUBECONFIG.*kubernetes\.kubeconfig in environments/);
    assert.doesNotMatch(out, /ENOENT/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
