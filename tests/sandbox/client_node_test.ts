import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-staging";

function clients(kubeconfigPath: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

async function apiError(
  promise: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      return { code: error.code, body: JSON.parse(String(error.body)) };
    }
    throw error;
  }
  throw new Error("expected the call to fail");
}

Deno.test("client-node CRUD on ConfigMaps, with 404, 409 AlreadyExists and 409 Conflict as real Status objects", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { core } = clients(t.sandbox.kubeconfigPath);
    const created = await core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: "settings", labels: { app: "tracktion" } },
        data: { level: "info" },
      },
    });
    assert.ok(created.metadata?.uid);
    assert.match(created.metadata?.resourceVersion ?? "", /^\d+$/);
    assert.match(created.metadata?.creationTimestamp?.toISOString() ?? "", /^\d{4}-/);
    const dup = await apiError(
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "settings" } } }),
    );
    assert.equal(dup.code, 409);
    assert.equal(dup.body.reason, "AlreadyExists");
    assert.equal(dup.body.kind, "Status");

    const read = await core.readNamespacedConfigMap({ name: "settings", namespace: NS });
    read.data = { level: "debug" };
    const updated = await core.replaceNamespacedConfigMap({
      name: "settings",
      namespace: NS,
      body: read,
    });
    assert.equal(updated.data?.level, "debug");
    assert.notEqual(updated.metadata?.resourceVersion, read.metadata?.resourceVersion);
    // A second writer with the stale resourceVersion loses.
    read.data = { level: "warn" };
    const stale = await apiError(
      core.replaceNamespacedConfigMap({ name: "settings", namespace: NS, body: read }),
    );
    assert.equal(stale.code, 409);
    assert.equal(stale.body.reason, "Conflict");
    assert.match(String(stale.body.message), /the object has been modified/);

    const patched = await core.patchNamespacedConfigMap(
      { name: "settings", namespace: NS, body: { data: { extra: "1" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.data, { level: "debug", extra: "1" });
    const list = await core.listNamespacedConfigMap({
      namespace: NS,
      labelSelector: "app=tracktion",
    });
    assert.deepEqual(list.items.map((c) => c.metadata?.name), ["settings"]);
    const byField = await core.listNamespacedConfigMap({
      namespace: NS,
      fieldSelector: "metadata.name=nothing",
    });
    assert.equal(byField.items.length, 0);

    await core.deleteNamespacedConfigMap({ name: "settings", namespace: NS });
    const gone = await apiError(core.readNamespacedConfigMap({ name: "settings", namespace: NS }));
    assert.equal(gone.code, 404);
    assert.equal(gone.body.reason, "NotFound");
    assert.equal(gone.body.message, 'configmaps "settings" not found');

    const invalid = await apiError(
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "Bad_Name" } } }),
    );
    assert.equal(invalid.code, 422);
    assert.equal(invalid.body.reason, "Invalid");
    const causes = (invalid.body.details as { causes: { field: string }[] }).causes;
    assert.equal(causes[0]?.field, "metadata.name");
    const noNs = await apiError(
      core.createNamespacedConfigMap({ namespace: "nowhere", body: { metadata: { name: "x" } } }),
    );
    assert.equal(noNs.code, 404);
  } finally {
    await t.close();
  }
});

Deno.test("client-node watch receives ADDED, MODIFIED and DELETED in order from a resourceVersion", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { core, kc } = clients(t.sandbox.kubeconfigPath);
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const events: string[] = [];
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const watch = new k8s.Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: k8s.V1ConfigMap) => {
        events.push(`${type}:${obj.metadata?.name}:${obj.data?.v ?? ""}`);
        if (type === "DELETED") resolve();
      },
      () => {},
    );
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: "w" }, data: { v: "1" } },
    });
    await core.patchNamespacedConfigMap(
      { name: "w", namespace: NS, body: { data: { v: "2" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ name: "w", namespace: NS });
    const timer = setTimeout(resolve, 20_000);
    await done;
    clearTimeout(timer);
    controller.abort();
    assert.deepEqual(events, ["ADDED:w:1", "MODIFIED:w:2", "DELETED:w:2"]);
  } finally {
    await t.close();
  }
});

Deno.test("client-node server-side apply merges two managers' fields and reports conflicts", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { core } = clients(t.sandbox.kubeconfigPath);
    const apply = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply);
    const base = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "shared", namespace: NS },
    };
    await core.patchNamespacedConfigMap({
      name: "shared",
      namespace: NS,
      fieldManager: "deployer",
      body: { ...base, data: { a: "1", b: "1" } },
    }, apply);
    await core.patchNamespacedConfigMap({
      name: "shared",
      namespace: NS,
      fieldManager: "tuner",
      body: { ...base, data: { c: "3" } },
    }, apply);
    let cm = await core.readNamespacedConfigMap({ name: "shared", namespace: NS });
    assert.deepEqual(cm.data, { a: "1", b: "1", c: "3" });
    const again = await core.patchNamespacedConfigMap({
      name: "shared",
      namespace: NS,
      fieldManager: "tuner",
      body: { ...base, data: { c: "3" } },
    }, apply);
    assert.equal(
      again.metadata?.resourceVersion,
      cm.metadata?.resourceVersion,
      "a no-op apply changes nothing",
    );
    const managers = (cm.metadata?.managedFields ?? []).map((m) => `${m.manager}:${m.operation}`)
      .sort();
    assert.deepEqual(managers, ["deployer:Apply", "tuner:Apply"]);

    // The deployer stops applying b: it is removed; c (owned by tuner) stays.
    await core.patchNamespacedConfigMap({
      name: "shared",
      namespace: NS,
      fieldManager: "deployer",
      body: { ...base, data: { a: "2" } },
    }, apply);
    cm = await core.readNamespacedConfigMap({ name: "shared", namespace: NS });
    assert.deepEqual(cm.data, { a: "2", c: "3" });

    const conflict = await apiError(
      core.patchNamespacedConfigMap({
        name: "shared",
        namespace: NS,
        fieldManager: "tuner",
        body: { ...base, data: { a: "9" } },
      }, apply),
    );
    assert.equal(conflict.code, 409);
    assert.match(String(conflict.body.message), /conflict with "deployer"/);
    await core.patchNamespacedConfigMap({
      name: "shared",
      namespace: NS,
      fieldManager: "tuner",
      force: true,
      body: { ...base, data: { a: "9", c: "3" } },
    }, apply);
    cm = await core.readNamespacedConfigMap({ name: "shared", namespace: NS });
    assert.equal(cm.data?.a, "9");

    const noManager = await apiError(
      core.patchNamespacedConfigMap({
        name: "shared",
        namespace: NS,
        body: { ...base, data: { a: "1" } },
      }, apply),
    );
    assert.equal(noManager.code, 400);
    assert.match(String(noManager.body.message), /fieldManager/);
  } finally {
    await t.close();
  }
});

Deno.test("client-node Lease: MicroTime is required, a plain Date string is refused with 400", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { objects, coordination } = clients(t.sandbox.kubeconfigPath);
    const lease = await coordination.createNamespacedLease({
      namespace: NS,
      body: {
        metadata: { name: "deploy-lock" },
        spec: {
          holderIdentity: "runner-1",
          leaseDurationSeconds: 60,
          acquireTime: new k8s.V1MicroTime(),
          renewTime: new k8s.V1MicroTime(),
        },
      },
    });
    assert.equal(lease.spec?.holderIdentity, "runner-1");
    const raw = await objects.read({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "deploy-lock", namespace: NS },
    }) as unknown as { spec: { renewTime: string } };
    assert.match(String(raw.spec.renewTime), /\.\d{6}Z$/);
    const bad = await apiError(objects.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "bad-lock", namespace: NS },
      spec: { holderIdentity: "x", renewTime: new Date().toISOString() },
    } as k8s.KubernetesObject));
    assert.equal(bad.code, 400);
    assert.equal(bad.body.reason, "BadRequest");
    assert.match(String(bad.body.message), /cannot parse/);
  } finally {
    await t.close();
  }
});

Deno.test("client-node strategic merge patch on an HTTPRoute is refused with 415", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { objects } = clients(t.sandbox.kubeconfigPath);
    const route = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "web", namespace: NS },
      spec: {
        parentRefs: [{ name: "tracktion-gateway" }],
        rules: [{ backendRefs: [{ name: "web-blue", port: 80, weight: 100 }] }],
      },
    };
    await objects.create(route);
    const refused = await apiError(
      objects.patch(
        route,
        undefined,
        undefined,
        undefined,
        undefined,
        k8s.PatchStrategy.StrategicMergePatch,
      ),
    );
    assert.equal(refused.code, 415);
    const merged = await objects.patch(
      {
        ...route,
        spec: {
          rules: [{
            backendRefs: [{ name: "web-blue", port: 80, weight: 90 }, {
              name: "web-green",
              port: 80,
              weight: 10,
            }],
          }],
        },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      k8s.PatchStrategy.MergePatch,
    ) as unknown as {
      spec: { rules: { backendRefs: { weight: number }[] }[] };
      metadata: { generation: number };
    };
    assert.deepEqual(merged.spec.rules[0]?.backendRefs.map((b) => b.weight), [90, 10]);
    assert.equal(merged.metadata.generation, 2);
    const resolved = await waitFor("route status", async () => {
      const r = await objects.read(route) as unknown as {
        status?: { parents?: { conditions: { type: string; status: string; reason: string }[] }[] };
      };
      return r.status?.parents?.[0]?.conditions.find((c) => c.type === "ResolvedRefs");
    });
    assert.equal(resolved.status, "False");
    assert.equal(resolved.reason, "BackendNotFound", "the backend Services do not exist");
  } finally {
    await t.close();
  }
});

Deno.test("client-node watch with a label selector sees an object leave (DELETED) and re-enter (ADDED)", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const { core, kc } = clients(t.sandbox.kubeconfigPath);
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: "slotted", labels: { slot: "green" } }, data: { v: "1" } },
    });
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "slot=green" });
    const events: string[] = [];
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const controller = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: "slot=green" },
      (type, obj: k8s.V1ConfigMap) => {
        events.push(`${type}:${obj.metadata?.labels?.slot}`);
        if (events.length === 2) resolve();
      },
      () => {},
    );
    const relabel = (slot: string) =>
      core.patchNamespacedConfigMap(
        { name: "slotted", namespace: NS, body: { metadata: { labels: { slot } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    await relabel("blue");
    await relabel("green");
    const timer = setTimeout(resolve, 20_000);
    await done;
    clearTimeout(timer);
    controller.abort();
    assert.deepEqual(events, ["DELETED:blue", "ADDED:green"]);
  } finally {
    await t.close();
  }
});
