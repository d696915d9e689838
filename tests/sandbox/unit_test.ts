import assert from "node:assert/strict";
import { jsonPatch, mergePatch, strategicMergePatch } from "../../lib/sandbox/patch.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../../lib/sandbox/selectors.ts";
import { humanDuration } from "../../lib/sandbox/tables.ts";
import { parseDuration } from "../../lib/sandbox/measurements.ts";
import { resolveIntOrPercent, templateHash } from "../../lib/sandbox/deployments.ts";
import { serverSideApply } from "../../lib/sandbox/apply.ts";
import { ApiError } from "../../lib/sandbox/errors.ts";
import { checkScenario, podBehaviour } from "../../lib/sandbox/scenarios.ts";
import { Store } from "../../lib/sandbox/store.ts";
import { findResource, type ResourceType } from "../../lib/sandbox/resources.ts";

Deno.test("strategicMergePatch() merges containers and env by name and honours $patch: delete", () => {
  const current = {
    spec: {
      containers: [{ name: "a", image: "a:1", env: [{ name: "X", value: "1" }] }, {
        name: "b",
        image: "b:1",
      }],
    },
  };
  const out = strategicMergePatch(current, {
    spec: {
      "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
      containers: [{ name: "a", env: [{ name: "Y", value: "2" }] }, {
        name: "b",
        $patch: "delete",
      }],
    },
  }) as typeof current;
  assert.deepEqual(out.spec.containers, [{
    name: "a",
    image: "a:1",
    env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }],
  }]);
});

Deno.test("mergePatch() replaces lists and deletes keys set to null", () => {
  assert.deepEqual(mergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } }), {
    a: [3],
    b: { d: 2 },
  });
});

Deno.test("jsonPatch() applies add/replace/remove/test and rejects a missing path with 400", () => {
  const out = jsonPatch({ a: { b: [1, 2] } }, [
    { op: "add", path: "/a/b/-", value: 3 },
    { op: "replace", path: "/a/b/0", value: 0 },
    { op: "test", path: "/a/b/2", value: 3 },
    { op: "remove", path: "/a/b/1" },
  ]);
  assert.deepEqual(out, { a: { b: [0, 3] } });
  assert.throws(
    () => jsonPatch({}, [{ op: "remove", path: "/x" }]),
    (e: ApiError) => e.code === 400,
  );
  assert.throws(
    () => jsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }]),
    (e: ApiError) => e.code === 422,
  );
});

Deno.test("parseLabelSelector() understands =, !=, in, notin, exists and !exists", () => {
  const reqs = parseLabelSelector("app=tracktion,slot in (blue,green),tier!=db,canary,!legacy");
  assert.equal(matchesLabels(reqs, { app: "tracktion", slot: "blue", canary: "1" }), true);
  assert.equal(matchesLabels(reqs, { app: "tracktion", slot: "red", canary: "1" }), false);
  assert.equal(
    matchesLabels(reqs, { app: "tracktion", slot: "blue", canary: "1", legacy: "y" }),
    false,
  );
  assert.throws(() => parseLabelSelector("a=b,,=c"), ApiError);
  const fields = parseFieldSelector("status.phase!=Failed,metadata.name=x");
  assert.equal(
    matchesFields(fields, { metadata: { name: "x" }, status: { phase: "Running" } }),
    true,
  );
});

Deno.test("humanDuration() and parseDuration() read like kubectl and Prometheus", () => {
  assert.equal(humanDuration(45_000), "45s");
  assert.equal(humanDuration(5 * 60_000 + 12_000), "5m12s");
  assert.equal(humanDuration(3 * 3_600_000), "3h");
  assert.equal(humanDuration(50 * 3_600_000), "2d2h");
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.throws(() => parseDuration("soon"), RangeError);
});

Deno.test("resolveIntOrPercent() rounds surge up and unavailability down; templateHash() is stable", () => {
  assert.equal(resolveIntOrPercent("25%", 5, true), 2);
  assert.equal(resolveIntOrPercent("25%", 5, false), 1);
  assert.equal(resolveIntOrPercent(3, 5, false), 3);
  assert.equal(templateHash({ a: 1 }), templateHash({ a: 1 }));
  assert.notEqual(templateHash({ a: 1 }), templateHash({ a: 2 }));
  assert.match(templateHash({}), /^[a-z0-9]{10}$/);
});

Deno.test("serverSideApply() removes fields a manager stops applying and keeps other managers' fields", () => {
  const time = "2026-01-01T00:00:00Z";
  const opts = { force: false, apiVersion: "v1", plural: "configmaps", group: "", time };
  const first = serverSideApply(undefined, { metadata: { name: "c" }, data: { a: "1", b: "2" } }, {
    ...opts,
    manager: "m1",
  });
  const second = serverSideApply(first, { metadata: { name: "c" }, data: { z: "9" } }, {
    ...opts,
    manager: "m2",
  });
  const third = serverSideApply(second, { metadata: { name: "c" }, data: { a: "1" } }, {
    ...opts,
    manager: "m1",
  });
  assert.deepEqual(third.data, { a: "1", z: "9" });
  const entries = (third.metadata as { managedFields: { time: string }[] }).managedFields;
  assert.ok(entries.length > 0 && entries.every((e) => e.time === time), "stamped as told");
  assert.throws(
    () =>
      serverSideApply(third, { metadata: { name: "c" }, data: { a: "2" } }, {
        ...opts,
        manager: "m2",
      }),
    (e: ApiError) => e.code === 409 && /conflict with "m1"/.test(e.message),
  );
});

Deno.test("checkScenario() accepts known names and podBehaviour() faults only the version being deployed", () => {
  assert.equal(checkScenario(undefined), undefined);
  assert.throws(() => checkScenario("nope"), RangeError);
  assert.equal(podBehaviour("canary-errors", true).errorRate, 0.03);
  assert.ok(podBehaviour("canary-errors", false).errorRate < 0.01);
  assert.equal(podBehaviour("crashloop", true).crashes, true);
  assert.equal(podBehaviour("crashloop", false).crashes, false);
  const slow = podBehaviour("slow", true);
  assert.ok(Math.abs(slow.medianMs * Math.exp(1.645 * slow.sigma) - 2500) < 1);
  assert.equal(podBehaviour("metrics-down", false).metricsDown, true);
});

Deno.test("Store.changesSince() answers 410 Expired when the history no longer reaches back", () => {
  const store = new Store();
  const configmaps = findResource("", "v1", "configmaps") as ResourceType;
  const start = store.resourceVersion;
  for (let i = 0; i < 10_050; i++) {
    store.put(configmaps, { metadata: { name: `c${i % 10}`, namespace: "default" } });
  }
  assert.throws(
    () => store.changesSince(start),
    (e: ApiError) => e.code === 410 && e.reason === "Expired",
  );
  assert.equal(store.changesSince(store.resourceVersion - 5).length, 5);
});

Deno.test("Store.snapshotJson() is JSON.stringify(snapshot()) after every kind of change", () => {
  const store = new Store();
  const configmaps = findResource("", "v1", "configmaps") as ResourceType;
  const secrets = findResource("", "v1", "secrets") as ResourceType;
  const same = () => assert.equal(store.snapshotJson(), JSON.stringify(store.snapshot()));
  same();
  store.put(configmaps, { metadata: { name: "a", namespace: "ns" }, data: { k: "1" } });
  store.put(secrets, { metadata: { name: "s", namespace: "ns" }, data: { p: "eA==" } });
  same();
  // A replaced object's text is written anew: its data and its resourceVersion.
  store.put(configmaps, { metadata: { name: "a", namespace: "ns" }, data: { k: "2" } });
  same();
  assert.match(store.snapshotJson(), /"k":"2"/);
  assert.doesNotMatch(store.snapshotJson(), /"k":"1"/);
  store.remove(secrets, "ns", "s");
  same();
  assert.doesNotMatch(store.snapshotJson(), /"eA=="/);
  const copy = new Store();
  copy.restore(
    JSON.parse(store.snapshotJson()),
    (t) => t === "/v1/configmaps" ? configmaps : undefined,
  );
  assert.equal(copy.snapshotJson(), store.snapshotJson());
});
