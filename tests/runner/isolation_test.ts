// Least privilege that holds (issue 9): a stage never acts with another stage's grant
// or sees its state, Kubernetes calls stay in the environment's namespace, and Secret
// values need a declared grant. The real kubernetes capability over a real sandbox.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun } from "../../lib/runner/run.ts";
import type { CapabilityProvider } from "../../lib/runner/engine.ts";
import { fixture, stageOf } from "./_run.ts";

async function withKubernetes(
  fn: (k: CapabilityProvider, served: { method: string; args: unknown[] }[]) => Promise<void>,
) {
  const stateDir = await Deno.makeTempDir({ prefix: "isolation-sandbox-" });
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir,
    port: 0,
    reset: true,
    trafficRate: 0,
  });
  const real = createKubernetesCapability({ kubeconfigPath: sandbox.kubeconfigPath });
  const served: { method: string; args: unknown[] }[] = [];
  // Records what reached the real client: the attacker's calls must never get here.
  const recorded = new Proxy(real as unknown as CapabilityProvider, {
    get: (target, method: string) => {
      const fn = (target as Record<string, unknown>)[method];
      if (typeof fn !== "function") return fn;
      return (...args: unknown[]) => {
        served.push({ method, args });
        return (fn as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  try {
    await fn(recorded, served);
  } finally {
    await sandbox.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function run(
  name: string,
  options: Record<string, string>,
  capabilities: Record<string, CapabilityProvider>,
) {
  const runsDir = await Deno.makeTempDir({ prefix: "isolation-runs-" });
  try {
    const prepared = await prepareRun({
      pipelineFile: fixture(name),
      environment: "development",
      options,
      skipTypeCheck: true,
    });
    return await executeRun(prepared, {
      runsDir,
      concurrency: 2,
      capabilities,
      approve: () => Promise.reject(new Error("no approvals")),
    });
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
}

for (const mode of ["onmessage", "timer"]) {
  Deno.test(`a stage with no resources cannot use a later stage's Kubernetes grant (${mode})`, async () => {
    await withKubernetes(async (k, served) => {
      const out = await run("hijack.ts", { mode }, { kubernetes: k });
      assert.equal(out.report.status, "succeeded", out.report.error ?? "");
      const innocent = stageOf(out, "innocent");
      assert.deepEqual(innocent.calls.map((c) => c.method), Array(5).fill("version"));
      assert.deepEqual(stageOf(out, "evil").calls, []);
      assert.deepEqual(served.map((c) => c.method), Array(5).fill("version"));
      // Nothing of the first stage is left in the second's Worker.
      assert.deepEqual(innocent.output, { leftBehind: null });
      assert.notDeepEqual(
        innocent.permissions.kubernetes?.secrets,
        stageOf(out, "evil").permissions.kubernetes?.secrets,
      );
    });
  });
}

Deno.test("the kubernetes capability is scoped to the environment's namespace; Secret values need a declared grant", async () => {
  await withKubernetes(async (k, served) => {
    const out = await run("scoped.ts", {}, { kubernetes: k });
    const probe = stageOf(out, "probe");
    const r = probe.output as Record<string, { ok: boolean; error?: string; value?: string }>;
    assert.match(r.prodSecret!.error!, /may not read Secret values in namespace tracktion-prod/);
    assert.match(r.prodTls!.error!, /may not get Secret in namespace tracktion-prod/);
    assert.match(r.allSecrets!.error!, /may not list Secret in the whole cluster/);
    assert.match(
      r.ownSecretValue!.error!,
      /may not read the values of Secret tracktion-dev\/db-credentials: declare uses\(\{ kubernetes: \{ secrets: \["db-credentials"\] \} \}\)/,
    );
    assert.match(r.prodApply!.error!, /may not apply ConfigMap in namespace tracktion-prod/);
    // Attacks found in review: path traversal through the pod proxy, a cluster-scoped
    // kind with the stage's own namespace, Secret values through a patch's answer, an
    // apiVersion that collapses back to /api/v1.
    assert.match(r.proxyTraversal!.error!, /proxy path .* must be a plain absolute path/);
    assert.match(r.proxyKind!.error!, /may proxy only to "pods" or "services"/);
    assert.match(r.clusterDelete!.error!, /may not delete Namespace: it is cluster-scoped/);
    assert.match(r.clusterApply!.error!, /may not apply Namespace: it is cluster-scoped/);
    assert.match(
      r.secretPatch!.error!,
      /may not patch the values of Secret tracktion-dev\/db-credentials: declare/,
    );
    assert.match(r.oddApiVersion!.error!, /malformed kind/);
    assert.equal(r.ownSecretObject!.ok, true, "the object itself (without values) is readable");
    assert.doesNotMatch(r.ownSecretObject!.value!, /"password":"[^"]/);
    assert.equal(r.nodes!.ok, true);
    assert.equal(r.version!.ok, true);
    // Refused calls never reached the API server, and are in the report as refused.
    assert.deepEqual(
      served.map((c) => c.method).filter((m) => m !== "namespaced").sort(),
      ["get", "list", "version"],
    );
    assert.equal(probe.calls.filter((c) => !c.ok).length, 12);
    const namespaces = await k.list!(
      { apiVersion: "v1", kind: "Namespace" } as never,
      null as never,
    );
    const names = (namespaces as { metadata: { name: string } }[]).map((n) => n.metadata.name);
    assert.ok(names.includes("tracktion-staging") && !names.includes("planted-ns"), names.join());
    assert.deepEqual(probe.permissions.kubernetes, {
      namespaces: ["tracktion-dev"],
      clusterReads: ["Namespace", "Node", "NodeMetrics", "ClusterRole", "ClusterRoleBinding"],
      secrets: [],
    });
    assert.equal(
      await k.get!(
        { apiVersion: "v1", kind: "ConfigMap" } as never,
        "tracktion-prod" as never,
        "planted" as never,
      ),
      null,
    );

    const granted = await run("scoped.ts", { secret: "yes" }, { kubernetes: k });
    const g = stageOf(granted, "probe");
    const gr = g.output as Record<string, { ok: boolean; error?: string; value?: string }>;
    assert.equal(gr.ownSecretValue!.ok, true, gr.ownSecretValue!.error ?? "");
    assert.match(
      gr.ownApiKeys!.error!,
      /may not read the values of Secret tracktion-dev\/api-keys/,
    );
    assert.match(gr.prodSecret!.error!, /namespace tracktion-prod/);
    assert.deepEqual(g.permissions.kubernetes?.secrets, ["tracktion-dev/db-credentials"]);
  });
});

Deno.test("a Worker started ahead runs no pipeline code for a stage that never runs", async () => {
  const dir = "/tmp/tracktion-prestart-test";
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir);
  try {
    const out = await run("prestart.ts", {}, {});
    assert.equal(stageOf(out, "tests").status, "failed");
    assert.equal(stageOf(out, "deploy").status, "skipped");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [], "top-level code ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stage cannot move the runner's working directory", async () => {
  const before = Deno.cwd();
  const out = await run("chdir.ts", {}, {});
  assert.equal(Deno.cwd(), before);
  const tried = stageOf(out, "move").output as string[];
  assert.equal(tried.length, 2);
  for (const t of tried) assert.match(t, /stages may not change the working directory/);
});

for (const mode of ["check", "call", "inherited"]) {
  Deno.test(`a stage that posts a forged message (${mode}) fails alone: report written, handlers run`, async () => {
    const notifications = { send: () => Promise.resolve("sent") };
    const out = await run("forged.ts", { mode }, { notifications });
    const forge = stageOf(out, "forge");
    assert.equal(forge.status, "failed");
    assert.match(
      forge.reason!,
      mode === "inherited"
        ? /resource "notifications" has no operation "valueOf"/
        : /malformed message/,
    );
    assert.equal(stageOf(out, "always").status, "succeeded");
    assert.equal(out.report.status, "failed");
  });
}
