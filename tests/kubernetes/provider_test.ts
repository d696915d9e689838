import assert from "node:assert/strict";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import type { KubeObject } from "../../lib/kubernetes/capability.ts";
import { testDeployment, withCluster } from "./_helpers.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const SECRET = { apiVersion: "v1", kind: "Secret" };
const NS = "tracktion-dev";

function spec(o: KubeObject): Record<string, unknown> {
  return o.spec as Record<string, unknown>;
}

Deno.test("createKubernetesCapability() drives the sandbox with the real client", async (t) => {
  await withCluster(async ({ k, capability, secrets }) => {
    await t.step("version() reads /version", async () => {
      const v = await k.version();
      assert.match(v.gitVersion, /^v1\.\d+/);
      assert.equal(v.major, "1");
    });

    await t.step("get() returns plain JSON, and null for a missing object", async () => {
      const ns = await k.get({ apiVersion: "v1", kind: "Namespace" }, null, NS);
      assert.equal(ns?.metadata.name, NS);
      assert.equal(typeof ns?.metadata.creationTimestamp, "string");
      assert.equal(await k.get({ apiVersion: "v1", kind: "Namespace" }, null, "missing"), null);
      assert.equal(await k.get(DEPLOYMENT, NS, "missing"), null);
      // structured-cloneable (what the Worker proxy needs)
      assert.deepEqual(structuredClone(ns), ns);
    });

    await t.step("apply() server-side applies, and applying twice changes nothing", async () => {
      const first = await k.apply(testDeployment(NS, "ssa"));
      assert.equal(first.metadata.generation, 1);
      const fields = first.metadata.managedFields as { manager: string; operation: string }[];
      assert.ok(fields.some((f) => f.manager === "tracktion-deploy" && f.operation === "Apply"));
      const second = await k.apply(testDeployment(NS, "ssa"));
      // the controller writes status in between, so compare the generation (spec changes)
      assert.equal(second.metadata.generation, 1);
      assert.deepEqual(spec(second), spec(first));
      // an object no controller touches keeps its resourceVersion
      const cm = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "ssa-twice", namespace: NS },
        data: { a: "1" },
      };
      const cm1 = await k.apply(cm);
      const cm2 = await k.apply(cm);
      assert.equal(cm2.metadata.resourceVersion, cm1.metadata.resourceVersion);
      const changed = await k.apply(testDeployment(NS, "ssa", { replicas: 3 }));
      assert.equal(changed.metadata.generation, 2);
      assert.equal(spec(changed).replicas, 3);
    });

    await t.step("apply() forces conflicts with another field manager", async () => {
      await k.patch(DEPLOYMENT, NS, "ssa", { spec: { replicas: 5 } }, "merge");
      const applied = await k.apply(testDeployment(NS, "ssa", { replicas: 3 }));
      assert.equal(spec(applied).replicas, 3);
    });

    await t.step("patch() sends merge, strategic and JSON patches with their types", async () => {
      const merged = await k.patch(DEPLOYMENT, NS, "ssa", {
        metadata: { annotations: { "example.com/a": "1" } },
      }, "merge");
      assert.equal(merged.metadata.annotations?.["example.com/a"], "1");
      // strategic: containers merge by name (a merge patch would replace the list)
      const strategic = await k.patch(DEPLOYMENT, NS, "ssa", {
        spec: { template: { spec: { containers: [{ name: "sidecar", image: "r/side:1" }] } } },
      }, "strategic");
      const names = (spec(strategic).template as { spec: { containers: { name: string }[] } })
        .spec.containers.map((c) => c.name).sort();
      assert.deepEqual(names, ["sidecar", "web"]);
      const json = await k.patch(DEPLOYMENT, NS, "ssa", [
        { op: "test", path: "/spec/replicas", value: 3 },
        { op: "replace", path: "/spec/replicas", value: 4 },
      ], "json");
      assert.equal(spec(json).replicas, 4);
      await assert.rejects(
        k.patch(DEPLOYMENT, NS, "ssa", [{ op: "test", path: "/spec/replicas", value: 99 }], "json"),
        /Cannot patch Deployment tracktion-dev\/ssa: 422/,
      );
    });

    await t.step("errors name the object and the HTTP status and reason", async () => {
      const bad = testDeployment(NS, "bad") as unknown as KubeObject;
      (bad.spec as Record<string, unknown>).replicas = "three";
      await assert.rejects(k.apply(bad), (error: Error) => {
        assert.match(error.message, /^Cannot apply Deployment tracktion-dev\/bad: 400 BadRequest/);
        return true;
      });
      await assert.rejects(
        k.patch(DEPLOYMENT, NS, "missing", { spec: {} }, "merge"),
        /Cannot patch Deployment tracktion-dev\/missing: 404 NotFound/,
      );
      await assert.rejects(
        k.apply(testDeployment("no-such-namespace", "x")),
        /Cannot apply Deployment no-such-namespace\/x: 404 NotFound/,
      );
      await assert.rejects(
        k.patch(DEPLOYMENT, NS, "ssa", {}, "bogus" as "merge"),
        TypeError,
      );
      await assert.rejects(
        k.apply({
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "w", namespace: NS },
        }),
        /Cannot apply Widget tracktion-dev\/w: the server does not serve kind Widget in example\.com\/v1/,
      );
      await assert.rejects(
        k.get({ apiVersion: "v1", kind: "Widget" }, NS, "w"),
        /Cannot get Widget tracktion-dev\/w: the server does not serve kind Widget in v1/,
      );
      await assert.rejects(
        k.apply({ apiVersion: "v1", kind: "ConfigMap" } as unknown as KubeObject),
        /Cannot apply a manifest without apiVersion, kind and metadata.name/,
      );
    });

    await t.step("list() filters by label and field selectors", async () => {
      await k.apply(testDeployment(NS, "other", { labels: { app: "other", tier: "x" } }));
      const all = await k.list(DEPLOYMENT, NS);
      assert.ok(all.length >= 2);
      const some = await k.list(DEPLOYMENT, NS, { labelSelector: "tier=x" });
      assert.deepEqual(some.map((d) => d.metadata.name), ["other"]);
      assert.equal(some[0]?.kind, "Deployment");
      const byName = await k.list(DEPLOYMENT, NS, { fieldSelector: "metadata.name=ssa" });
      assert.deepEqual(byName.map((d) => d.metadata.name), ["ssa"]);
      const everywhere = await k.list({ apiVersion: "v1", kind: "Secret" }, null, {
        labelSelector: "app=tracktion",
      });
      assert.ok(new Set(everywhere.map((s) => s.metadata.namespace)).size >= 3);
    });

    await t.step("delete() deletes, and answers false for a missing object", async () => {
      assert.equal(await k.delete(DEPLOYMENT, NS, "other"), true);
      assert.equal(await k.delete(DEPLOYMENT, NS, "other"), false);
      assert.equal(await k.get(DEPLOYMENT, NS, "other"), null);
    });

    await t.step(
      "dryRun sends dryRun=All: applies, patches and deletes change nothing",
      async () => {
        const dry = capability({ dryRun: true });
        const before = await k.get(DEPLOYMENT, NS, "ssa");
        const applied = await dry.apply(testDeployment(NS, "dry-new"));
        assert.equal(applied.metadata.name, "dry-new");
        assert.equal(await k.get(DEPLOYMENT, NS, "dry-new"), null);
        await dry.patch(DEPLOYMENT, NS, "ssa", { spec: { replicas: 9 } }, "merge");
        assert.equal(await dry.delete(DEPLOYMENT, NS, "ssa"), true);
        const after = await k.get(DEPLOYMENT, NS, "ssa");
        assert.equal(after?.metadata.generation, before?.metadata.generation);
        assert.equal(spec(after!).replicas, 4);
        const cm = await k.get({ apiVersion: "v1", kind: "ConfigMap" }, NS, "ssa-twice");
        await dry.patch({ apiVersion: "v1", kind: "ConfigMap" }, NS, "ssa-twice", {
          data: { a: "2" },
        }, "merge");
        await dry.apply({
          ...cm!,
          data: { a: "3" },
          metadata: { name: "ssa-twice", namespace: NS },
        });
        const cmAfter = await k.get({ apiVersion: "v1", kind: "ConfigMap" }, NS, "ssa-twice");
        assert.equal(cmAfter?.metadata.resourceVersion, cm?.metadata.resourceVersion);
        assert.deepEqual(cmAfter?.data, { a: "1" });
        // apply({ dryRun }) on a live capability too
        await k.apply(testDeployment(NS, "dry-new"), { dryRun: true });
        assert.equal(await k.get(DEPLOYMENT, NS, "dry-new"), null);
      },
    );

    await t.step("readSecret() hands the value to onSecret before returning it", async () => {
      const order: string[] = [];
      const hooked = capability({ onSecret: (v) => order.push(`hook:${v}`) });
      const value = await hooked.readSecret("tracktion-dev", "db-credentials", "username");
      order.push(`returned:${value}`);
      assert.deepEqual(order, ["hook:tracktion", "returned:tracktion"]);
      const password = await k.readSecret("tracktion-dev", "db-credentials", "password");
      assert.ok(password && password.length >= 16);
      assert.ok(secrets.includes(password));
      assert.equal(await k.readSecret("tracktion-dev", "db-credentials", "nope"), null);
      assert.equal(await k.readSecret("tracktion-dev", "nope", "password"), null);
    });

    await t.step("get() and list() of Secrets show key names, never values", async () => {
      const secret = await k.get(SECRET, "tracktion-dev", "db-credentials");
      const data = secret?.data as Record<string, string>;
      assert.ok("password" in data);
      assert.ok(Object.values(data).every((v) => v === ""));
      const listed = await k.list(SECRET, "tracktion-dev");
      for (const s of listed) {
        assert.ok(Object.values((s.data ?? {}) as object).every((v) => v === ""));
      }
    });

    await t.step("event() records an Event on the object", async () => {
      const object = await k.get(DEPLOYMENT, NS, "ssa");
      await k.event(object!, { reason: "Deployed", message: "ssa 1.0.0 live", type: "Normal" });
      const events = await k.list({ apiVersion: "v1", kind: "Event" }, NS, {
        fieldSelector: "involvedObject.name=ssa",
      });
      const ours = events.find((e) => e.reason === "Deployed");
      assert.equal(ours?.message, "ssa 1.0.0 live");
      assert.equal((ours?.involvedObject as { kind: string }).kind, "Deployment");
    });
  });
});

Deno.test("createKubernetesCapability() rejects a missing kubeconfig and an unknown context", async () => {
  assert.throws(
    () => createKubernetesCapability({ kubeconfigPath: "/nonexistent/kubeconfig" }),
    /Cannot load kubeconfig "\/nonexistent\/kubeconfig"/,
  );
  await withCluster(async ({ sandbox }) => {
    assert.throws(
      () => createKubernetesCapability({ kubeconfigPath: sandbox.kubeconfigPath, context: "prod" }),
      /Cannot use context "prod" .*known contexts are tracktion-sandbox/,
    );
    const k = createKubernetesCapability({
      kubeconfigPath: sandbox.kubeconfigPath,
      context: "tracktion-sandbox",
    });
    assert.ok((await k.version()).gitVersion);
  });
});

Deno.test("createKubernetesCapability() reports an unreachable API server with the object", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{ name: c, cluster: { server: 'http://127.0.0.1:" + port + "' } }]",
        "users: [{ name: u, user: { token: t } }]",
        "contexts: [{ name: x, context: { cluster: c, user: u } }]",
        "current-context: x",
      ].join("\n"),
    );
    const k = createKubernetesCapability({ kubeconfigPath: path });
    await assert.rejects(k.version(), /Cannot read the server version: /);
    await assert.rejects(
      k.get({ apiVersion: "v1", kind: "Namespace" }, null, "x"),
      /Cannot get Namespace x: /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
