/**
 * API semantics a conformant client relies on: query booleans as the API server converts
 * them, `status` on create, the defaults `kubectl describe` reads, aggregated discovery.
 */
import assert from "node:assert/strict";
import { applyDefaults, initialStatus, podQosClass } from "../../lib/sandbox/defaults.ts";
import { findResource, type KObject, type ResourceType } from "../../lib/sandbox/resources.ts";
import { aggregatedVersion } from "../../lib/sandbox/discovery.ts";
import { Store } from "../../lib/sandbox/store.ts";
import { watchResponse } from "../../lib/sandbox/watch.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";
type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;

Deno.test("query booleans: True, T, 1, true (and any value but 0/false) watch; False, 0 list", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const url = `${t.sandbox.url}/api/v1/namespaces/${NS}/configmaps`;
    for (const value of ["True", "T", "t", "1", "true", "TRUE", "yes"]) {
      const res = await fetch(`${url}?watch=${value}`);
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const first = JSON.parse(((await reader.read()).value ?? "").split("\n")[0] ?? "");
      assert.equal(first.type, "ADDED", `watch=${value} is a watch`);
      await reader.cancel();
    }
    for (const value of ["False", "false", "FALSE", "0"]) {
      const body = await (await fetch(`${url}?watch=${value}`)).json();
      assert.equal(body.kind, "ConfigMapList", `watch=${value} is a list`);
    }
    const bad = await fetch(`${url}?watch=1&timeoutSeconds=soon`);
    assert.equal(bad.status, 400);
    const status = await bad.json();
    assert.equal(status.kind, "Status");
    assert.equal(status.reason, "BadRequest");
    assert.match(status.message, /timeoutSeconds.*"soon"/);
    // pretty is read with strconv.ParseBool: T indents, an unparsable value does not.
    const pretty = await (await fetch(`${url}/nope?pretty=T`)).text();
    assert.match(pretty, /^\{\n {2}"kind": "Status",/);
    const compact = await (await fetch(`${url}/nope?pretty=yes`)).text();
    assert.match(compact, /^\{"kind":"Status",/);
  } finally {
    await t.close();
  }
});

Deno.test("create answers the kind's empty status: {} for Deployments and Jobs, a Pending Pod, none for a ConfigMap", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const template = {
      metadata: { labels: { app: "s" } },
      spec: { containers: [{ name: "app", image: "registry.local/s:1.0.0" }] },
    };
    const post = async (path: string, body: JsonMap) => {
      const res = await fetch(`${t.sandbox.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 201, path);
      return await res.json();
    };
    const apps = `/apis/apps/v1/namespaces/${NS}`;
    const selector = { matchLabels: { app: "s" } };
    const d = await post(`${apps}/deployments`, {
      metadata: { name: "s" },
      spec: { selector, template },
    });
    assert.deepEqual(d.status, {});
    const rs = await post(`${apps}/replicasets`, {
      metadata: { name: "s-rs" },
      spec: { selector, template },
    });
    assert.deepEqual(rs.status, { replicas: 0 });
    const job = await post(`/apis/batch/v1/namespaces/${NS}/jobs`, {
      metadata: { name: "s-job" },
      spec: { template: { spec: { ...template.spec, restartPolicy: "Never" } } },
    });
    assert.deepEqual(job.status, {});
    const svc = await post(`/api/v1/namespaces/${NS}/services`, {
      metadata: { name: "s" },
      spec: { selector: { app: "s" }, ports: [{ port: 80 }] },
    });
    assert.deepEqual(svc.status, { loadBalancer: {} });
    const limits = { cpu: "500m", memory: "256Mi" };
    const p = await post(`/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: "s-pod" },
      spec: {
        containers: [{ name: "app", image: "registry.local/s:1.0.0", resources: { limits } }],
      },
    });
    assert.deepEqual(p.status, { phase: "Pending", qosClass: "Guaranteed" });
    assert.deepEqual(p.spec.containers[0].resources, { limits, requests: limits });
    const cm = await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "s" } });
    assert.equal("status" in cm, false);
    // A status sent with the create is not kept: it is the controllers' to write.
    const d2 = await post(`${apps}/deployments`, {
      metadata: { name: "s2" },
      spec: { selector, template },
      status: { readyReplicas: 5 },
    });
    assert.deepEqual(d2.status, {});
  } finally {
    await t.close();
  }
});

Deno.test("kubectl describe pod prints probes, service account and tolerations with the server's defaults", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(`apiVersion: v1
kind: Pod
metadata: {name: probed, namespace: ${NS}}
spec:
  containers:
  - name: app
    image: registry.local/probed:1.0.0
    ports: [{containerPort: 8000}]
    readinessProbe: {httpGet: {path: /health, port: 8000}}
    livenessProbe: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 5, periodSeconds: 20}
    startupProbe: {tcpSocket: {port: 8000}, failureThreshold: 30}
`);
    await t.kubectlOk("apply", "-f", file);
    await Deno.remove(file);
    const out = await t.kubectlOk("describe", "pod", "probed", "-n", NS);
    assert.match(
      out,
      /^ {4}Readiness: +http-get http:\/\/:8000\/health delay=0s timeout=1s period=10s #success=1 #failure=3$/m,
    );
    assert.match(
      out,
      /^ {4}Liveness: +http-get http:\/\/:8000\/health delay=5s timeout=1s period=20s #success=1 #failure=3$/m,
    );
    assert.match(
      out,
      /^ {4}Startup: +tcp-socket :8000 delay=0s timeout=1s period=10s #success=1 #failure=30$/m,
    );
    assert.match(out, /^Service Account: +default$/m);
    assert.match(out, /^Priority: +0$/m);
    assert.match(
      out,
      /^Tolerations: +node\.kubernetes\.io\/not-ready:NoExecute op=Exists for 300s$/m,
    );
    assert.match(out, /^ +node\.kubernetes\.io\/unreachable:NoExecute op=Exists for 300s$/m);
    assert.doesNotMatch(out, /#success=0|http-get \/\//);
  } finally {
    await t.close();
  }
});

Deno.test("defaults: pull policy by tag, requests from limits, QoS class, volume modes, hook and env defaults", () => {
  const pod: KObject = {
    metadata: { name: "d" },
    spec: {
      containers: [
        {
          name: "a",
          image: "registry.local:5000/api",
          env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          lifecycle: { preStop: { httpGet: { port: 80 } } },
          resources: { limits: { cpu: "1" }, requests: { memory: "1Gi" } },
        },
        { name: "b", image: "registry.local/api@sha256:" + "0".repeat(64) },
        { name: "c", image: "registry.local/api:latest" },
      ],
      volumes: [
        { name: "s", secret: { secretName: "x" } },
        { name: "m", configMap: { name: "y" } },
        { name: "e" },
      ],
    },
  };
  applyDefaults(PODS, pod);
  const spec = pod.spec as { containers: JsonMap[]; volumes: JsonMap[] };
  assert.deepEqual(spec.containers.map((c) => c.imagePullPolicy), [
    "Always",
    "IfNotPresent",
    "Always",
  ]);
  const a = spec.containers[0] as JsonMap & { resources: JsonMap; env: JsonMap[] };
  assert.deepEqual(a.resources.requests, { memory: "1Gi", cpu: "1" });
  assert.deepEqual(a.lifecycle, { preStop: { httpGet: { port: 80, path: "/", scheme: "HTTP" } } });
  assert.deepEqual(a.env[0]?.valueFrom, {
    fieldRef: { fieldPath: "metadata.name", apiVersion: "v1" },
  });
  assert.deepEqual(spec.volumes, [
    { name: "s", secret: { secretName: "x", defaultMode: 420 } },
    { name: "m", configMap: { name: "y", defaultMode: 420 } },
    { name: "e", emptyDir: {} },
  ]);
  assert.equal(podQosClass(pod), "Burstable");
  assert.deepEqual(initialStatus(PODS, pod), { phase: "Pending", qosClass: "Burstable" });
  const routes = findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType;
  assert.equal(initialStatus(routes, {}), undefined, "a custom resource starts with no status");
});

const KUBECTL_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

Deno.test("aggregated discovery: /api and /apis answer APIGroupDiscoveryList, kubectl 1.32 needs no per-group request", async () => {
  assert.equal(aggregatedVersion("application/json, */*"), undefined);
  assert.equal(
    aggregatedVersion("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
    "v2beta1",
  );
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const get = (path: string, accept: string) =>
      fetch(`${t.sandbox.url}${path}`, { headers: { accept } });
    const core = await get("/api", KUBECTL_ACCEPT);
    assert.equal(
      core.headers.get("content-type"),
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    const coreDoc = await core.json();
    assert.equal(coreDoc.apiVersion, "apidiscovery.k8s.io/v2");
    assert.equal(coreDoc.items.length, 1);
    assert.equal(coreDoc.items[0].metadata.name, "");
    const v1 = coreDoc.items[0].versions[0];
    assert.equal(v1.version, "v1");
    assert.equal(v1.freshness, "Current");
    const pods = v1.resources.find((r: JsonMap) => r.resource === "pods");
    assert.deepEqual(pods.responseKind, { group: "", version: "v1", kind: "Pod" });
    assert.equal(pods.scope, "Namespaced");
    assert.equal(pods.singularResource, "pod");
    assert.deepEqual(pods.shortNames, ["po"]);
    assert.deepEqual(pods.subresources.map((s: JsonMap) => s.subresource), ["status", "log"]);
    const apis = await (await get("/apis", KUBECTL_ACCEPT)).json();
    const apps = apis.items.find((g: JsonMap) => (g.metadata as JsonMap).name === "apps");
    const deployments = apps.versions[0].resources.find((r: JsonMap) =>
      r.resource === "deployments"
    );
    assert.deepEqual(deployments.subresources.find((s: JsonMap) => s.subresource === "scale"), {
      subresource: "scale",
      responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
      verbs: ["get", "patch", "update"],
    });
    const nodes = apis.items.find((g: JsonMap) => (g.metadata as JsonMap).name === "metrics.k8s.io")
      .versions[0].resources.find((r: JsonMap) => r.resource === "nodes");
    assert.equal(nodes.scope, "Cluster");
    assert.deepEqual(nodes.verbs, ["get", "list"]);
    const beta = await get(
      "/apis",
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
    );
    assert.match(beta.headers.get("content-type") ?? "", /v=v2beta1/);
    assert.equal((await beta.json()).apiVersion, "apidiscovery.k8s.io/v2beta1");
    const legacy = await (await get("/api", "application/json")).json();
    assert.equal(legacy.kind, "APIVersions");
    assert.equal((await (await get("/apis", "*/*")).json()).kind, "APIGroupList");
    // kubectl with an empty cache: /api and /apis, then the list; no /api/v1 or /apis/<g>/<v>.
    const run = await t.kubectl("-v=6", "get", "pods", "-n", NS);
    assert.equal(run.code, 0, run.stderr);
    const requests = [...run.stderr.matchAll(/"GET" url="([^"]+)"|GET (http\S+)/g)]
      .map((m) => new URL(m[1] ?? m[2] ?? "").pathname);
    assert.deepEqual(requests, ["/api", "/apis", `/api/v1/namespaces/${NS}/pods`]);
  } finally {
    await t.close();
  }
});

Deno.test("watchResponse() from a compacted resourceVersion answers 200 with one ERROR event (410 Expired)", async () => {
  const store = new Store();
  const configmaps = findResource("", "v1", "configmaps") as ResourceType;
  const start = store.resourceVersion;
  for (let i = 0; i < 10_050; i++) {
    store.put(configmaps, { metadata: { name: `c${i % 10}`, namespace: "default" } });
  }
  const clock = virtualClock({ startMs: 0 });
  try {
    const res = watchResponse(store, {
      clock,
      type: configmaps,
      namespace: "default",
      params: new URLSearchParams(`watch=true&resourceVersion=${start}`),
      open: new Set(),
    });
    assert.equal(res.status, 200);
    const lines = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].type, "ERROR");
    assert.equal(lines[0].object.kind, "Status");
    assert.equal(lines[0].object.code, 410);
    assert.equal(lines[0].object.reason, "Expired");
    assert.match(lines[0].object.message, /^too old resource version: \d+ \(\d+\)$/);
    assert.throws(
      () =>
        watchResponse(store, {
          clock,
          type: configmaps,
          namespace: "default",
          params: new URLSearchParams("watch=true&resourceVersion=abc"),
          open: new Set(),
        }),
      /invalid resource version "abc"/,
    );
  } finally {
    clock.dispose();
  }
});
