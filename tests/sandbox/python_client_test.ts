/**
 * The sandbox driven by Kubernetes' official Python client (Debian's `python3-kubernetes`,
 * 22.6), through the kubeconfig the sandbox writes: a client nobody here wrote, with its own
 * spelling of things (`watch=True`, models that read `status` fields directly).
 */
import assert from "node:assert/strict";
import { waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

/** A python3 that imports the official client (Debian's, where apt installs it, first). */
async function findPython(): Promise<string | undefined> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const out = await new Deno.Command(python, {
        args: ["-c", "import kubernetes, sys; sys.stdout.write(kubernetes.__version__)"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success) return python;
    } catch {
      // not installed at this path
    }
  }
  return undefined;
}

const PYTHON = await findPython();
const ignore = PYTHON === undefined;
if (ignore) {
  console.warn(
    "python_client_test: skipped, no python3 imports the official Kubernetes client " +
      "(install Debian's package: apt-get install -y python3-kubernetes)",
  );
}

const PRELUDE = `
import json, sys
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
NS = "${NS}"
out = {}
def fail_status(call):
    try:
        call()
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        return {"status": e.status, "reason": body.get("reason"), "message": body.get("message")}
    return None
`;

/** Runs a Python program against the sandbox; it prints one JSON object (its `out`). */
async function python(kubeconfig: string, program: string): Promise<Record<string, unknown>> {
  const file = await Deno.makeTempFile({ suffix: ".py" });
  try {
    await Deno.writeTextFile(file, PRELUDE + program + "\nprint(json.dumps(out))\n");
    const result = await new Deno.Command(PYTHON ?? "python3", {
      args: [file, kubeconfig],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(result.stdout);
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, `python failed:\n${stderr}`);
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
  } finally {
    await Deno.remove(file);
  }
}

const DEPLOYMENT = `
def deployment(name, replicas=1, labels=None):
    labels = labels or {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": name}),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="app", image="registry.local/" + name + ":1.0.0",
                    ports=[client.V1ContainerPort(container_port=8000)])]))))
`;

Deno.test({
  name: "python client: a created Deployment has an empty status (ready_replicas is None)",
  ignore,
  async fn() {
    const t = await withSandbox({ trafficRate: 0 });
    try {
      const out = await python(
        t.sandbox.kubeconfigPath,
        DEPLOYMENT + `
d = apps.create_namespaced_deployment(NS, deployment("py-web"))
out["ready"] = d.status.ready_replicas
out["replicas"] = d.status.replicas
out["generation"] = d.metadata.generation
out["probe_free_pull_policy"] = d.spec.template.spec.containers[0].image_pull_policy
svc = core.create_namespaced_service(NS, client.V1Service(
    metadata=client.V1ObjectMeta(name="py-web"),
    spec=client.V1ServiceSpec(selector={"app": "py-web"},
                              ports=[client.V1ServicePort(port=80, target_port=8000)])))
out["lb_ingress"] = svc.status.load_balancer.ingress
`,
      );
      assert.deepEqual(out, {
        ready: null,
        replicas: null,
        generation: 1,
        probe_free_pull_policy: "IfNotPresent",
        lb_ingress: null,
      });
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "python client: list with label and field selectors; a stale update is a 409 Conflict",
  ignore,
  async fn() {
    const t = await withSandbox({ trafficRate: 0 });
    try {
      const out = await python(
        t.sandbox.kubeconfigPath,
        `
for name, tier in [("py-a", "web"), ("py-b", "web"), ("py-c", "db")]:
    core.create_namespaced_config_map(NS, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"suite": "py", "tier": tier}),
        data={"k": name}))
names = lambda items: sorted(i.metadata.name for i in items)
out["web"] = names(core.list_namespaced_config_map(NS, label_selector="suite=py,tier=web").items)
out["not_db"] = names(core.list_namespaced_config_map(NS, label_selector="suite=py,tier!=db").items)
out["in"] = names(core.list_namespaced_config_map(NS, label_selector="tier in (db)").items)
out["field"] = names(core.list_namespaced_config_map(
    NS, label_selector="suite=py", field_selector="metadata.name!=py-a").items)
out["bad_selector"] = fail_status(
    lambda: core.list_namespaced_config_map(NS, label_selector="tier in web"))
first = core.read_namespaced_config_map("py-a", NS)
first.data = {"k": "one"}
core.replace_namespaced_config_map("py-a", NS, first)
first.data = {"k": "two"}
out["stale"] = fail_status(lambda: core.replace_namespaced_config_map("py-a", NS, first))
out["kept"] = core.read_namespaced_config_map("py-a", NS).data
out["missing"] = fail_status(lambda: core.read_namespaced_config_map("py-none", NS))
`,
      );
      assert.deepEqual(out.web, ["py-a", "py-b"]);
      assert.deepEqual(out.not_db, ["py-a", "py-b"]);
      assert.deepEqual(out.in, ["py-c"]);
      assert.deepEqual(out.field, ["py-b", "py-c"]);
      assert.equal((out.bad_selector as { status: number }).status, 400);
      const stale = out.stale as { status: number; reason: string; message: string };
      assert.equal(stale.status, 409);
      assert.equal(stale.reason, "Conflict");
      assert.match(stale.message, /the object has been modified/);
      assert.deepEqual(out.kept, { k: "one" }, "the stale update changed nothing");
      assert.deepEqual(out.missing, {
        status: 404,
        reason: "NotFound",
        message: 'configmaps "py-none" not found',
      });
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name:
    "python client: watch.Watch().stream sees ADDED and MODIFIED, from now and from a resourceVersion",
  ignore,
  async fn() {
    const t = await withSandbox({ trafficRate: 0 });
    try {
      const out = await python(
        t.sandbox.kubeconfigPath,
        `
core.create_namespaced_config_map(NS, client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name="py-w", labels={"suite": "watch"}), data={"n": "0"}))
# From now: the object as it is (ADDED), then the change made while watching (MODIFIED).
seen = []
w = watch.Watch()
for e in w.stream(core.list_namespaced_config_map, NS, label_selector="suite=watch",
                  timeout_seconds=30):
    seen.append([e["type"], e["object"].metadata.name, e["object"].data["n"]])
    if e["type"] == "ADDED":
        core.patch_namespaced_config_map("py-w", NS, {"data": {"n": "1"}})
    if e["type"] == "MODIFIED":
        w.stop()
out["from_now"] = seen
# From a resourceVersion: the history after it, in order.
rv = core.list_namespaced_config_map(NS, label_selector="suite=watch").metadata.resource_version
core.patch_namespaced_config_map("py-w", NS, {"data": {"n": "2"}})
core.create_namespaced_config_map(NS, client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name="py-w2", labels={"suite": "watch"}), data={"n": "9"}))
seen = []
w = watch.Watch()
for e in w.stream(core.list_namespaced_config_map, NS, label_selector="suite=watch",
                  resource_version=rv, timeout_seconds=30):
    seen.append([e["type"], e["object"].metadata.name, e["object"].data["n"]])
    if len(seen) == 2:
        w.stop()
out["from_rv"] = seen
`,
      );
      assert.deepEqual(out.from_now, [["ADDED", "py-w", "0"], ["MODIFIED", "py-w", "1"]]);
      assert.deepEqual(out.from_rv, [["MODIFIED", "py-w", "2"], ["ADDED", "py-w2", "9"]]);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "python client: strategic merge, merge and JSON patches; delete with propagation",
  ignore,
  async fn() {
    const t = await withSandbox({ trafficRate: 0 });
    try {
      const out = await python(
        t.sandbox.kubeconfigPath,
        DEPLOYMENT + `
apps.create_namespaced_deployment(NS, deployment("py-patch"))
env = lambda d: [(e.name, e.value) for e in (d.spec.template.spec.containers[0].env or [])]
# A dict is sent as a strategic merge patch: containers merge by name.
d = apps.patch_namespaced_deployment("py-patch", NS, {"spec": {"template": {"spec": {
    "containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}}}})
out["strategic"] = [d.spec.template.spec.containers[0].image, env(d)]
api = client.ApiClient()
def patch(content_type, body):
    api.call_api("/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "PATCH",
        path_params={"namespace": NS, "name": "py-patch"},
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body, auth_settings=["BearerToken"], response_type="V1Deployment",
        _return_http_data_only=True)
    return apps.read_namespaced_deployment("py-patch", NS)
d = patch("application/merge-patch+json", {"metadata": {"labels": {"merged": "yes"}}})
out["merge"] = d.metadata.labels
# A list is sent as a JSON patch.
d = apps.patch_namespaced_deployment("py-patch", NS, [
    {"op": "replace", "path": "/spec/replicas", "value": 3},
    {"op": "test", "path": "/metadata/labels/merged", "value": "yes"}])
out["json"] = d.spec.replicas
out["json_failed"] = fail_status(lambda: apps.patch_namespaced_deployment("py-patch", NS, [
    {"op": "test", "path": "/metadata/labels/merged", "value": "no"}]))
out["generation"] = d.metadata.generation
`,
      );
      assert.deepEqual(out.strategic, ["registry.local/py-patch:1.0.0", [["A", "1"]]]);
      assert.deepEqual(out.merge, { app: "py-patch", merged: "yes" });
      assert.equal(out.json, 3);
      assert.notEqual(out.json_failed, null, "a failed JSON patch test op is refused");
      assert.equal(out.generation, 3, "each spec change raised the generation");
      // Delete with propagation: Orphan keeps the ReplicaSet, Foreground/Background remove it.
      await waitFor("the ReplicaSet", async () => {
        const rs = await t.kubectl("get", "rs", "-n", NS, "-l", "app=py-patch", "-o", "name");
        return rs.stdout.trim() !== "";
      });
      const deleted = await python(
        t.sandbox.kubeconfigPath,
        `
import json
# The API server answers an Orphan delete with the object and its orphan finalizer, not a
# Status (the typed answer would be a V1Status): read the answer as it came.
s = json.loads(apps.delete_namespaced_deployment("py-patch", NS, body=client.V1DeleteOptions(
    propagation_policy="Orphan"), _preload_content=False).data)
out["answer"] = [s["kind"], s["metadata"].get("finalizers"), "deletionTimestamp" in s["metadata"]]
out["owners_left"] = [r.metadata.owner_references for r in apps.list_namespaced_replica_set(
    NS, label_selector="app=py-patch").items]
out["left"] = [r.metadata.name for r in apps.list_namespaced_replica_set(
    NS, label_selector="app=py-patch").items]
out["gone"] = fail_status(lambda: apps.read_namespaced_deployment("py-patch", NS))["status"]
for rs in out["left"]:
    apps.delete_namespaced_replica_set(rs, NS, propagation_policy="Background")
out["pods_after"] = [p.metadata.name for p in core.list_namespaced_pod(
    NS, label_selector="app=py-patch").items]
`,
      );
      assert.deepEqual(deleted.answer, ["Deployment", ["orphan"], true]);
      assert.deepEqual(deleted.owners_left, [null, null], "orphans keep no reference to the owner");
      // Two ReplicaSets: the strategic patch changed the template (a new revision).
      assert.equal((deleted.left as string[]).length, 2, "Orphan left the ReplicaSets");
      assert.equal(deleted.gone, 404);
      assert.deepEqual(deleted.pods_after, [], "Background took the pods with the ReplicaSet");
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name:
    "python client: read_namespaced_pod_log reads a pod's JSON lines, tail and a missing container",
  ignore,
  async fn() {
    const t = await withSandbox({ trafficRate: 0 });
    try {
      const out = await python(
        t.sandbox.kubeconfigPath,
        `
import time
core.create_namespaced_pod(NS, client.V1Pod(
    metadata=client.V1ObjectMeta(name="py-log"),
    spec=client.V1PodSpec(containers=[client.V1Container(
        name="app", image="registry.local/py-log:1.0.0")])))
out["refused"] = fail_status(lambda: core.read_namespaced_pod_log("py-log", NS, container="nope"))
deadline = time.time() + 30
while time.time() < deadline:
    p = core.read_namespaced_pod("py-log", NS)
    if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])):
        break
    time.sleep(0.05)
text = core.read_namespaced_pod_log("py-log", NS)
out["lines"] = [json.loads(l) for l in text.splitlines()]
out["tail"] = core.read_namespaced_pod_log("py-log", NS, tail_lines=1, timestamps=True)
`,
      );
      const lines = out.lines as { level: string; message: string; timestamp: string }[];
      assert.deepEqual(lines.map((l) => l.message), [
        "starting app version 1.0.0",
        "listening, version 1.0.0 ready",
      ]);
      for (const l of lines) {
        assert.equal(l.level, "INFO");
        assert.match(l.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
      }
      const tail = String(out.tail);
      const [stamp, ...rest] = tail.trimEnd().split(" ");
      assert.equal(JSON.parse(rest.join(" ")).message, "listening, version 1.0.0 ready");
      assert.equal(Date.parse(stamp ?? ""), Date.parse(lines[1]?.timestamp ?? ""));
      assert.deepEqual(out.refused, {
        status: 400,
        reason: "BadRequest",
        message: "container nope is not valid for pod py-log",
      });
    } finally {
      await t.close();
    }
  },
});
